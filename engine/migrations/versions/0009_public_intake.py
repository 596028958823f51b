"""Customers file complaints themselves (issue 18): classifications, the mailbox's messages, evidence and
contacts that came from the customer (no member of staff)
"""
import sqlalchemy as sa
from alembic import op

import engine.models

revision = "0009"
down_revision = "0007"


def upgrade() -> None:
    op.create_table(
        "classifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("level", sa.String(length=40), nullable=True),
        sa.Column("department", sa.String(length=40), nullable=True),
        sa.Column("matched", sa.JSON(), nullable=False),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("created_at", engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_category", sa.String(length=40), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", engine.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("kept", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"]),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("complaint_id"),
    )
    op.create_index("ix_classifications_decided_at", "classifications", ["decided_at"], unique=False)
    op.create_table(
        "mail_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=True),
        sa.Column("sender", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("processed_at", engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index("ix_mail_messages_complaint_id", "mail_messages", ["complaint_id"], unique=False)
    with op.batch_alter_table("evidence") as batch_op:
        batch_op.alter_column("uploaded_by_id", existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table("contacts") as batch_op:
        batch_op.alter_column("recorded_by_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch_op:
        batch_op.alter_column("recorded_by_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("evidence") as batch_op:
        batch_op.alter_column("uploaded_by_id", existing_type=sa.Integer(), nullable=False)
    op.drop_index("ix_mail_messages_complaint_id", table_name="mail_messages")
    op.drop_table("mail_messages")
    op.drop_index("ix_classifications_decided_at", table_name="classifications")
    op.drop_table("classifications")
