"""Reports reach the general manager and the departments (issue 17): review, receipts, order volumes"""
import sqlalchemy as sa
from alembic import op

import engine.models

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    op.create_table(
        "report_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("signed_by_id", sa.Integer(), nullable=True),
        sa.Column("signed_at", engine.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("gm_comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["signed_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["submitted_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "first_day"),
    )
    op.create_table(
        "order_volumes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("entered_at", engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["entered_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "first_day"),
    )
    op.create_table(
        "report_acknowledgements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=True),
        sa.Column("sent_at", engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", engine.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["review_id"], ["report_reviews.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("review_id", "user_id"),
    )
    with op.batch_alter_table("report_acknowledgements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_acknowledgements_review_id"), ["review_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("report_acknowledgements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_acknowledgements_review_id"))
    op.drop_table("report_acknowledgements")
    op.drop_table("order_volumes")
    op.drop_table("report_reviews")
