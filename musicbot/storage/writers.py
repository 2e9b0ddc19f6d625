"""What the session calls on its hot path: queue a snapshot, record a play. Never awaits the database.

Both go through the database's outbox (``outbox.py``): snapshots coalesce per guild (at most one
write per ``interval_s``, the newest wins), history rows keep their order. On shutdown,
``Database.close()`` (or ``flush()`` here) writes whatever is pending.
"""

from __future__ import annotations

from datetime import datetime

from musicbot.storage.columns import utcnow
from musicbot.storage.database import Database
from musicbot.storage.history import PlayOutcome, end_op, new_play_id, start_op
from musicbot.storage.snapshots import SessionSnapshot, delete_op, save_op
from musicbot.track import Track


class SnapshotWriter:
    """Coalesced snapshot writes. Event-loop thread.

    Call ``schedule`` on every change (queue, track, pause, seek, filters, loop, volume) and
    about once a second while playing, so the stored position is never more than a second old.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    def schedule(self, snapshot: SessionSnapshot) -> None:
        self._db.outbox.put(save_op(snapshot), key=("snapshot", snapshot.guild_id))

    def schedule_delete(self, guild_id: int) -> None:
        """The session ended on purpose (``/leave``, idle timeout): nothing to resume."""
        self._db.outbox.put(delete_op(guild_id), key=("snapshot", guild_id))

    async def flush(self, timeout_s: float = 10.0) -> bool:
        """Write everything pending now (SIGTERM path). True when nothing is left unwritten."""
        return await self._db.outbox.flush(timeout_s)


class HistoryRecorder:
    """Write-behind history. Event-loop thread."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def started(self, guild_id: int, user_id: int | None, track: Track, *, autoplay: bool = False,
                started_at: datetime | None = None, requester_name: str | None = None) -> str:
        """Queue the start of a play; returns its play id for ``ended``."""
        play_id = new_play_id()
        op = start_op(play_id, guild_id, user_id, track, autoplay=autoplay, started_at=started_at or utcnow(),
                      requester_name=requester_name)
        self._db.outbox.put(op)
        return play_id

    def ended(self, play_id: str, outcome: PlayOutcome, *, reason: str | None = None,
              ended_at: datetime | None = None) -> None:
        self._db.outbox.put(end_op(play_id, outcome, reason=reason, ended_at=ended_at or utcnow()))
