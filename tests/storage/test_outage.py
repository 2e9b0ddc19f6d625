"""A database that is down degrades, never stops playback, and catches up when it is back."""

from __future__ import annotations

import asyncio
import inspect
import logging

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from musicbot.storage import (
    Database,
    HealthState,
    HistoryRecorder,
    HistoryRepo,
    PlayOutcome,
    SnapshotRepo,
    SnapshotWriter,
    StorageError,
    StorageUnavailableError,
    upgrade,
)
from tests.storage.conftest import FAST_OUTBOX, Outage
from tests.storage.factories import at, make_snapshot, make_track


async def _wait_for(predicate: object, timeout_s: float = 5.0) -> None:
    assert callable(predicate)
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_outage_queues_writes_reports_degraded_and_recovers(
    db: Database, outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    writer, recorder = SnapshotWriter(db), HistoryRecorder(db)
    assert db.health().state is HealthState.OK
    outage.active = True
    play_ids = []
    # The hot path is plain functions, not coroutines: they cannot wait for the database.
    assert not inspect.iscoroutinefunction(writer.schedule)
    assert not inspect.iscoroutinefunction(recorder.started)
    with caplog.at_level(logging.WARNING, logger="musicbot.storage"):
        for i in range(40):
            writer.schedule(make_snapshot(1, position_s=float(i)))
            play_ids.append(recorder.started(1, 5, make_track(i), started_at=at(i)))
            await asyncio.sleep(0.01)
        await _wait_for(lambda: db.outbox.stats().failed_batches >= 2)
        health = db.health()
        assert health.state is HealthState.DEGRADED
        assert health.outage_since is not None and health.last_error is not None
        assert "simulated outage" in health.last_error and health.pending_writes == 41
        assert health.as_dict()["state"] == "degraded"
        with pytest.raises(StorageUnavailableError):
            await HistoryRepo(db).count()
        outage.active = False
        await _wait_for(lambda: db.outbox.stats().pending == 0)
    assert db.health().state is HealthState.OK
    assert db.health().outage_since is None
    assert await HistoryRepo(db).count() == 40
    assert [e.play_id for e in await HistoryRepo(db).recent_by_guild(1, limit=100)] == play_ids[::-1]
    stored = await SnapshotRepo(db).load(1)
    assert stored is not None and stored.position_s == 39.0
    messages = [r.getMessage() for r in caplog.records]
    assert any("database unavailable" in m for m in messages)
    assert any("reachable again" in m for m in messages)


async def test_flush_retries_until_the_database_is_back(db: Database, outage: Outage) -> None:
    recorder = HistoryRecorder(db)
    outage.active = True
    play_id = recorder.started(2, 5, make_track(1))
    recorder.ended(play_id, PlayOutcome.STOPPED, reason="shutdown")
    asyncio.get_running_loop().call_later(0.3, setattr, outage, "active", False)
    assert await db.outbox.flush(timeout_s=5.0)
    [entry] = await HistoryRepo(db).recent_by_guild(2)
    assert entry.outcome is PlayOutcome.STOPPED and entry.reason == "shutdown"


async def test_flush_gives_up_after_its_timeout(db: Database, outage: Outage) -> None:
    outage.active = True
    HistoryRecorder(db).started(3, 5, make_track(1))
    assert not await db.outbox.flush(timeout_s=0.2)
    assert db.outbox.stats().pending == 1
    outage.active = False
    assert await db.outbox.flush()


async def test_a_long_outage_drops_the_oldest_history_rows(database_url: str) -> None:
    db = await Database.open(database_url, outbox_max_queued=50, **FAST_OUTBOX)
    try:
        outage = Outage(db)
        outage.active = True
        recorder = HistoryRecorder(db)
        ids = [recorder.started(4, 5, make_track(i), started_at=at(i)) for i in range(80)]
        await asyncio.sleep(0.1)
        stats = db.outbox.stats()
        assert stats.dropped == 30 and stats.pending == 50
        outage.active = False
        assert await db.outbox.flush()
        kept = [e.play_id for e in await HistoryRepo(db).recent_by_guild(4, limit=100)]
        assert kept == ids[30:][::-1]  # the newest 50 survive
        assert db.health().dropped_writes == 30
    finally:
        await db.close()


async def test_a_bad_write_is_dropped_without_blocking_the_others(db: Database) -> None:
    async def broken(session: AsyncSession) -> None:
        raise RuntimeError("a bug in one write")

    recorder = HistoryRecorder(db)
    recorder.started(5, 5, make_track(1))
    db.outbox.put(broken)
    recorder.started(5, 5, make_track(2))
    assert await db.outbox.flush()
    assert await HistoryRepo(db).count(5) == 2
    assert db.outbox.stats().dropped == 1
    assert db.health().state is HealthState.OK


async def test_a_closed_database_is_down_and_refuses_calls(database_url: str) -> None:
    db = await Database.open(database_url, **FAST_OUTBOX)
    await db.close()
    assert db.health().state is HealthState.DOWN
    with pytest.raises(StorageUnavailableError):
        await HistoryRepo(db).count()
    HistoryRecorder(db).started(1, 1, make_track(1))  # dropped, not raised
    assert db.outbox.stats().dropped == 1


async def test_a_missing_postgres_database_is_reported_clearly(pg_shared_url: str) -> None:
    url = pg_shared_url.rsplit("/", 1)[0] + "/musicbot_does_not_exist"
    with pytest.raises(StorageError, match=r"Cannot (open|reach) the database at .*musicbot_does_not_exist"):
        await upgrade(url)


async def test_an_unreachable_server_at_open_is_reported_clearly() -> None:
    with pytest.raises(StorageUnavailableError) as info:
        await Database.open("postgresql+asyncpg://postgres@127.0.0.1:1/nothing")
    assert str(info.value).startswith("Cannot reach the database at postgresql+asyncpg://postgres@127.0.0.1:1/nothing")
    assert "check DATABASE_URL" in str(info.value)


async def test_ping_notices_an_outage_while_idle(db: Database, outage: Outage) -> None:
    assert (await db.ping()).state is HealthState.OK
    outage.active = True
    health = await db.ping()
    assert health.state is HealthState.DEGRADED and health.outage_since is not None
    outage.active = False
    assert (await db.ping()).state is HealthState.OK
