"""inbox: who released a quarantined message, when, and as whom

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inboundmessage", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "released_by",
                sqlmodel.sql.sqltypes.AutoString(),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(sa.Column("released_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "released_as",
                sqlmodel.sql.sqltypes.AutoString(),
                nullable=False,
                server_default="",
            )
        )
    # The default only fills existing rows; the model gives the value from then on.
    with op.batch_alter_table("inboundmessage", schema=None) as batch_op:
        batch_op.alter_column("released_by", server_default=None)
        batch_op.alter_column("released_as", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("inboundmessage", schema=None) as batch_op:
        batch_op.drop_column("released_as")
        batch_op.drop_column("released_at")
        batch_op.drop_column("released_by")
