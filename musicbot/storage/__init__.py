"""Persistence: SQLite by default (a file in the data folder) or Postgres (``DATABASE_URL``).

Start-up::

    db = await Database.open(config.database_url)   # creates the folder, migrates to head
    settings, users = GuildSettingsRepo(db), UserSettingsRepo(db)
    history, playlists, audit, snapshots = HistoryRepo(db), PlaylistRepo(db), AuditLog(db), SnapshotRepo(db)
    for snap in await snapshots.load_all(): ...      # resume sessions
    writer, recorder = SnapshotWriter(db), HistoryRecorder(db)   # hot path: never awaits the DB
    ...
    await db.close()                                  # SIGTERM: writes everything pending

Repositories return frozen dataclasses; ORM rows never leave this package. Everything is
called on the event loop thread. ``upgrade(url)`` and ``current_revision(url)`` back
``musicbot db upgrade``.
"""

from __future__ import annotations

from musicbot.storage.audit import AuditEntry, AuditLog
from musicbot.storage.database import Database, DatabaseHealth, HealthState
from musicbot.storage.errors import (
    AmbiguousPlaylistError,
    EmptyPlaylistError,
    InvalidSettingError,
    NoPlaylistHereError,
    NotYourPlaylistError,
    PlaylistError,
    PlaylistExistsError,
    PlaylistFileError,
    PlaylistLimitError,
    PlaylistNameError,
    PlaylistNotFoundError,
    PlaylistSourceError,
    PlaylistTooLargeError,
    StorageError,
    StorageUnavailableError,
)
from musicbot.storage.guild_settings import GuildSettings, GuildSettingsRepo
from musicbot.storage.history import HistoryEntry, HistoryRepo, PlayOutcome
from musicbot.storage.migrate import current_revision, head_revision, upgrade
from musicbot.storage.outbox import OutboxStats
from musicbot.storage.playlist_shelf import PlaylistShelf, Shelf
from musicbot.storage.playlists import Playlist, PlaylistOwner, PlaylistRepo, PlaylistScope, PlaylistSummary
from musicbot.storage.snapshots import SessionSnapshot, SnapshotEntry, SnapshotRepo
from musicbot.storage.user_settings import UserSettings, UserSettingsRepo
from musicbot.storage.writers import HistoryRecorder, SnapshotWriter

__all__ = [
    "AmbiguousPlaylistError",
    "AuditEntry",
    "AuditLog",
    "Database",
    "DatabaseHealth",
    "EmptyPlaylistError",
    "GuildSettings",
    "GuildSettingsRepo",
    "HealthState",
    "HistoryEntry",
    "HistoryRecorder",
    "HistoryRepo",
    "InvalidSettingError",
    "NoPlaylistHereError",
    "NotYourPlaylistError",
    "OutboxStats",
    "PlayOutcome",
    "Playlist",
    "PlaylistError",
    "PlaylistExistsError",
    "PlaylistFileError",
    "PlaylistLimitError",
    "PlaylistNameError",
    "PlaylistNotFoundError",
    "PlaylistOwner",
    "PlaylistRepo",
    "PlaylistScope",
    "PlaylistShelf",
    "PlaylistSourceError",
    "PlaylistSummary",
    "PlaylistTooLargeError",
    "SessionSnapshot",
    "Shelf",
    "SnapshotEntry",
    "SnapshotRepo",
    "SnapshotWriter",
    "StorageError",
    "StorageUnavailableError",
    "UserSettings",
    "UserSettingsRepo",
    "current_revision",
    "head_revision",
    "upgrade",
]
