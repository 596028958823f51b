"""The staff's desk (issue 14): notifications read or unread, deputy appointments (责任代理人)"""
import sqlalchemy as sa
from alembic import op

import engine.models

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.add_column("outbox", sa.Column("read_at", engine.models.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "deputies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("deputy_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", engine.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["principal_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["deputy_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_deputies_department", "deputies", ["department"], unique=False)
    op.create_index("ix_deputies_deputy_period", "deputies", ["deputy_id", "ends_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_deputies_deputy_period", table_name="deputies")
    op.drop_index("ix_deputies_department", table_name="deputies")
    op.drop_table("deputies")
    op.drop_column("outbox", "read_at")
