"""Playback history: who played what, where and when, and how it ended.

The session records through ``HistoryRecorder`` (write-behind, never awaited on the hot path);
``/history`` and autoplay's repeat window read through ``HistoryRepo``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import cast

import sqlalchemy as sa

from musicbot.storage.codec import track_from_json, track_to_json
from musicbot.storage.columns import utcnow
from musicbot.storage.database import Database
from musicbot.storage.models import HistoryRow
from musicbot.storage.outbox import StatementOp, WriteOp
from musicbot.track import Track

MAX_LIMIT = 1000
MAX_REASON_LENGTH = 200


class PlayOutcome(Enum):
    FINISHED = "finished"  # played to the end
    SKIPPED = "skipped"  # /skip, vote skip, /forceskip, the panel's button
    STOPPED = "stopped"  # /stop, /leave, disconnected, shutdown
    FAILED = "failed"  # the source or the decoder gave up


@dataclass(frozen=True)
class HistoryEntry:
    """One play. ``user_id`` is None for autoplay's picks; ``outcome`` and ``ended_at`` are None
    while the track plays (or when the bot died before it ended)."""

    play_id: str
    guild_id: int
    user_id: int | None
    track: Track
    autoplay: bool
    started_at: datetime
    ended_at: datetime | None
    outcome: PlayOutcome | None
    reason: str | None
    requester_name: str | None = None  # asked from outside Discord (a Telegram member): ``user_id`` is None


# Core statements shared by every op, so the outbox can batch consecutive ones (see StatementOp).
_HISTORY = cast(sa.Table, HistoryRow.__table__)
_INSERT_PLAY = sa.insert(_HISTORY)
_END_PLAY = (
    sa.update(_HISTORY).where(_HISTORY.c.play_id == sa.bindparam("b_play_id"))
    .values(outcome=sa.bindparam("b_outcome"), reason=sa.bindparam("b_reason"), ended_at=sa.bindparam("b_ended_at"))
)


def new_play_id() -> str:
    return uuid.uuid4().hex


def start_op(play_id: str, guild_id: int, user_id: int | None, track: Track, *, autoplay: bool = False,
             started_at: datetime | None = None, requester_name: str | None = None) -> WriteOp:
    """The insert for a track that started, as a write op (for the outbox or a transaction)."""
    values = {
        "play_id": play_id, "guild_id": guild_id, "user_id": user_id, "track_id": track.id[:512],
        "track": track_to_json(track), "autoplay": autoplay, "started_at": started_at or utcnow(),
        "requester_name": requester_name[:100] if requester_name else None,
    }
    return StatementOp(_INSERT_PLAY, values)


def end_op(play_id: str, outcome: PlayOutcome, *, reason: str | None = None,
           ended_at: datetime | None = None) -> WriteOp:
    """The update for a play that ended; a no-op when the start was never written."""
    return StatementOp(_END_PLAY, {
        "b_play_id": play_id, "b_outcome": outcome.value,
        "b_reason": reason[:MAX_REASON_LENGTH] if reason else None, "b_ended_at": ended_at or utcnow(),
    })


class HistoryRepo:
    """Reads and direct writes of history. Event-loop thread."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record_start(self, guild_id: int, user_id: int | None, track: Track, *, autoplay: bool = False,
                           started_at: datetime | None = None, play_id: str | None = None) -> str:
        """Write the start now and return the play id (``HistoryRecorder.started`` queues it instead)."""
        play_id = play_id or new_play_id()
        async with self._db.transaction() as session:
            await start_op(play_id, guild_id, user_id, track, autoplay=autoplay, started_at=started_at)(session)
        return play_id

    async def record_end(self, play_id: str, outcome: PlayOutcome, *, reason: str | None = None,
                         ended_at: datetime | None = None) -> None:
        async with self._db.transaction() as session:
            await end_op(play_id, outcome, reason=reason, ended_at=ended_at)(session)

    async def recent_by_guild(self, guild_id: int, *, limit: int = 20,
                              before: datetime | None = None) -> list[HistoryEntry]:
        """Newest first; ``before`` pages back (plays that started strictly earlier)."""
        return await self._query(HistoryRow.guild_id == guild_id, limit, before)

    async def recent_by_user(self, user_id: int, *, guild_id: int | None = None, limit: int = 20,
                             before: datetime | None = None) -> list[HistoryEntry]:
        """A user's plays, newest first; in one guild or (``guild_id`` None) everywhere."""
        where = HistoryRow.user_id == user_id
        if guild_id is not None:
            where = sa.and_(where, HistoryRow.guild_id == guild_id)
        return await self._query(where, limit, before)

    async def recent_track_ids(self, guild_id: int, *, limit: int = 50) -> list[str]:
        """Ids of the guild's last ``limit`` plays, newest first (autoplay's repeat window)."""
        query = (
            sa.select(HistoryRow.track_id).where(HistoryRow.guild_id == guild_id)
            .order_by(HistoryRow.started_at.desc(), HistoryRow.id.desc()).limit(_clamp(limit))
        )
        async with self._db.transaction() as session:
            return list((await session.scalars(query)).all())

    async def count(self, guild_id: int | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(HistoryRow)
        if guild_id is not None:
            query = query.where(HistoryRow.guild_id == guild_id)
        async with self._db.transaction() as session:
            return int((await session.execute(query)).scalar_one())

    async def delete_before(self, cutoff: datetime) -> int:
        """Retention: delete plays that started before ``cutoff``; returns how many."""
        async with self._db.transaction() as session:
            result = await session.execute(sa.delete(HistoryRow).where(HistoryRow.started_at < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)

    async def _query(self, where: sa.ColumnElement[bool], limit: int, before: datetime | None) -> list[HistoryEntry]:
        query = sa.select(HistoryRow).where(where)
        if before is not None:
            query = query.where(HistoryRow.started_at < before)
        query = query.order_by(HistoryRow.started_at.desc(), HistoryRow.id.desc()).limit(_clamp(limit))
        async with self._db.transaction() as session:
            rows = (await session.scalars(query)).all()
        return [_from_row(r) for r in rows]


def _clamp(limit: int) -> int:
    return max(1, min(limit, MAX_LIMIT))


def _from_row(row: HistoryRow) -> HistoryEntry:
    return HistoryEntry(
        play_id=row.play_id, guild_id=row.guild_id, user_id=row.user_id, track=track_from_json(row.track),
        autoplay=row.autoplay, started_at=row.started_at, ended_at=row.ended_at,
        outcome=None if row.outcome is None else PlayOutcome(row.outcome), reason=row.reason,
        requester_name=row.requester_name,
    )
