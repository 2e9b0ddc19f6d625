"""Session snapshots: round trip, restart, coalesced writes, flush on shutdown."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from musicbot.storage import Database, SessionSnapshot, SnapshotRepo, SnapshotWriter
from tests.storage.conftest import FAST_OUTBOX
from tests.storage.factories import at, make_snapshot


async def test_save_load_overwrite_delete(db: Database) -> None:
    repo = SnapshotRepo(db)
    assert await repo.load(1) is None
    snap = make_snapshot(1)
    await repo.save(snap)
    assert await repo.load(1) == snap
    moved = replace(snap, queue=snap.queue[2:], current=None, position_s=0.0, filters={}, paused=True)
    await repo.save(moved)
    assert await repo.load(1) == moved
    await repo.save(make_snapshot(2))
    assert [s.guild_id for s in await repo.load_all()] == [1, 2]
    await repo.delete(1)
    assert await repo.load(1) is None
    assert [s.guild_id for s in await repo.load_all()] == [2]


async def test_restart_reads_back_what_was_written(database_url: str) -> None:
    snapshots = [make_snapshot(g, queue_len=g * 3, position_s=g + 0.25) for g in (11, 12, 13)]
    first = await Database.open(database_url, **FAST_OUTBOX)
    writer = SnapshotWriter(first)
    for snap in snapshots:
        writer.schedule(snap)
    # The SIGTERM path: close() flushes what the writer has not written yet.
    assert await first.close()
    second = await Database.open(database_url, **FAST_OUTBOX)  # the "restarted" process
    try:
        assert await SnapshotRepo(second).load_all() == snapshots
    finally:
        await second.close()


async def test_writes_are_coalesced_and_the_last_state_wins(database_url: str) -> None:
    db = await Database.open(database_url, outbox_interval_s=1.0)  # the production interval
    try:
        writer, repo = SnapshotWriter(db), SnapshotRepo(db)
        for i in range(100):
            writer.schedule(make_snapshot(5, position_s=float(i), saved_at=at(i)))
            await asyncio.sleep(0)  # interleave with the outbox task, as real events would
        assert await writer.flush()
        # The first schedule() is written at once, the other 99 coalesce into the flush.
        assert 1 <= db.outbox.stats().written <= 2
        stored = await repo.load(5)
        assert stored is not None and stored.position_s == 99.0 and stored.saved_at == at(99)
    finally:
        await db.close()


async def test_coalescing_over_time_writes_at_most_once_per_interval(database_url: str) -> None:
    db = await Database.open(database_url, outbox_interval_s=0.2)
    try:
        writer = SnapshotWriter(db)
        loop = asyncio.get_running_loop()
        start = loop.time()
        i = 0
        while loop.time() - start < 0.5:
            writer.schedule(make_snapshot(6, position_s=float(i)))
            i += 1
            await asyncio.sleep(0.005)
        batches = db.outbox.stats().batches
        assert i > 10 and 1 <= batches <= 4
        assert await writer.flush()
        stored = await SnapshotRepo(db).load(6)
        assert stored is not None and stored.position_s == float(i - 1)
    finally:
        await db.close()


async def test_schedule_delete_wins_over_a_pending_save(db: Database) -> None:
    writer, repo = SnapshotWriter(db), SnapshotRepo(db)
    await repo.save(make_snapshot(7))
    writer.schedule(make_snapshot(7, position_s=3.0))
    writer.schedule_delete(7)
    assert await writer.flush()
    assert await repo.load(7) is None


def test_defaults_make_a_minimal_snapshot() -> None:
    snap = SessionSnapshot(guild_id=1, voice_channel_id=2)
    assert snap.queue == () and snap.current is None and snap.filters == {} and snap.saved_at.tzinfo is not None


async def test_snapshots_older_than_the_cutoff_are_dropped(db: Database) -> None:
    repo = SnapshotRepo(db)
    await repo.save(make_snapshot(1, saved_at=at(0)))
    await repo.save(make_snapshot(2, saved_at=at(100)))
    assert await repo.delete_older_than(at(50)) == [1]
    assert [s.guild_id for s in await repo.load_all()] == [2]
