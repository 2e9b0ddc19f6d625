"""Session snapshots carry everything a restart resumes: the history cursor, crossfade, the
autoplay mode and where the now-playing panel is.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Server defaults, so snapshots written by 0002 stay readable: no history, no crossfade.
    with op.batch_alter_table("session_snapshots") as batch:
        batch.add_column(sa.Column("history", sa.JSON, nullable=False, server_default=sa.text("'[]'")))
        batch.add_column(sa.Column("crossfade_s", sa.Float, nullable=False, server_default=sa.text("0")))
        batch.add_column(sa.Column("autoplay_mode", sa.String(16), nullable=True))
        batch.add_column(sa.Column("panel_channel_id", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("panel_message_id", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("session_snapshots") as batch:
        for column in ("panel_message_id", "panel_channel_id", "autoplay_mode", "crossfade_s", "history"):
            batch.drop_column(column)
