"""Write-behind: writes queued on the event loop and applied by one background task.

Playback never awaits the database: the session calls ``put`` (it only appends to memory) and
this task writes in batches, one transaction per batch, at most once per ``interval_s``.

- Keyed writes (a guild's session snapshot) coalesce: only the newest per key is written.
- Unkeyed writes (history rows) are kept in order in a bounded queue; when an outage fills
  it, the oldest are dropped and counted, and the count is logged.
- A transient failure (``StorageUnavailableError``) puts the batch back and retries with
  exponential backoff; the database reports itself degraded meanwhile. A write that fails for
  any other reason (a bug, a constraint) is logged and dropped so it cannot block the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from musicbot.storage.errors import StorageUnavailableError

log = logging.getLogger(__name__)

WriteOp = Callable[[AsyncSession], Awaitable[None]]
"""One write, applied inside the outbox's transaction."""

TransactionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]

BATCH_SIZE = 500
_DROP_LOG_INTERVAL_S = 30.0


@dataclass(frozen=True)
class StatementOp:
    """A write op that is one Core statement and its parameters.

    Consecutive ops that share the same statement object are sent as one executemany, so a
    second's worth of history rows costs one round trip instead of one each.
    """

    statement: Executable
    params: Mapping[str, Any]

    async def __call__(self, session: AsyncSession) -> None:
        await session.execute(self.statement, dict(self.params))


@dataclass(frozen=True)
class OutboxStats:
    pending: int  # writes waiting
    dropped: int  # history rows dropped because an outage filled the queue, plus failed writes
    written: int  # writes applied since start
    batches: int  # transactions committed
    failed_batches: int  # transactions that failed for a transient reason


