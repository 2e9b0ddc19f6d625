"""Shard leases on SQLite and on the real Postgres: one process per shard, refusals that name the holder,
expired and orphaned leases taken over, renewals, release, and two processes starting at the same moment."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
import pytest_asyncio
import sqlalchemy as sa

from musicbot.shards import ShardRange
from musicbot.storage import Database
from musicbot.storage.columns import utcnow
from musicbot.storage.leases import LeaseOwner, ShardLeases, ShardTakenError, current_leases
from musicbot.storage.models import ShardLeaseRow
from tests.storage.conftest import FAST_OUTBOX

HERE = LeaseOwner.this_process()
ALICE = LeaseOwner("alice", "host-a", 4321, "pid:[1]")
BOB = LeaseOwner("bob", "host-b", 4321, "pid:[1]")


def until(lease: ShardLeases) -> str:
    assert lease.expires_at is not None
    return lease.expires_at.strftime("%Y-%m-%d %H:%M:%S UTC")


async def held(db: Database) -> list[tuple[int, int, str]]:
    return [(lease.shard_count, lease.shard_id, lease.owner.id) for lease in await current_leases(db)]


async def poll(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not after {timeout} s"
        await asyncio.sleep(0.01)


@pytest_asyncio.fixture
async def second_db(database_url: str) -> AsyncIterator[Database]:
    """Another connection to the same database, as a second process has."""
    database = await Database.open(database_url, **FAST_OUTBOX)
    yield database
    await database.close()


async def test_a_claim_takes_every_shard_of_the_range(db: Database) -> None:
    leases = ShardLeases(db, ShardRange(4, (1, 3)), ALICE, ttl_s=30)
    before = utcnow()
    await leases.claim()
    assert await held(db) == [(4, 1, "alice"), (4, 3, "alice")]
    [first, _] = await current_leases(db)
    assert first.owner == ALICE and first.expires_at == leases.expires_at
    assert before + timedelta(seconds=29) < first.expires_at <= utcnow() + timedelta(seconds=30)


async def test_a_shard_run_by_another_process_is_refused_naming_it(db: Database) -> None:
    alice = ShardLeases(db, ShardRange(2, (1,)), ALICE)
    await alice.claim()
    with pytest.raises(ShardTakenError) as refused:
        await ShardLeases(db, ShardRange(2, (0, 1)), BOB).claim()
    assert str(refused.value) == (f"shard 1 of 2 is already run by pid 4321 on host-a (lease until {until(alice)}); "
                                  "stop that process or choose other SHARD_IDS")
    assert await held(db) == [(2, 1, "alice")]  # all or nothing: shard 0 was not taken either
    await ShardLeases(db, ShardRange(2, (0,)), BOB).claim()  # the other shard is free
    assert await held(db) == [(2, 0, "bob"), (2, 1, "alice")]


async def test_shards_of_different_counts_conflict_when_they_share_guilds(db: Database) -> None:
    await ShardLeases(db, ShardRange(2, (1,)), ALICE).claim()
    with pytest.raises(ShardTakenError, match=r"^shard 3 of 4 overlaps shard 1 of 2, already run by pid 4321 on "):
        await ShardLeases(db, ShardRange(4, (3,)), BOB).claim()
    await ShardLeases(db, ShardRange(4, (0, 2)), BOB).claim()  # the even guilds: none of shard 1 of 2's
    # Without SHARD_COUNT a process runs every guild: it overlaps anything, and anything overlaps it.
    with pytest.raises(ShardTakenError, match=r"^every shard \(SHARD_COUNT unset or 1\) overlaps shard 1 of 2, "):
        await ShardLeases(db, ShardRange(), LeaseOwner("carol", "host-c", 1, "")).claim()


async def test_two_processes_without_shard_count_refuse_each_other(db: Database) -> None:
    await ShardLeases(db, ShardRange(), ALICE).claim()
    with pytest.raises(ShardTakenError) as refused:
        await ShardLeases(db, ShardRange(), BOB).claim()
    assert re.fullmatch(r"every shard \(SHARD_COUNT unset or 1\) is already run by pid 4321 on host-a "
                        r"\(lease until [-0-9: ]+ UTC\); stop that process, or give each process its own SHARD_IDS "
                        r"of one SHARD_COUNT", str(refused.value))


@pytest.mark.parametrize(("first", "second"), [(ShardRange(2, (1,)), ShardRange(2, (1,))),
                                               (ShardRange(2, (1,)), ShardRange(4, (3,))),
                                               (ShardRange(), ShardRange(3, (2,)))])
async def test_two_processes_starting_at_the_same_moment_cannot_both_win(
        db: Database, second_db: Database, first: ShardRange, second: ShardRange) -> None:
    for round_ in range(10):
        a = ShardLeases(db, first, LeaseOwner(f"a{round_}", "host-a", 1, ""))
        b = ShardLeases(second_db, second, LeaseOwner(f"b{round_}", "host-b", 1, ""))
        results = await asyncio.gather(a.claim(), b.claim(), return_exceptions=True)
        assert sorted(type(r).__name__ for r in results) == ["NoneType", "ShardTakenError"], results
        winner = a if results[0] is None else b
        assert {owner for *_, owner in await held(db)} == {winner.owner.id}
        await winner.release()


async def test_the_conditional_write_alone_refuses_a_shard_held_by_another(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Were the overlap check skipped (a writer outside the serialization), the INSERT … ON CONFLICT … WHERE owner
    = us changes no row, and its row count says so."""
    alice = ShardLeases(db, ShardRange(2, (1,)), ALICE)
    await alice.claim()
    monkeypatch.setattr(ShardLeases, "_check", lambda self, leases, now: [])
    with pytest.raises(ShardTakenError, match=r"^shard 1 of 2 is already run by pid 4321 on host-a"):
        await ShardLeases(db, ShardRange(2, (0, 1)), BOB).claim()
    assert await held(db) == [(2, 1, "alice")]


