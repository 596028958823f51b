"""reports read a month from the index alone: the receipt and closing-time indexes carry the report columns
(PostgreSQL INCLUDE; SQLite keeps its plain indexes)
"""
from alembic import op

revision = "0015"
down_revision = "0014"

# As engine/models/complaints.py has them when this revision was written.
REPORT_COLUMNS = ["department", "category", "level", "channel", "valid", "first_response_at", "customer_contact",
                  "customer_name", "cause", "product", "logistics_issue", "outcome"]
CLOSED_REPORT_COLUMNS = ["department", "round", "satisfied"]


def _rebuild(received: list[str], closed: list[str]) -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.drop_index("ix_complaints_received_at", table_name="complaints")
    op.create_index("ix_complaints_received_at", "complaints", ["received_at"], postgresql_include=received)
    op.drop_index("ix_complaints_closed_at", table_name="complaints")
    op.create_index("ix_complaints_closed_at", "complaints", ["closed_at"], postgresql_include=closed)


def upgrade() -> None:
    _rebuild(REPORT_COLUMNS, CLOSED_REPORT_COLUMNS)


def downgrade() -> None:
    _rebuild([], [])
