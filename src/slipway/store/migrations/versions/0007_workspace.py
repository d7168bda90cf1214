"""the workspace a database belongs to, and its folder

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Filled on the next open of the workspace folder (the migration cannot
    # know the folder).
    op.create_table(
        "workspace",
        sa.Column("id", sa.Integer, autoincrement=False),
        sa.Column("workspace_id", sa.String(32), nullable=False),
        sa.Column("root", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_workspace"),
        sa.CheckConstraint("id = 1", name="ck_workspace_one_row"),
    )


def downgrade() -> None:
    op.drop_table("workspace")
