"""History retention: each guild's plays older than its setting go, newer ones stay; the job runs by itself."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from musicbot.storage import Database, GuildSettingsRepo, HistoryRepo
from musicbot.storage.columns import utcnow
from musicbot.storage.retention import RetentionJob, apply_retention
from tests.storage.factories import T0, make_track

DEFAULT_GUILD, SHORT_GUILD, LONG_GUILD = 1, 2, 3
USER = 7


async def played(db: Database, guild_id: int, days_ago: int, n: int, now: datetime = T0) -> None:
    await HistoryRepo(db).record_start(guild_id, USER, make_track(n), started_at=now - timedelta(days=days_ago))


async def kept(db: Database, guild_id: int) -> list[str]:
    return sorted(e.track.id for e in await HistoryRepo(db).recent_by_guild(guild_id, limit=100))


async def test_each_guild_keeps_its_own_retention(db: Database) -> None:
    await GuildSettingsRepo(db).update(SHORT_GUILD, history_retention_days=30)
    await GuildSettingsRepo(db).update(LONG_GUILD, history_retention_days=400)
    for guild in (DEFAULT_GUILD, SHORT_GUILD, LONG_GUILD):
        for n, days in enumerate((1, 29, 31, 179, 181, 399, 401)):
            await played(db, guild, days, n)
    assert await apply_retention(db, now=T0) == 3 + 5 + 1
    ids = [make_track(n).id for n in range(7)]
    assert await kept(db, DEFAULT_GUILD) == sorted(ids[:4])  # the default: 180 days
    assert await kept(db, SHORT_GUILD) == sorted(ids[:2])
    assert await kept(db, LONG_GUILD) == sorted(ids[:6])
    assert await apply_retention(db, now=T0) == 0  # nothing left to delete


async def test_the_job_applies_retention_without_being_asked(db: Database) -> None:
    await played(db, DEFAULT_GUILD, 181, 0, now=utcnow())
    await played(db, DEFAULT_GUILD, 179, 1, now=utcnow())
    job = RetentionJob(lambda: db, interval_s=3600.0)
    job.start()
    try:
        async with asyncio.timeout(10):
            while job.runs == 0:
                await asyncio.sleep(0.01)
    finally:
        await job.stop()
    assert await kept(db, DEFAULT_GUILD) == [make_track(1).id]
