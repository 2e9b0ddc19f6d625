"""History retention: plays older than each guild's ``history_retention_days`` are deleted by a
periodic job in the bot's process (no cron, no second process: it is one DELETE per distinct
retention, cheap with the ``(guild_id, started_at)`` index).

Event loop. A failed run (database down) is logged and tried again at the next interval; the
history waits, it is never lost early.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa

from musicbot.shards import ShardRange
from musicbot.storage.columns import utcnow
from musicbot.storage.database import Database
from musicbot.storage.errors import StorageError
from musicbot.storage.guild_settings import DEFAULT_RETENTION_DAYS
from musicbot.storage.models import GuildSettingsRow, HistoryRow
from musicbot.storage.sharding import EVERY_GUILD, owned

log = logging.getLogger(__name__)

RETENTION_INTERVAL_S = 6 * 3600.0


async def apply_retention(db: Database, now: datetime | None = None, shards: ShardRange = EVERY_GUILD) -> int:
    """Delete the plays older than their guild's retention, of the guilds on ``shards`` (each process of a
    sharded bot expires its own); returns how many were deleted."""
    now = now or utcnow()
    mine = owned(HistoryRow.guild_id, shards)
    async with db.transaction() as session:
        rows = (await session.execute(
            sa.select(GuildSettingsRow.guild_id, GuildSettingsRow.history_retention_days)
            .where(GuildSettingsRow.history_retention_days != DEFAULT_RETENTION_DAYS,
                   owned(GuildSettingsRow.guild_id, shards))
        )).all()
        custom: dict[int, list[int]] = {}
        for guild_id, days in rows:
            custom.setdefault(int(days), []).append(int(guild_id))
        deleted = 0
        default_cut = sa.delete(HistoryRow).where(
            HistoryRow.started_at < now - timedelta(days=DEFAULT_RETENTION_DAYS), mine)
        if rows:
            default_cut = default_cut.where(HistoryRow.guild_id.not_in([g for ids in custom.values() for g in ids]))
        deleted += _count(await session.execute(default_cut))
        for days, guild_ids in custom.items():
            deleted += _count(await session.execute(
                sa.delete(HistoryRow).where(HistoryRow.guild_id.in_(guild_ids),
                                            HistoryRow.started_at < now - timedelta(days=days))))
    return deleted


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


class RetentionJob:
    """Runs ``apply_retention`` for the guilds on ``shards`` now and then every ``interval_s`` on the database
    ``database()`` returns (None: not open, skipped)."""

    def __init__(self, database: Callable[[], Database | None], *, interval_s: float = RETENTION_INTERVAL_S,
                 shards: ShardRange = EVERY_GUILD) -> None:
        self._database = database
        self.shards = shards
        self.interval_s = interval_s
        self.runs = 0  # completed runs, for /metrics-like checks and tests
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="history-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            db = self._database()
            if db is not None:
                try:
                    deleted = await apply_retention(db, shards=self.shards)
                except StorageError as err:
                    log.warning("history retention skipped this time: %s", err)
                else:
                    self.runs += 1
                    if deleted:
                        log.info("history retention: %d old plays deleted", deleted)
            await asyncio.sleep(self.interval_s)
