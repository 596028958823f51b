"""open tasks by due time: a partial index for the task lists' default order"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_index("ix_work_tasks_open_due", "work_tasks", ["due_at", "id"], unique=False,
                    postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))


def downgrade() -> None:
    op.drop_index("ix_work_tasks_open_due", table_name="work_tasks")
