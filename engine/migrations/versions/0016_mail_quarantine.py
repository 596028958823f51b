"""the mailbox: messages that keep failing are counted and set aside (mail_attempts), refused ones keep their
reason, and a sender's complaints of the last hour are found by index (issue 18)
"""
import sqlalchemy as sa
from alembic import op

import engine.models

revision = "0016"
down_revision = "0015"


def upgrade() -> None:
    op.create_table(
        "mail_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("sender", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("first_attempt_at", engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("failed_at", engine.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index("ix_mail_attempts_status", "mail_attempts", ["status"], unique=False)
    with op.batch_alter_table("mail_messages") as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=40), nullable=True))
    op.create_index("ix_mail_messages_outcome_processed", "mail_messages", ["outcome", "processed_at"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_mail_messages_outcome_processed", table_name="mail_messages")
    with op.batch_alter_table("mail_messages") as batch_op:
        batch_op.drop_column("reason")
    op.drop_index("ix_mail_attempts_status", table_name="mail_attempts")
    op.drop_table("mail_attempts")
