"""documents as PDF beside the .docx; letters' sign-off (approval, the signed PDF); who
filled a questionnaire workbook in (answerset.identity)

Revision ID: 0009_signoff
Revises: 0005_registers
Create Date: 2026-12-01 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009_signoff"
down_revision: str | None = "0005_registers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = {
    "document": ("pdf_path", "pdf_sha256"),
    "letter": ("approved_by", "signed_pdf_path", "signed_pdf_sha256"),
}


def upgrade() -> None:
    for table, columns in _TEXT.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in columns:
                batch_op.add_column(
                    sa.Column(
                        name, sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=""
                    )
                )
            if table == "letter":
                batch_op.add_column(
                    sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True)
                )
    with op.batch_alter_table("answerset", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identity", sa.JSON(), nullable=True))
    # The default only fills existing rows; the model gives the value from then on.
    for table, columns in _TEXT.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in columns:
                batch_op.alter_column(name, server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("answerset", schema=None) as batch_op:
        batch_op.drop_column("identity")
    for table, columns in _TEXT.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table == "letter":
                batch_op.drop_column("approved_at")
            for name in reversed(columns):
                batch_op.drop_column(name)
