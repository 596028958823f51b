"""Where each model version came from and every deployment (start-up only redeploys a changed folder)"""
import sqlalchemy as sa
from alembic import op

import engine.models

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    with op.batch_alter_table("process_versions") as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=20), server_default="startup", nullable=False))
    with op.batch_alter_table("model_drafts") as batch_op:
        batch_op.add_column(sa.Column("origin", sa.String(length=20), server_default="modeller", nullable=False))
    op.create_table(
        "model_deployments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(length=120), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("deployed_by", sa.String(length=80), nullable=False),
        sa.Column("deployed_at", engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["process_versions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_model_deployments_process_source", "model_deployments", ["process_id", "source", "id"])
    # Versions deployed before this revision: record their deployment as what it was (start-up or a person).
    op.execute(
        "UPDATE process_versions SET source = 'modeller' WHERE deployed_by <> 'startup'"
    )
    op.execute(
        "INSERT INTO model_deployments (process_id, version_id, source, deployed_by, deployed_at) "
        "SELECT process_id, id, source, deployed_by, deployed_at FROM process_versions"
    )


def downgrade() -> None:
    op.drop_index("ix_model_deployments_process_source", table_name="model_deployments")
    op.drop_table("model_deployments")
    with op.batch_alter_table("model_drafts") as batch_op:
        batch_op.drop_column("origin")
    with op.batch_alter_table("process_versions") as batch_op:
        batch_op.drop_column("source")