class Outbox:
    """Queued writes and the task that applies them. Event-loop thread only."""

    def __init__(self, transaction: TransactionFactory, *, interval_s: float = 1.0, max_queued: int = 10_000,
                 retry_initial_s: float = 0.5, retry_max_s: float = 30.0) -> None:
        self._transaction = transaction
        self._interval_s = interval_s
        self._max_queued = max_queued
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._keyed: dict[Hashable, WriteOp] = {}
        self._fifo: deque[WriteOp] = deque()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._written = self._batches = self._failed_batches = self._dropped = 0
        self._dropped_unlogged = 0
        self._last_drop_log = 0.0
        self._in_flight = 0

    def start(self) -> None:
        """Start the background task (on the running loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="storage-outbox")

    def put(self, op: WriteOp, *, key: Hashable | None = None) -> None:
        """Queue ``op``. With a ``key``, it replaces any pending op with the same key. Never blocks."""
        if self._closed:
            log.warning("storage outbox is closed; a write was dropped")
            self._note_dropped(1)
            return
        if key is None:
            self._fifo.append(op)
            self._trim()
        else:
            self._keyed.pop(key, None)
            self._keyed[key] = op
        self._wake.set()

    def stats(self) -> OutboxStats:
        return OutboxStats(
            pending=len(self._keyed) + len(self._fifo) + self._in_flight, dropped=self._dropped, written=self._written,
            batches=self._batches, failed_batches=self._failed_batches,
        )

    async def flush(self, timeout_s: float = 10.0) -> bool:
        """Write everything pending now, retrying for up to ``timeout_s``. True when nothing is left."""
        delay = self._retry_initial_s
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    async with self._lock:
                        pass  # a batch the task has taken is in flight: wait for it to land or come back
                    if not (self._keyed or self._fifo):
                        break
                    if not await self._drain_once():
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, self._retry_max_s)
        except TimeoutError:
            pending = self.stats().pending
            log.error("storage flush gave up after %.1f s with %d writes unwritten", timeout_s, pending)
            return False
        return True

    async def close(self, timeout_s: float = 10.0) -> bool:
        """Flush, then stop the task; later ``put`` calls are dropped. True when nothing was lost."""
        flushed = await self.flush(timeout_s)
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        return flushed

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last_attempt = -self._interval_s
        delay = self._retry_initial_s
        backlog = False
        while True:
            await self._wake.wait()
            # Coalescing: a burst of puts within the interval becomes one transaction. A backlog
            # (rows queued during an outage, more than one batch) is written without pausing.
            wait = last_attempt + self._interval_s - loop.time()
            if wait > 0 and not backlog:
                await asyncio.sleep(wait)
            self._wake.clear()
            last_attempt = loop.time()
            try:
                ok = await self._drain_once()
            except Exception:
                log.exception("storage outbox failed unexpectedly; retrying")
                ok = False
            if ok:
                delay = self._retry_initial_s
            else:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max_s)
            backlog = ok and bool(self._fifo)
            if self._keyed or self._fifo:
                self._wake.set()

    async def _drain_once(self) -> bool:
        """Write one batch. False when the database is unavailable (the batch is back in the queue)."""
        async with self._lock:
            keyed, self._keyed = self._keyed, {}
            fifo = [self._fifo.popleft() for _ in range(min(BATCH_SIZE, len(self._fifo)))]
            if not keyed and not fifo:
                return True
            self._in_flight = len(keyed) + len(fifo)
            try:
                await self._apply([*keyed.values(), *fifo])
            except StorageUnavailableError:
                self._failed_batches += 1
                self._requeue(keyed, fifo)
                return False
            except Exception:
                # One bad write must not hold back the others: apply them one by one.
                return await self._apply_each(keyed, fifo)
            finally:
                self._in_flight = 0
            self._written += len(keyed) + len(fifo)
            self._batches += 1
            return True

    async def _apply(self, ops: list[WriteOp]) -> None:
        async with self._transaction() as session:
            for group in _runs(ops):
                if isinstance(group, list):
                    await session.execute(group[0].statement, [dict(o.params) for o in group])
                else:
                    await group(session)

    async def _apply_each(self, keyed: dict[Hashable, WriteOp], fifo: list[WriteOp]) -> bool:
        items: list[tuple[Hashable | None, WriteOp]] = [*keyed.items(), *((None, op) for op in fifo)]
        for index, (_key, op) in enumerate(items):
            try:
                await self._apply([op])
            except StorageUnavailableError:
                self._failed_batches += 1
                rest = items[index:]
                self._requeue({k: o for k, o in rest if k is not None}, [o for k, o in rest if k is None])
                return False
            except Exception:
                log.exception("a storage write failed and was dropped")
                self._note_dropped(1)
            else:
                self._written += 1
                self._batches += 1
        return True

    def _requeue(self, keyed: dict[Hashable, WriteOp], fifo: list[WriteOp]) -> None:
        for key, op in keyed.items():
            # A newer write for the same key, queued while this batch was failing, wins.
            self._keyed.setdefault(key, op)
        self._fifo.extendleft(reversed(fifo))
        self._trim()

    def _trim(self) -> None:
        excess = len(self._fifo) - self._max_queued
        for _ in range(excess):
            self._fifo.popleft()
        if excess > 0:
            self._note_dropped(excess)

    def _note_dropped(self, count: int) -> None:
        self._dropped += count
        self._dropped_unlogged += count
        now = time.monotonic()
        if now - self._last_drop_log >= _DROP_LOG_INTERVAL_S:
            log.warning("storage outbox dropped %d writes (queue full during a database outage, or put after close)",
                        self._dropped_unlogged)
            self._dropped_unlogged = 0
            self._last_drop_log = now


def _runs(ops: list[WriteOp]) -> list[WriteOp | list[StatementOp]]:
    """``ops`` in order, with each run of two or more StatementOps of one statement as a list."""
    out: list[WriteOp | list[StatementOp]] = []
    run: list[StatementOp] = []
    for op in ops:
        if run and not (isinstance(op, StatementOp) and op.statement is run[0].statement):
            out.append(run if len(run) > 1 else run[0])
            run = []
        if isinstance(op, StatementOp):
            run.append(op)
        else:
            out.append(op)
    if run:
        out.append(run if len(run) > 1 else run[0])
    return out
