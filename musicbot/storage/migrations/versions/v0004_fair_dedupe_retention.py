"""Guild settings: fair queue order, duplicate rejection, and how long play history is kept.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Server defaults: guilds that saved settings before keep today's behaviour (both off, 180 days).
    with op.batch_alter_table("guild_settings") as batch:
        batch.add_column(sa.Column("fair_queue", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("reject_duplicates", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("history_retention_days", sa.Integer, nullable=False,
                                   server_default=sa.text("180")))


def downgrade() -> None:
    with op.batch_alter_table("guild_settings") as batch:
        for column in ("history_retention_days", "reject_duplicates", "fair_queue"):
            batch.drop_column(column)
