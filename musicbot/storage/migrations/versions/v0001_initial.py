"""Initial schema: guild and user settings, play history, playlists, session snapshots.

Revision ID: 0001
Revises:
Create Date: 2026-01-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the column types as they were at this revision (migrations never import models).
_AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "guild_settings",
        sa.Column("guild_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("dj_role_id", sa.BigInteger, nullable=True),
        sa.Column("default_volume", sa.Integer, nullable=False),
        sa.Column("max_queue_length", sa.Integer, nullable=False),
        sa.Column("max_track_s", sa.Float, nullable=True),
        sa.Column("stay_24_7", sa.Boolean, nullable=False),
        sa.Column("announce_channel_id", sa.BigInteger, nullable=True),
        sa.Column("allowed_filters", sa.JSON, nullable=True),
        sa.Column("normalization", sa.Boolean, nullable=False),
        sa.Column("target_lufs", sa.Float, nullable=False),
        sa.Column("autoplay_default", sa.Boolean, nullable=False),
        sa.Column("autoplay_mode", sa.String(16), nullable=False),
        sa.Column("vote_skip_ratio", sa.Float, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_table(
        "user_settings",
        sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("default_volume", sa.Integer, nullable=True),
        sa.Column("preferred_filters", sa.JSON, nullable=True),
        sa.Column("autoplay", sa.Boolean, nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_table(
        "play_history",
        sa.Column("id", _AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("play_id", sa.String(36), nullable=False, unique=True),
        sa.Column("guild_id", sa.BigInteger, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=True),
        sa.Column("track_id", sa.String(512), nullable=False),
        sa.Column("track", sa.JSON, nullable=False),
        sa.Column("autoplay", sa.Boolean, nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("ended_at", _TS, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("reason", sa.String(200), nullable=True),
    )
    op.create_index("ix_play_history_user_started", "play_history", ["user_id", "started_at"])
    op.create_index("ix_play_history_guild_started", "play_history", ["guild_id", "started_at"])
    op.create_table(
        "playlists",
        sa.Column("id", _AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("owner_id", sa.BigInteger, nullable=False),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("name_lower", sa.String(200), nullable=False),
        sa.Column("track_count", sa.Integer, nullable=False),
        sa.Column("duration_s", sa.Float, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.UniqueConstraint("owner_id", "name_lower", name="uq_playlists_owner_name"),
    )
    op.create_table(
        "playlist_tracks",
        sa.Column(
            "playlist_id", _AUTO_ID, sa.ForeignKey("playlists.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("track", sa.JSON, nullable=False),
    )
    op.create_table(
        "session_snapshots",
        sa.Column("guild_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("voice_channel_id", sa.BigInteger, nullable=False),
        sa.Column("text_channel_id", sa.BigInteger, nullable=True),
        sa.Column("queue", sa.JSON, nullable=False),
        sa.Column("current", sa.JSON, nullable=True),
        sa.Column("position_s", sa.Float, nullable=False),
        sa.Column("filters", sa.JSON, nullable=False),
        sa.Column("loop_mode", sa.String(8), nullable=False),
        sa.Column("volume", sa.Integer, nullable=False),
        sa.Column("autoplay", sa.Boolean, nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("saved_at", _TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("session_snapshots", "playlist_tracks", "playlists", "play_history", "user_settings"):
        op.drop_table(table)
    op.drop_table("guild_settings")
