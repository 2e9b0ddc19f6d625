"""Session snapshots: where each guild's playback was, so a restart resumes it.

One row per guild, overwritten on every change (through ``SnapshotWriter``, coalesced to at
most one write per second) and deleted when the session ends on purpose (``/leave``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from musicbot.queue.entry import LoopMode
from musicbot.shards import ShardRange
from musicbot.storage.codec import track_from_json, track_to_json
from musicbot.storage.columns import utcnow
from musicbot.storage.database import Database
from musicbot.storage.models import SnapshotRow
from musicbot.storage.outbox import WriteOp
from musicbot.storage.sharding import EVERY_GUILD, owned
from musicbot.storage.upsert import upsert
from musicbot.track import Track

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SnapshotEntry:
    """A queued (or the current) track and who asked for it; ``requester_id`` None = autoplay, or
    someone outside Discord named by ``requester_name`` (a Telegram user)."""

    track: Track
    requester_id: int | None = None
    autoplay: bool = False
    requester_name: str | None = None


@dataclass(frozen=True)
class SessionSnapshot:
    """Everything needed to resume a guild's session.

    ``queue`` is the upcoming tracks in order (not the current one); ``history`` what played
    before it, oldest first (what ``/previous`` goes back to). ``position_s`` is how far into
    ``current`` playback was, in seconds. ``filters`` is the Lavalink-style filters object
    (``musicbot.dsp.settings.settings_to_json``); treat it as read-only. ``volume`` is percent.
    ``autoplay_mode`` is set when autoplay is on. ``panel_*`` locate the now-playing panel, so a
    resumed session edits it in place.
    """

    guild_id: int
    voice_channel_id: int
    text_channel_id: int | None = None
    queue: tuple[SnapshotEntry, ...] = ()
    current: SnapshotEntry | None = None
    position_s: float = 0.0
    filters: dict[str, Any] = field(default_factory=dict)
    loop_mode: LoopMode = LoopMode.OFF
    volume: int = 100
    autoplay: bool = False
    paused: bool = False
    saved_at: datetime = field(default_factory=utcnow)
    history: tuple[SnapshotEntry, ...] = ()
    crossfade_s: float = 0.0
    autoplay_mode: str | None = None
    panel_channel_id: int | None = None
    panel_message_id: int | None = None


def save_op(snapshot: SessionSnapshot) -> WriteOp:
    """The upsert of ``snapshot`` as a write op. The JSON is built now, on the caller's thread."""
    values = {
        "guild_id": snapshot.guild_id,
        "voice_channel_id": snapshot.voice_channel_id,
        "text_channel_id": snapshot.text_channel_id,
        "queue": [_entry_to_json(e) for e in snapshot.queue],
        "current": None if snapshot.current is None else _entry_to_json(snapshot.current),
        "position_s": max(0.0, float(snapshot.position_s)),
        # A deep copy made now: the caller may reuse its dicts, and a value JSON can't hold fails here.
        "filters": json.loads(json.dumps(snapshot.filters)),
        "loop_mode": snapshot.loop_mode.value,
        "volume": snapshot.volume,
        "autoplay": snapshot.autoplay,
        "paused": snapshot.paused,
        "saved_at": snapshot.saved_at,
        "history": [_entry_to_json(e) for e in snapshot.history],
        "crossfade_s": float(snapshot.crossfade_s),
        "autoplay_mode": snapshot.autoplay_mode,
        "panel_channel_id": snapshot.panel_channel_id,
        "panel_message_id": snapshot.panel_message_id,
    }

    async def op(session: AsyncSession) -> None:
        await upsert(session, SnapshotRow, values, ["guild_id"])

    return op


def delete_op(guild_id: int) -> WriteOp:
    async def op(session: AsyncSession) -> None:
        await session.execute(sa.delete(SnapshotRow).where(SnapshotRow.guild_id == guild_id))

    return op


class SnapshotRepo:
    """Direct reads and writes of snapshots. Event-loop thread."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, snapshot: SessionSnapshot) -> None:
        async with self._db.transaction() as session:
            await save_op(snapshot)(session)

    async def load(self, guild_id: int) -> SessionSnapshot | None:
        async with self._db.transaction() as session:
            row = await session.get(SnapshotRow, guild_id)
        return None if row is None else _from_row(row)

    async def load_all(self, shards: ShardRange = EVERY_GUILD) -> list[SessionSnapshot]:
        """Every saved session of the guilds on ``shards``, for resuming at start. A row that can't be read
        is skipped and logged."""
        async with self._db.transaction() as session:
            rows = (await session.scalars(sa.select(SnapshotRow).where(owned(SnapshotRow.guild_id, shards))
                                          .order_by(SnapshotRow.guild_id))).all()
        snapshots = []
        for row in rows:
            try:
                snapshots.append(_from_row(row))
            except (KeyError, TypeError, ValueError):
                log.exception("session snapshot of guild %d is unreadable; not resuming it", row.guild_id)
        return snapshots

    async def delete_older_than(self, cutoff: datetime, shards: ShardRange = EVERY_GUILD) -> list[int]:
        """Drop the snapshots of guilds on ``shards`` saved before ``cutoff`` (too old to resume); returns
        their guild ids. Other processes' shards are theirs to clean."""
        async with self._db.transaction() as session:
            stale = sa.and_(SnapshotRow.saved_at < cutoff, owned(SnapshotRow.guild_id, shards))
            guilds = list((await session.scalars(sa.select(SnapshotRow.guild_id).where(stale))).all())
            await session.execute(sa.delete(SnapshotRow).where(stale))
        return guilds

    async def delete(self, guild_id: int) -> None:
        async with self._db.transaction() as session:
            await delete_op(guild_id)(session)


def _entry_to_json(entry: SnapshotEntry) -> dict[str, Any]:
    data: dict[str, Any] = {"track": track_to_json(entry.track), "requester_id": entry.requester_id,
                            "autoplay": entry.autoplay}
    if entry.requester_name is not None:
        data["requester_name"] = entry.requester_name
    return data


def _entry_from_json(obj: dict[str, Any]) -> SnapshotEntry:
    requester = obj.get("requester_id")
    name = obj.get("requester_name")
    return SnapshotEntry(
        track=track_from_json(obj["track"]),
        requester_id=None if requester is None else int(requester),
        autoplay=bool(obj.get("autoplay", False)),
        requester_name=name if isinstance(name, str) else None,
    )


def _from_row(row: SnapshotRow) -> SessionSnapshot:
    return SessionSnapshot(
        guild_id=row.guild_id,
        voice_channel_id=row.voice_channel_id,
        text_channel_id=row.text_channel_id,
        queue=tuple(_entry_from_json(e) for e in row.queue),
        current=None if row.current is None else _entry_from_json(row.current),
        position_s=row.position_s,
        filters=dict(row.filters),
        loop_mode=LoopMode(row.loop_mode),
        volume=row.volume,
        autoplay=row.autoplay,
        paused=row.paused,
        saved_at=row.saved_at,
        history=tuple(_entry_from_json(e) for e in row.history or ()),
        crossfade_s=row.crossfade_s,
        autoplay_mode=row.autoplay_mode,
        panel_channel_id=row.panel_channel_id,
        panel_message_id=row.panel_message_id,
    )
