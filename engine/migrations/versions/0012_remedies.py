"""Remedies tracked (issue 17): refunds, returns, re-shipments and courier claims; the logistics sub-type"""
import sqlalchemy as sa
from alembic import op

import engine.models

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    op.create_table(
        "remedies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("waybill", sa.String(length=60), nullable=True),
        sa.Column("courier", sa.String(length=60), nullable=True),
        sa.Column("promised_on", sa.Date(), nullable=True),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("remedies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_remedies_complaint_id"), ["complaint_id"], unique=False)
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("logistics_issue", sa.String(length=20), nullable=True))
        batch_op.create_index(batch_op.f("ix_complaints_logistics_issue"), ["logistics_issue"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaints_logistics_issue"))
        batch_op.drop_column("logistics_issue")
    with op.batch_alter_table("remedies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_remedies_complaint_id"))
    op.drop_table("remedies")
