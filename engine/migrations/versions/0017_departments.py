"""departments as a table the administrator manages, seeded with the five the code listed before
(docs/ARCHITECTURE.md, "Departments")
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"

#: The departments and their names as `engine.people.roles.DEPARTMENTS` and the catalogues had them.
SEED = [("logistics", "储运部", "Logistics"), ("quality", "质量管理部", "Quality management"),
        ("customer_service", "客服部", "Customer service"), ("sales", "销售部", "Sales"),
        ("after_sales", "售后服务部", "After-sales")]


def upgrade() -> None:
    table = op.create_table(
        "departments",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name_zh", sa.String(length=80), nullable=False),
        sa.Column("name_en", sa.String(length=80), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.bulk_insert(table, [{"code": code, "name_zh": zh, "name_en": en, "active": True, "sort_order": n}
                           for n, (code, zh, en) in enumerate(SEED, start=1)])


def downgrade() -> None:
    op.drop_table("departments")
