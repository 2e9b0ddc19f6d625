"""The ``Database``: one engine, migrations at open, health for ``/ready``, the write-behind outbox.

Everything here runs on the bot's event loop. A failing or slow database never raises into
playback: the hot path only queues writes in the outbox (see ``outbox.py``); commands that
read get ``StorageUnavailableError``, whose message tells the user to try again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from musicbot.metrics import DATABASE_SECONDS
from musicbot.storage.columns import utcnow
from musicbot.storage.deadline import StorageTimeoutError
from musicbot.storage.deadline import current as current_deadline
from musicbot.storage.engine import create_engine, is_transient, parse_url, redact
from musicbot.storage.errors import StorageError, StorageUnavailableError
from musicbot.storage.migrate import migrate_engine, open_error
from musicbot.storage.outbox import Outbox, OutboxStats

log = logging.getLogger(__name__)


class HealthState(Enum):
    OK = "ok"
    DEGRADED = "degraded"  # the last database call failed: writes are queued, playback goes on
    DOWN = "down"  # closed, or never opened


@dataclass(frozen=True)
class DatabaseHealth:
    """What ``/ready`` reports about the database. Times are UTC."""

    state: HealthState
    backend: str
    outage_since: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    pending_writes: int
    dropped_writes: int

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form for the ``/ready`` body."""
        return {
            "state": self.state.value,
            "backend": self.backend,
            "outage_since": self.outage_since.isoformat() if self.outage_since else None,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at.isoformat() if self.last_error_at else None,
            "pending_writes": self.pending_writes,
            "dropped_writes": self.dropped_writes,
        }


class Database:
    """The bot's database. Create with ``await Database.open(url)``; end with ``await close()``.

    All methods are called on the event loop thread.
    """

    def __init__(self, engine: AsyncEngine, url: URL, *, outbox_interval_s: float = 1.0,
                 outbox_max_queued: int = 10_000, retry_initial_s: float = 0.5, retry_max_s: float = 30.0) -> None:
        self._engine = engine
        self._url = url
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._closed = False
        self._outage_since: datetime | None = None
        self._last_error: str | None = None
        self._last_error_at: datetime | None = None
        self.outbox = Outbox(
            self.transaction, interval_s=outbox_interval_s, max_queued=outbox_max_queued,
            retry_initial_s=retry_initial_s, retry_max_s=retry_max_s,
        )

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True, outbox_interval_s: float = 1.0,
                   outbox_max_queued: int = 10_000, retry_initial_s: float = 0.5,
                   retry_max_s: float = 30.0) -> Database:
        """Connect, upgrade the schema to the newest revision and start the outbox.

        The outbox options (seconds between coalesced writes, queued history rows kept during an
        outage, retry backoff) have production defaults; tests shorten them. Raises
        ``ConfigError`` for a URL that is not supported, ``StorageUnavailableError`` when the
        database cannot be reached, and ``StorageError`` when it cannot be opened otherwise.
        """
        parsed = parse_url(url)
        engine = create_engine(parsed)
        try:
            if migrate:
                await migrate_engine(engine)
        except Exception as err:
            await engine.dispose()
            raise open_error(parsed, err) from err
        db = cls(
            engine, parsed, outbox_interval_s=outbox_interval_s, outbox_max_queued=outbox_max_queued,
            retry_initial_s=retry_initial_s, retry_max_s=retry_max_s,
        )
        db.outbox.start()
        log.info("database ready: %s", redact(parsed))
        return db

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._url.get_backend_name()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction, committed when the block ends without an error.

        Transient failures (unreachable, timed out, locked) become ``StorageUnavailableError``
        and mark the database degraded until the next success; past the calling command's
        deadline (``deadline.py``), ``StorageTimeoutError``. Its time, from asking for a
        connection to the commit or the failure, goes to ``musicbot_database_seconds``.
        """
        if self._closed:
            raise StorageUnavailableError("the database is closed")
        deadline = current_deadline()
        if deadline is not None:
            await deadline.prepare()  # e.g. the command defers its answer before anything can hang
        started = time.perf_counter()
        limit = asyncio.timeout_at(deadline.at if deadline is not None else None)
        try:
            async with limit, self._sessions() as session, session.begin():
                yield session
        except StorageError:
            raise
        except TimeoutError as err:
            if not limit.expired():
                raise
            self._note_failure(err)
            raise StorageTimeoutError() from err
        except Exception as err:
            if is_transient(err):
                self._note_failure(err)
                raise StorageUnavailableError(str(err)) from err
            raise
        finally:
            DATABASE_SECONDS.observe(time.perf_counter() - started)
        self._note_success()

    async def ping(self, timeout_s: float = 2.0) -> DatabaseHealth:
        """Check the database now (``/ready`` may call this) and return the health it leaves.

        An idle bot makes no queries, so without this an outage would show only at the next write.
        """
        try:
            async with asyncio.timeout(timeout_s), self.transaction() as session:
                await session.execute(sa.text("SELECT 1"))
        except StorageUnavailableError:
            pass
        except TimeoutError as err:
            self._note_failure(err)
        return self.health()

    def health(self) -> DatabaseHealth:
        stats: OutboxStats = self.outbox.stats()
        if self._closed:
            state = HealthState.DOWN
        elif self._outage_since is not None:
            state = HealthState.DEGRADED
        else:
            state = HealthState.OK
        return DatabaseHealth(
            state=state, backend=self.backend, outage_since=self._outage_since,
            last_error=self._last_error, last_error_at=self._last_error_at,
            pending_writes=stats.pending, dropped_writes=stats.dropped,
        )

    async def close(self, flush_timeout_s: float = 10.0) -> bool:
        """Write everything pending (the SIGTERM path), then close. True if nothing was left unwritten."""
        if self._closed:
            return True
        flushed = await self.outbox.close(flush_timeout_s)
        self._closed = True
        await self._engine.dispose()
        return flushed

    def _note_failure(self, err: BaseException) -> None:
        now = utcnow()
        self._last_error = f"{type(err).__name__}: {err}".splitlines()[0][:300]
        self._last_error_at = now
        if self._outage_since is None:
            self._outage_since = now
            log.warning("database unavailable (%s); playback goes on and writes are queued", self._last_error)

    def _note_success(self) -> None:
        if self._outage_since is not None:
            seconds = (utcnow() - self._outage_since).total_seconds()
            log.warning("database reachable again after %.1f s of outage", seconds)
            self._outage_since = None
