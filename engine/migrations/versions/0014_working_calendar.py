"""The company's working calendar (holidays and 调休 make-up working days) and departments' working hours,
entered by the administrator
"""
import sqlalchemy as sa
from alembic import op

import engine.models

revision = "0014"
down_revision = "0013"


def upgrade() -> None:
    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("entered_at", engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["entered_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_table(
        "department_hours",
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("starts", sa.Time(), nullable=False),
        sa.Column("ends", sa.Time(), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("entered_at", engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["entered_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("department"),
    )


def downgrade() -> None:
    op.drop_table("department_hours")
    op.drop_table("calendar_days")