async def test_an_expired_lease_is_taken_over_and_its_owner_learns_it_lost(db: Database) -> None:
    lost: list[ShardTakenError] = []
    alice = ShardLeases(db, ShardRange(2, (1,)), ALICE, ttl_s=0.2, on_lost=lost.append)
    await alice.claim()
    assert alice.expires_at is not None
    expiry = alice.expires_at
    await poll(lambda: utcnow() > expiry, "the lease expired")  # a process killed on host-a renews nothing
    bob = ShardLeases(db, ShardRange(2, (1,)), BOB)
    await bob.claim()
    assert await held(db) == [(2, 1, "bob")]
    # host-a comes back (a stall, a database outage): its next renewal finds the shard run by bob and stops it.
    alice.start()
    await poll(lambda: bool(lost), "alice was told")
    assert str(lost[0]) == (f"shard 1 of 2 was taken over by pid 4321 on host-b (lease until {until(bob)}): "
                            "this process stops")
    assert lost[0].lost and await held(db) == [(2, 1, "bob")]
    await alice.release()  # deletes only alice's (none left)
    assert await held(db) == [(2, 1, "bob")]


def _gone_pid() -> int:
    """The pid of a process of this machine that has ended (and was reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.skipif(not HERE.pid_namespace, reason="no /proc/self/ns/pid here")
async def test_a_lease_of_a_process_gone_from_this_machine_is_taken_over_at_once(db: Database) -> None:
    """A crash and a restart on the same machine (systemd, a container) need not wait out the lease."""
    gone = LeaseOwner("crashed", HERE.host, _gone_pid(), HERE.pid_namespace)
    await ShardLeases(db, ShardRange(2, (1,)), gone).claim()
    await ShardLeases(db, ShardRange(2, (1,)), HERE).claim()
    assert await held(db) == [(2, 1, HERE.id)]

    # A restarted container: the new process has the dead one's pid, which is now ours.
    await db.engine.dispose()
    async with db.transaction() as session:
        await session.execute(sa.update(ShardLeaseRow).values(owner="before-restart"))
    await ShardLeases(db, ShardRange(2, (1,)), HERE).claim()
    assert await held(db) == [(2, 1, HERE.id)]


@pytest.mark.skipif(not HERE.pid_namespace, reason="no /proc/self/ns/pid here")
async def test_a_running_process_of_this_machine_keeps_its_lease(db: Database) -> None:
    running = LeaseOwner("parent", HERE.host, os.getppid(), HERE.pid_namespace)
    await ShardLeases(db, ShardRange(2, (1,)), running).claim()
    with pytest.raises(ShardTakenError, match=rf"^shard 1 of 2 is already run by pid {os.getppid()} on "):
        await ShardLeases(db, ShardRange(2, (1,)), HERE).claim()
    # Another PID namespace under the same host name (a container on the host's network): not comparable.
    other_ns = LeaseOwner("elsewhere", HERE.host, _gone_pid(), "pid:[0]")
    await ShardLeases(db, ShardRange(2, (0,)), other_ns).claim()
    with pytest.raises(ShardTakenError, match=r"^shard 0 of 2 is already run by"):
        await ShardLeases(db, ShardRange(2, (0,)), HERE).claim()


async def test_renewals_move_the_expiry_on_and_release_frees_the_shards(db: Database) -> None:
    alice = ShardLeases(db, ShardRange(4, (0, 1)), ALICE, ttl_s=0.3)
    await alice.claim()
    first = alice.expires_at
    assert first is not None
    alice.start()
    await poll(lambda: alice.renewals >= 2, "two renewals")
    [lease, _] = await current_leases(db)
    assert lease.expires_at > first and lease.acquired_at < first
    await ShardLeases(db, ShardRange(4, (2,)), LeaseOwner("zed", "host-z", 9, "")).claim()
    await alice.release()
    assert await held(db) == [(4, 2, "zed")]  # only alice's went
    await ShardLeases(db, ShardRange(4, (1,)), BOB).claim()  # free at once, no expiry to wait for


async def test_release_frees_only_the_leases_it_took(db: Database) -> None:
    """Two ranges of one owner (two clients in one process): each releases its own."""
    zero, one = ShardLeases(db, ShardRange(2, (0,)), ALICE), ShardLeases(db, ShardRange(2, (1,)), ALICE)
    await zero.claim()
    await one.claim()
    await one.release()
    assert await held(db) == [(2, 0, "alice")]
