"""API tokens with an expiry date and a read-only scope; customer links that can be revoked"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("read_only", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("complaints") as batch_op:
        batch_op.add_column(sa.Column("customer_link_generation", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("complaints") as batch_op:
        batch_op.drop_column("customer_link_generation")
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.drop_column("read_only")
        batch_op.drop_column("expires_at")
