"""Shard leases: at most one process runs a shard, on SQLite and on Postgres alike.

A process takes a lease on each of its shards (``ShardRange.lease_keys``: ``(count, id)``, or
``(1, 0)`` for every shard) before it contacts Discord, renews it every ``ttl_s / 3`` while it
runs and deletes it at a clean shutdown. A lease is free once it expired (a killed process on
another machine), or at once when it belongs to a process of this machine that is gone (same
host name and PID namespace, the pid no longer running or now ours: a restarted container);
otherwise a start is refused with ``ShardTakenError``, naming the holder.

Leases of different counts conflict when they share guilds (``shards.overlap``): shard 1 of 2
and shard 3 of 4 do, shard 0 of 2 and shard 1 of 4 do not. That check reads the whole table, so
taking leases is serialized: SQLite's ``BEGIN IMMEDIATE`` (``engine.py``) and on Postgres a
transaction-scoped advisory lock. The write itself is an ``INSERT … ON CONFLICT DO UPDATE … WHERE
owner = us`` whose row count must be one, so even without that lock two processes starting at
the same moment cannot both hold a shard. Expiry compares clocks of different machines: they
must agree to well within ``ttl_s`` (NTP does).

Event loop only.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from musicbot.errors import MusicBotError
from musicbot.shards import ShardRange, describe, overlap
from musicbot.storage.columns import utcnow
from musicbot.storage.database import Database
from musicbot.storage.errors import StorageError
from musicbot.storage.models import ShardLeaseRow

log = logging.getLogger(__name__)

LEASE_TTL_S = 30.0
"""How long a lease outlives its last renewal: a process killed on another machine frees its shards after this."""

# Not migrate.py's key: a start that migrates and one that takes leases need not wait for each other.
_PG_LOCK_KEY = 0x6D75_7369_6373_6864 & 0x7FFF_FFFF_FFFF_FFFF  # "musicshd"

Key = tuple[int, int]


@dataclass(frozen=True)
class LeaseOwner:
    """A process holding leases: ``id`` is unique per start; the rest says where it runs."""

    id: str
    host: str
    pid: int
    pid_namespace: str = ""

    @staticmethod
    @functools.cache
    def this_process() -> LeaseOwner:
        """This process (one owner for its whole life, whichever client takes the leases)."""
        return LeaseOwner(uuid.uuid4().hex, socket.gethostname(), os.getpid(), _pid_namespace())

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host}"

    def saw_exit_of(self, other: LeaseOwner) -> bool:
        """Whether ``other`` ran on this machine (host name and PID namespace both ours) and is gone: its pid
        does not run, or is ours (a container restarted with the same pids). Its leases need not expire."""
        if other.id == self.id or not self.pid_namespace:
            return False
        if (other.host, other.pid_namespace) != (self.host, self.pid_namespace):
            return False
        return other.pid == self.pid or not _running(other.pid)


@dataclass(frozen=True)
class ShardLease:
    shard_count: int
    shard_id: int
    owner: LeaseOwner
    acquired_at: datetime
    expires_at: datetime

    @property
    def key(self) -> Key:
        return (self.shard_count, self.shard_id)


class ShardTakenError(MusicBotError):
    """Another running process holds a lease that overlaps one of ours."""

    def __init__(self, wanted: Key, holder: ShardLease, *, lost: bool = False) -> None:
        self.wanted = wanted
        self.holder = holder
        self.lost = lost
        until = holder.expires_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        theirs = describe(holder.key)
        if lost:
            message = f"{describe(wanted)} was taken over by {holder.owner} (lease until {until}): this process stops"
        elif holder.key == wanted:
            message = f"{theirs} is already run by {holder.owner} (lease until {until})"
        else:
            message = f"{describe(wanted)} overlaps {theirs}, already run by {holder.owner} (lease until {until})"
        if not lost and wanted[0] == 1:  # this process would run every shard
            message += "; stop that process, or give each process its own SHARD_IDS of one SHARD_COUNT"
        elif not lost:
            message += "; stop that process or choose other SHARD_IDS"
        super().__init__(message)


async def current_leases(db: Database) -> list[ShardLease]:
    """Every lease in the database, expired ones too, by shard."""
    async with db.transaction() as session:
        rows = (await session.scalars(sa.select(ShardLeaseRow).order_by(ShardLeaseRow.shard_count,
                                                                        ShardLeaseRow.shard_id))).all()
    return [_from_row(row) for row in rows]


class ShardLeases:
    """This process's leases on ``shards``: ``claim`` at start, ``start`` the renewals, ``release`` at the end.

    ``on_lost`` is called (once) when a renewal finds a shard run by another process: its lease expired
    here (a database outage longer than ``ttl_s``) and that process took it. Event loop.
    """

    def __init__(self, db: Database, shards: ShardRange, owner: LeaseOwner | None = None, *,
                 ttl_s: float = LEASE_TTL_S, on_lost: Callable[[ShardTakenError], None] | None = None) -> None:
        self._db = db
        self.shards = shards
        self.owner = owner or LeaseOwner.this_process()
        self.ttl_s = ttl_s
        self._on_lost = on_lost
        self._keys: tuple[Key, ...] = shards.lease_keys()
        self._task: asyncio.Task[None] | None = None
        self.expires_at: datetime | None = None  # of the last claim or renewal
        self.renewals = 0

    async def claim(self) -> None:
        """Take (or renew) every lease of ours, or none: ``ShardTakenError`` names the first shard another
        running process holds. ``StorageError`` when the database cannot be used."""
        now = utcnow()
        expires_at = now + timedelta(seconds=self.ttl_s)
        async with self._db.transaction() as session:
            if session.get_bind().dialect.name == "postgresql":
                await session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            leases = [_from_row(row) for row in (await session.scalars(sa.select(ShardLeaseRow))).all()]
            taken_over = self._check(leases, now)
            for lease in taken_over:
                log.warning("taking over %s from %s (lease until %s: %s)", describe(lease.key), lease.owner,
                            lease.expires_at.isoformat(), "expired" if lease.expires_at <= now else "process gone")
                await session.execute(sa.delete(ShardLeaseRow).where(
                    ShardLeaseRow.shard_count == lease.shard_count, ShardLeaseRow.shard_id == lease.shard_id,
                    ShardLeaseRow.owner == lease.owner.id))
            for key in self._keys:
                if not await self._upsert(session, key, now, expires_at):
                    # Only when a writer skipped the serialization above: the row is someone else's.
                    row = await session.get(ShardLeaseRow, key, populate_existing=True)
                    assert row is not None
                    raise ShardTakenError(key, _from_row(row))
        self.expires_at = expires_at

    def start(self) -> None:
        """Renew every ``ttl_s / 3`` from now on (after a successful ``claim``)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._renew_loop(), name="shard-leases")

    async def release(self) -> None:
        """Stop renewing and delete these leases (clean shutdown): the shards are free at once."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            async with self._db.transaction() as session:
                await session.execute(sa.delete(ShardLeaseRow).where(
                    ShardLeaseRow.owner == self.owner.id,
                    sa.tuple_(ShardLeaseRow.shard_count, ShardLeaseRow.shard_id).in_(self._keys)))
        except StorageError as error:
            log.warning("shard leases not released (%s); they expire at %s", error,
                        self.expires_at.isoformat() if self.expires_at else "once their time is up")
            return
        log.info("released the leases of %s", self.shards)

    def _check(self, leases: Sequence[ShardLease], now: datetime) -> list[ShardLease]:
        """The other owners' leases that overlap ours and may be taken over; raises for one that may not."""
        others = sorted((lease for lease in leases if lease.owner.id != self.owner.id), key=lambda lease: lease.key)
        taken_over = []
        for key in self._keys:
            for lease in others:
                if not overlap(key, lease.key) or lease in taken_over:
                    continue
                if lease.expires_at <= now or self.owner.saw_exit_of(lease.owner):
                    taken_over.append(lease)
                else:
                    raise ShardTakenError(key, lease)
        return taken_over

    async def _upsert(self, session: AsyncSession, key: Key, now: datetime, expires_at: datetime) -> bool:
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        stmt = insert(ShardLeaseRow).values(
            shard_count=key[0], shard_id=key[1], owner=self.owner.id, host=self.owner.host[:255], pid=self.owner.pid,
            pid_namespace=self.owner.pid_namespace[:64], acquired_at=now, expires_at=expires_at)
        stmt = stmt.on_conflict_do_update(
            index_elements=["shard_count", "shard_id"], set_={"expires_at": stmt.excluded.expires_at},
            where=ShardLeaseRow.owner == self.owner.id)
        result = await session.execute(stmt)
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def _renew_loop(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self.ttl_s / 3)
            try:
                await self.claim()
            except ShardTakenError as error:
                lost = ShardTakenError(error.wanted, error.holder, lost=True)
                log.error("%s", lost)
                if self._on_lost is not None:
                    self._on_lost(lost)
                return
            except StorageError as error:
                expired = self.expires_at is not None and self.expires_at <= utcnow()
                if not failing or expired:
                    log.warning("shard leases not renewed (%s)%s", error,
                                "; they have expired: another process may take these shards" if expired else "")
                failing = True
                continue
            except Exception:
                log.exception("shard lease renewal failed; trying again")
                continue
            if failing:
                log.info("shard leases renewed again")
                failing = False
            self.renewals += 1


def _from_row(row: ShardLeaseRow) -> ShardLease:
    owner = LeaseOwner(row.owner, row.host, row.pid, row.pid_namespace)
    return ShardLease(row.shard_count, row.shard_id, owner, row.acquired_at, row.expires_at)


def _pid_namespace() -> str:
    """This process's PID namespace (``pid:[4026531836]``): pids of the same host name in another
    namespace (another container with the host's network) are not comparable. Empty where unknown."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process here (a zombie, killed but not yet reaped, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it runs
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
