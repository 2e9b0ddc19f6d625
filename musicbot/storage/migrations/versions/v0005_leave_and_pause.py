"""Guild settings: leave voice a while after the queue ended, pause while nobody listens.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Server defaults are the new defaults: leave 5 minutes after the queue ended, pause when alone.
    with op.batch_alter_table("guild_settings") as batch:
        batch.add_column(sa.Column("ended_leave_s", sa.Float, nullable=False, server_default=sa.text("300")))
        batch.add_column(sa.Column("pause_when_alone", sa.Boolean, nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("guild_settings") as batch:
        for column in ("pause_when_alone", "ended_leave_s"):
            batch.drop_column(column)
