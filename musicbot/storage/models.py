"""ORM models: the schema at the head revision. Rows never leave ``musicbot.storage``.

The migrations in ``migrations/versions`` build the same schema step by step; they do not
import this module (a migration must keep describing its own revision when the models move on),
and ``tests/storage/test_migrations.py`` checks that the two agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from musicbot.storage.columns import AutoId, UTCDateTime, utcnow


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: sa.JSON, list[Any]: sa.JSON}


class GuildSettingsRow(Base):
    __tablename__ = "guild_settings"

    guild_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    dj_role_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    default_volume: Mapped[int] = mapped_column(sa.Integer)
    max_queue_length: Mapped[int] = mapped_column(sa.Integer)
    max_track_s: Mapped[float | None] = mapped_column(sa.Float)
    stay_24_7: Mapped[bool] = mapped_column(sa.Boolean)
    announce_channel_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    allowed_filters: Mapped[list[Any] | None] = mapped_column(sa.JSON)
    normalization: Mapped[bool] = mapped_column(sa.Boolean)
    target_lufs: Mapped[float] = mapped_column(sa.Float)
    crossfade_s: Mapped[float] = mapped_column(sa.Float, server_default=sa.text("0"))
    autoplay_default: Mapped[bool] = mapped_column(sa.Boolean)
    autoplay_mode: Mapped[str] = mapped_column(sa.String(16))
    vote_skip_ratio: Mapped[float] = mapped_column(sa.Float)
    fair_queue: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    reject_duplicates: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    history_retention_days: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("180"))
    ended_leave_s: Mapped[float] = mapped_column(sa.Float, server_default=sa.text("300"))
    pause_when_alone: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    telegram_control: Mapped[str] = mapped_column(sa.String(16), server_default=sa.text("'admins'"))
    lyrics: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    sponsorblock_categories: Mapped[list[Any] | None] = mapped_column(sa.JSON)  # NULL: the default categories
    voice_status: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserSettingsRow(Base):
    __tablename__ = "user_settings"

    user_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    default_volume: Mapped[int | None] = mapped_column(sa.Integer)
    preferred_filters: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    autoplay: Mapped[bool | None] = mapped_column(sa.Boolean)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class HistoryRow(Base):
    __tablename__ = "play_history"
    __table_args__ = (
        sa.Index("ix_play_history_user_started", "user_id", "started_at"),
        sa.Index("ix_play_history_guild_started", "guild_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    # Made by the bot when the track starts, so the end can be recorded without waiting for the
    # insert's generated id (both go through the write-behind outbox).
    play_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    guild_id: Mapped[int] = mapped_column(sa.BigInteger)
    user_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    track_id: Mapped[str] = mapped_column(sa.String(512))
    track: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    autoplay: Mapped[bool] = mapped_column(sa.Boolean)
    started_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(sa.String(16))
    requester_name: Mapped[str | None] = mapped_column(sa.String(100))  # asked from outside Discord (0010)
    reason: Mapped[str | None] = mapped_column(sa.String(200))


class PlaylistRow(Base):
    """A member's playlist (``scope`` "user", ``owner_id`` the member) or a server's (``scope`` "guild",
    ``owner_id`` the guild): Discord never gives a user and a guild the same id, so one key holds both."""

    __tablename__ = "playlists"
    __table_args__ = (sa.UniqueConstraint("owner_id", "name_lower", name="uq_playlists_owner_name"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    owner_id: Mapped[int] = mapped_column(sa.BigInteger)
    scope: Mapped[str] = mapped_column(sa.String(8), server_default=sa.text("'user'"))
    name: Mapped[str] = mapped_column(sa.String(50))
    # casefold() of the name, for case-insensitive uniqueness; it can be longer than the name.
    name_lower: Mapped[str] = mapped_column(sa.String(200))
    # Kept with the row so /playlist list needn't read every track.
    track_count: Mapped[int] = mapped_column(sa.Integer)
    duration_s: Mapped[float] = mapped_column(sa.Float)
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class PlaylistTrackRow(Base):
    """One track of a playlist; deleting the playlist deletes these (``ON DELETE CASCADE``)."""

    __tablename__ = "playlist_tracks"

    playlist_id: Mapped[int] = mapped_column(
        AutoId, sa.ForeignKey("playlists.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    track: Mapped[dict[str, Any]] = mapped_column(sa.JSON)


class PlaylistShareRow(Base):
    """A member's playlist shared with a server (``/playlist share``): its members may load it there.
    Deleting the playlist deletes these (``ON DELETE CASCADE``)."""

    __tablename__ = "playlist_shares"
    __table_args__ = (sa.Index("ix_playlist_shares_guild", "guild_id"),)

    playlist_id: Mapped[int] = mapped_column(
        AutoId, sa.ForeignKey("playlists.id", ondelete="CASCADE"), primary_key=True
    )
    guild_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    # The owner's name in the server when they shared it: suggestions are plain text, where no mention renders.
    owner_name: Mapped[str] = mapped_column(sa.String(100))
    shared_at: Mapped[datetime] = mapped_column()


class AuditRow(Base):
    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_guild_created", "guild_id", "created_at"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    guild_id: Mapped[int] = mapped_column(sa.BigInteger)
    actor_id: Mapped[int] = mapped_column(sa.BigInteger)
    action: Mapped[str] = mapped_column(sa.String(64))
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column()


class SnapshotRow(Base):
    __tablename__ = "session_snapshots"

    guild_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    voice_channel_id: Mapped[int] = mapped_column(sa.BigInteger)
    text_channel_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    queue: Mapped[list[Any]] = mapped_column(sa.JSON)
    current: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    position_s: Mapped[float] = mapped_column(sa.Float)
    filters: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    loop_mode: Mapped[str] = mapped_column(sa.String(8))
    volume: Mapped[int] = mapped_column(sa.Integer)
    autoplay: Mapped[bool] = mapped_column(sa.Boolean)
    paused: Mapped[bool] = mapped_column(sa.Boolean)
    saved_at: Mapped[datetime] = mapped_column()
    history: Mapped[list[Any]] = mapped_column(sa.JSON, server_default=sa.text("'[]'"))
    crossfade_s: Mapped[float] = mapped_column(sa.Float, server_default=sa.text("0"))
    autoplay_mode: Mapped[str | None] = mapped_column(sa.String(16))
    panel_channel_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    panel_message_id: Mapped[int | None] = mapped_column(sa.BigInteger)


class ShardLeaseRow(Base):
    """A process's claim on one shard (``storage/leases.py``): ``(shard_count, shard_id)``, ``(1, 0)`` for
    every shard. ``owner`` is unique per process start; ``host``, ``pid`` and ``pid_namespace`` say where it
    runs (a lease of a process gone from this host is taken over at once)."""

    __tablename__ = "shard_leases"

    shard_count: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    shard_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    owner: Mapped[str] = mapped_column(sa.String(64))
    host: Mapped[str] = mapped_column(sa.String(255))
    pid: Mapped[int] = mapped_column(sa.Integer)
    pid_namespace: Mapped[str] = mapped_column(sa.String(64))
    acquired_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()


class TelegramLinkRow(Base):
    """A guild linked to a Telegram chat (``storage/telegram.py``): one chat per guild (the key), one guild
    per chat (the unique index)."""

    __tablename__ = "telegram_links"
    __table_args__ = (sa.Index("uq_telegram_links_chat", "chat_id", unique=True),)

    guild_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int] = mapped_column(sa.BigInteger)
    chat_title: Mapped[str | None] = mapped_column(sa.String(255))
    linked_by: Mapped[int] = mapped_column(sa.BigInteger)
    confirmed_by: Mapped[int] = mapped_column(sa.BigInteger)
    linked_at: Mapped[datetime] = mapped_column()


class TelegramMemberRow(Base):
    """A member of a linked chat, as the bot saw them in their last message (for ``/all``)."""

    __tablename__ = "telegram_members"

    chat_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    username: Mapped[str | None] = mapped_column(sa.String(64))
    first_name: Mapped[str] = mapped_column(sa.String(255))
    last_name: Mapped[str | None] = mapped_column(sa.String(255))
    is_bot: Mapped[bool] = mapped_column(sa.Boolean)
    last_seen_at: Mapped[datetime] = mapped_column()
