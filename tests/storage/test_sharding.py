"""A process reads and deletes only its own shards' rows: the SQL form of a ``ShardRange`` agrees with
``ShardRange.owns`` on both backends (64-bit ids included), and snapshot clean-up and history retention use it."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import sqlalchemy as sa

from musicbot.shards import ShardRange
from musicbot.storage import Database, GuildSettingsRepo, HistoryRepo, SnapshotRepo
from musicbot.storage.models import SnapshotRow
from musicbot.storage.retention import apply_retention
from musicbot.storage.sharding import owned
from tests.storage.factories import T0, make_snapshot, make_track

RANGES = [ShardRange(2, (0,)), ShardRange(2, (1,)), ShardRange(3, (0, 2)), ShardRange(16, (5, 7, 15)),
          ShardRange(4), ShardRange()]


def guild_on(shard: int, count: int, n: int = 0) -> int:
    return ((1_000_000 + n * count + shard) << 22) | 777


@pytest.fixture
def guild_ids() -> list[int]:
    rng = random.Random(17)
    # Real snowflakes, the largest ids storage can hold, and small ones.
    return sorted({*(rng.getrandbits(63) for _ in range(60)), 2**63 - 1, (2**63 - 1) >> 22 << 22, 1, 4194304})


async def test_sql_and_python_agree_on_which_guilds_a_range_owns(db: Database, guild_ids: list[int]) -> None:
    for guild_id in guild_ids:
        await SnapshotRepo(db).save(make_snapshot(guild_id, queue_len=0))
    for shards in RANGES:
        async with db.transaction() as session:
            selected = (await session.scalars(sa.select(SnapshotRow.guild_id)
                                              .where(owned(SnapshotRow.guild_id, shards)))).all()
        assert sorted(selected) == [g for g in guild_ids if shards.owns(g)], shards


async def test_snapshots_are_read_and_dropped_for_own_shards_only(db: Database) -> None:
    repo = SnapshotRepo(db)
    mine_old, mine_new = guild_on(0, 2, 1), guild_on(0, 2, 2)
    theirs_old, theirs_new = guild_on(1, 2, 1), guild_on(1, 2, 2)
    for guild_id, age_s in ((mine_old, 7200), (mine_new, 0), (theirs_old, 7200), (theirs_new, 0)):
        await repo.save(make_snapshot(guild_id, saved_at=T0 - timedelta(seconds=age_s)))
    shard_zero = ShardRange(2, (0,))

    assert await repo.delete_older_than(T0 - timedelta(hours=1), shard_zero) == [mine_old]
    assert [s.guild_id for s in await repo.load_all(shard_zero)] == [mine_new]
    assert [s.guild_id for s in await repo.load_all()] == sorted([mine_new, theirs_old, theirs_new])


async def test_history_retention_expires_own_shards_only(db: Database) -> None:
    mine, mine_custom = guild_on(1, 2, 1), guild_on(1, 2, 2)
    theirs, theirs_custom = guild_on(0, 2, 1), guild_on(0, 2, 2)
    for guild_id in (mine_custom, theirs_custom):
        await GuildSettingsRepo(db).update(guild_id, history_retention_days=10, actor_id=1)
    for guild_id in (mine, theirs, mine_custom, theirs_custom):
        for n, days in enumerate((5, 20, 200)):
            await HistoryRepo(db).record_start(guild_id, 7, make_track(n), started_at=T0 - timedelta(days=days))

    assert await apply_retention(db, now=T0, shards=ShardRange(2, (1,))) == 1 + 2

    async def kept(guild_id: int) -> int:
        return len(await HistoryRepo(db).recent_by_guild(guild_id, limit=100))

    assert [await kept(g) for g in (mine, mine_custom)] == [2, 1]
    assert [await kept(g) for g in (theirs, theirs_custom)] == [3, 3]  # shard 0's process expires those
