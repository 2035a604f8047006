"""registers per document family with their last date (replaces the per-classification
counter); the Kepala Daerah's address of a region (the SK Penetapan goes to them)

Revision ID: 0005_registers
Revises: 0004_serving_process
Create Date: 2026-12-01 14:00:00

The old counter had one sequence per classification code; the new registers have one per
document family (Surat, Keputusan, Berita Acara). Existing sequences continue in the Surat
register from the highest number already taken in each unit and year, so no number is reused.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005_registers"
down_revision: str | None = "0004_serving_process"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registercounter",
        sa.Column("family", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_date", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("family", "unit", "year"),
    )
    op.execute(
        "INSERT INTO registercounter (family, unit, year, last_seq, last_date) "
        "SELECT 'surat', c.unit, c.year, MAX(c.last_seq), "
        "(SELECT MAX(l.letter_date) FROM letter l WHERE l.unit = c.unit AND l.year = c.year) "
        "FROM lettercounter c GROUP BY c.unit, c.year"
    )
    op.drop_table("lettercounter")
    with op.batch_alter_table("letter") as batch:
        batch.add_column(
            sa.Column(
                "family",
                sqlmodel.sql.sqltypes.AutoString(),
                nullable=False,
                server_default="surat",
            )
        )
    with op.batch_alter_table("letter") as batch:  # the default only filled existing rows
        batch.alter_column("family", server_default=None)
    with op.batch_alter_table("region") as batch:
        batch.add_column(
            sa.Column(
                "leader_email",
                sqlmodel.sql.sqltypes.AutoString(),
                nullable=False,
                server_default="",
            )
        )
    with op.batch_alter_table("region") as batch:
        batch.alter_column("leader_email", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("region") as batch:
        batch.drop_column("leader_email")
    with op.batch_alter_table("letter") as batch:
        batch.drop_column("family")
    op.create_table(
        "lettercounter",
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("klasifikasi", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("unit", "klasifikasi", "year"),
    )
    op.drop_table("registercounter")
