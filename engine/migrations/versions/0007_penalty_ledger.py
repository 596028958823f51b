"""受理时间 on every complaint; the penalty ledger holds decided deductions as well as timeouts (issue 12)"""
import sqlalchemy as sa
from alembic import op

import engine.models

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    with op.batch_alter_table("complaints") as batch_op:
        batch_op.add_column(sa.Column("received_at", engine.models.UTCDateTime(timezone=True), nullable=True))
    # Complaints recorded before: received when recorded (the intake did not keep the time given).
    op.execute("UPDATE complaints SET received_at = created_at")
    with op.batch_alter_table("complaints") as batch_op:
        batch_op.alter_column("received_at", existing_type=engine.models.UTCDateTime(timezone=True),
                              nullable=False)
        batch_op.create_index("ix_complaints_received_at", ["received_at"], unique=False)
    with op.batch_alter_table("penalties") as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=20), server_default="timeout", nullable=False))
        batch_op.add_column(sa.Column("person_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("decided_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_penalties_decided_by_id_users", "users", ["decided_by_id"], ["id"])
        batch_op.alter_column("timer_id", existing_type=sa.String(length=36), nullable=True)
        batch_op.alter_column("deadline", existing_type=engine.models.UTCDateTime(timezone=True), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM penalties WHERE kind <> 'timeout'")
    with op.batch_alter_table("penalties") as batch_op:
        batch_op.alter_column("deadline", existing_type=engine.models.UTCDateTime(timezone=True), nullable=False)
        batch_op.alter_column("timer_id", existing_type=sa.String(length=36), nullable=False)
        batch_op.drop_constraint("fk_penalties_decided_by_id_users", type_="foreignkey")
        batch_op.drop_column("decided_by_id")
        batch_op.drop_column("reason")
        batch_op.drop_column("person_name")
        batch_op.drop_column("kind")
    with op.batch_alter_table("complaints") as batch_op:
        batch_op.drop_index("ix_complaints_received_at")
        batch_op.drop_column("received_at")
