"""Customer records (issue 17): customers keyed by phone / e-mail / platform account; complaints name theirs"""
import sqlalchemy as sa
from alembic import op

import engine.models

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("platform_id", sa.String(length=120), nullable=True),
        sa.Column("flag", sa.String(length=20), nullable=True),
        sa.Column("flagged_at", engine.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("created_at", engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["merged_into_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("phone"),
        sa.UniqueConstraint("email"),
        sa.UniqueConstraint("platform_id"),
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_record_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_complaints_customer_record_id"), ["customer_record_id"], unique=False)
        batch_op.create_foreign_key("fk_complaints_customer_record_id", "customers", ["customer_record_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_constraint("fk_complaints_customer_record_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_complaints_customer_record_id"))
        batch_op.drop_column("customer_record_id")
    op.drop_table("customers")
