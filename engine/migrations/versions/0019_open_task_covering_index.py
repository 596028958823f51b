"""task lists and navigation counts from indexes: the open-task index carries the list columns (PostgreSQL
INCLUDE; SQLite keeps its plain partial index), the pools nobody holds are indexed by role and by escalation, and
unread notifications get a partial index of their own
"""
import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"

# As engine/models/work.py has them when this revision was written.
OPEN_TASK_COLUMNS = ["complaint_id", "role", "department", "assignee_id", "escalated_to", "warned_at", "created_at",
                     "name", "title", "title_en"]
POOL = "status = 'open' AND assignee_id IS NULL"


def _open_due(include: list[str]) -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.drop_index("ix_work_tasks_open_due", table_name="work_tasks")
    op.create_index("ix_work_tasks_open_due", "work_tasks", ["due_at", "id"], postgresql_include=include,
                    postgresql_where=sa.text("status = 'open'"))


def upgrade() -> None:
    _open_due(OPEN_TASK_COLUMNS)
    op.create_index("ix_work_tasks_pool", "work_tasks", ["role", "due_at", "id"], postgresql_include=["department"],
                    postgresql_where=sa.text(POOL), sqlite_where=sa.text(POOL))
    op.create_index("ix_work_tasks_pool_escalated", "work_tasks", ["escalated_to", "due_at", "id"],
                    postgresql_include=["role"], postgresql_where=sa.text(POOL), sqlite_where=sa.text(POOL))
    op.create_index("ix_outbox_unread", "outbox", ["user_id"], postgresql_where=sa.text("read_at IS NULL"),
                    sqlite_where=sa.text("read_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_outbox_unread", table_name="outbox")
    op.drop_index("ix_work_tasks_pool_escalated", table_name="work_tasks")
    op.drop_index("ix_work_tasks_pool", table_name="work_tasks")
    _open_due([])
