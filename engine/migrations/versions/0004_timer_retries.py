"""timer retries: a partial index on timers attempted before without success"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

RETRY = "status = 'waiting' AND attempts > 0"


def upgrade() -> None:
    op.create_index("ix_timers_retry", "timers", ["next_attempt_at"], unique=False,
                    postgresql_where=sa.text(RETRY), sqlite_where=sa.text(RETRY))


def downgrade() -> None:
    op.drop_index("ix_timers_retry", table_name="timers")
