"""Many guilds writing at once lose nothing, on either backend."""

from __future__ import annotations

import asyncio

from musicbot.storage import Database, HistoryRecorder, HistoryRepo, SnapshotRepo, SnapshotWriter
from tests.storage.factories import at, make_snapshot, make_track

GUILDS, ROWS = 50, 100


async def test_concurrent_history_writes_from_50_guilds(db: Database) -> None:
    repo = HistoryRepo(db)

    async def guild(g: int) -> None:
        for n in range(ROWS):
            await repo.record_start(g, 1000 + n % 5, make_track(n), started_at=at(n))

    await asyncio.gather(*(guild(g) for g in range(1, GUILDS + 1)))
    assert await repo.count() == GUILDS * ROWS
    counts = await asyncio.gather(*(repo.count(g) for g in range(1, GUILDS + 1)))
    assert counts == [ROWS] * GUILDS
    newest = await repo.recent_by_guild(17, limit=3)
    assert [e.started_at for e in newest] == [at(99), at(98), at(97)]


async def test_concurrent_write_behind_from_50_guilds(db: Database) -> None:
    recorder, writer = HistoryRecorder(db), SnapshotWriter(db)

    async def guild(g: int) -> None:
        for n in range(ROWS):
            recorder.started(g, None, make_track(n), autoplay=True, started_at=at(n))
            writer.schedule(make_snapshot(g, queue_len=2, position_s=float(n)))
            if n % 10 == 0:
                await asyncio.sleep(0)

    await asyncio.gather(*(guild(g) for g in range(1, GUILDS + 1)))
    assert await db.outbox.flush()
    repo = HistoryRepo(db)
    assert await repo.count() == GUILDS * ROWS
    assert await asyncio.gather(*(repo.count(g) for g in range(1, GUILDS + 1))) == [ROWS] * GUILDS
    snapshots = await SnapshotRepo(db).load_all()
    assert len(snapshots) == GUILDS and {s.position_s for s in snapshots} == {float(ROWS - 1)}
