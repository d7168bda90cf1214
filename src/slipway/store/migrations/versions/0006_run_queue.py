"""runs as a durable queue: heartbeats, attempts, retries

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("max_retries", sa.Integer, nullable=False, server_default="0"))
    op.create_index("ix_runs_status_created", "runs", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_runs_status_created", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("max_retries")
        batch.drop_column("attempts")
        batch.drop_column("heartbeat_at")
