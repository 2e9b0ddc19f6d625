"""History: starts and ends recorded, queries newest first with limits and paging."""

from __future__ import annotations

from datetime import timedelta

from musicbot.storage import Database, HistoryRecorder, HistoryRepo, PlayOutcome
from tests.storage.factories import at, make_track

G1, G2 = 700000000000000001, 700000000000000002
U1, U2 = 800000000000000001, 800000000000000002


async def test_start_and_end_are_recorded(db: Database) -> None:
    repo = HistoryRepo(db)
    play_id = await repo.record_start(G1, U1, make_track(1), started_at=at(0))
    [entry] = await repo.recent_by_guild(G1)
    assert (entry.play_id, entry.user_id, entry.track, entry.outcome, entry.ended_at) == (
        play_id, U1, make_track(1), None, None)
    assert entry.started_at == at(0)
    await repo.record_end(play_id, PlayOutcome.SKIPPED, reason="vote skip (3/4)", ended_at=at(61))
    [entry] = await repo.recent_by_guild(G1)
    assert (entry.outcome, entry.reason, entry.ended_at) == (PlayOutcome.SKIPPED, "vote skip (3/4)", at(61))


async def test_queries_are_newest_first_with_limit_and_paging(db: Database) -> None:
    repo = HistoryRepo(db)
    # Inserted out of time order on purpose.
    for n in (3, 0, 4, 1, 2, 5):
        user = U1 if n % 2 == 0 else U2
        await repo.record_start(G1 if n < 5 else G2, user, make_track(n), started_at=at(n * 60))
    by_guild = await repo.recent_by_guild(G1, limit=3)
    assert [e.track.id for e in by_guild] == [make_track(n).id for n in (4, 3, 2)]
    older = await repo.recent_by_guild(G1, limit=3, before=by_guild[-1].started_at)
    assert [e.track.id for e in older] == [make_track(n).id for n in (1, 0)]
    assert [e.track.id for e in await repo.recent_by_user(U1)] == [make_track(n).id for n in (4, 2, 0)]
    assert [e.track.id for e in await repo.recent_by_user(U2, guild_id=G1)] == [make_track(n).id for n in (3, 1)]
    assert [e.track.id for e in await repo.recent_by_user(U2)] == [make_track(n).id for n in (5, 3, 1)]
    assert await repo.recent_track_ids(G1, limit=2) == [make_track(4).id, make_track(3).id]
    assert await repo.count(G1) == 5 and await repo.count() == 6


async def test_autoplay_picks_have_no_user(db: Database) -> None:
    repo = HistoryRepo(db)
    await repo.record_start(G1, None, make_track(1), autoplay=True, started_at=at(0))
    [entry] = await repo.recent_by_guild(G1)
    assert entry.user_id is None and entry.autoplay


async def test_recorder_writes_behind_in_order(db: Database) -> None:
    recorder, repo = HistoryRecorder(db), HistoryRepo(db)
    play_ids = []
    for n in range(5):
        play_ids.append(recorder.started(G1, U1, make_track(n), started_at=at(n)))
        recorder.ended(play_ids[-1], PlayOutcome.FINISHED, ended_at=at(n) + timedelta(seconds=0.5))
    assert await repo.count() == 0  # nothing awaited the database yet
    assert await db.outbox.flush()
    entries = await repo.recent_by_guild(G1)
    assert [e.play_id for e in entries] == play_ids[::-1]
    assert all(e.outcome is PlayOutcome.FINISHED for e in entries)


async def test_delete_before_cutoff(db: Database) -> None:
    repo = HistoryRepo(db)
    for n in range(4):
        await repo.record_start(G1, U1, make_track(n), started_at=at(n * 3600))
    assert await repo.delete_before(at(2 * 3600)) == 2
    assert [e.track.id for e in await repo.recent_by_guild(G1)] == [make_track(3).id, make_track(2).id]
