"""TTL caches for lookups, with in-flight de-duplication.

Ten people pasting the same link within a second must cause one yt-dlp extraction, not ten:
a lookup that is already running is awaited by every caller asking for the same key.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from cachetools import TLRUCache, TTLCache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

SEARCH_TTL_S = 300.0
METADATA_TTL_S = 3600.0


class AsyncTtlCache(Generic[K, V]):
    """A ``cachetools.TTLCache`` plus a table of lookups in flight, used from the event loop only.

    Failures are not cached: the next caller tries again. ``ttl_for`` gives a value its own time to
    live (an answer "nothing found" kept for less time than a hit); without it every value has ``ttl_s``.
    """

    def __init__(self, ttl_s: float, maxsize: int = 1024, *, timer: Callable[[], float] = time.monotonic,
                 ttl_for: Callable[[V], float] | None = None) -> None:
        self._values: TTLCache[K, V] | TLRUCache[K, V] = (
            TTLCache(maxsize=maxsize, ttl=ttl_s, timer=timer) if ttl_for is None
            else TLRUCache(maxsize=maxsize, ttu=lambda _key, value, now: now + ttl_for(value), timer=timer))
        self._in_flight: dict[K, asyncio.Future[V]] = {}
        self.fetches = 0
        """How many times ``fetch`` was really called (tests and metrics read it)."""

    async def get(self, key: K, fetch: Callable[[], Awaitable[V]]) -> V:
        """Return the cached value for ``key``, or await ``fetch()`` once for all concurrent callers."""
        try:
            return self._values[key]
        except KeyError:
            pass
        pending = self._in_flight.get(key)
        if pending is not None:
            # shield: one caller being cancelled must not cancel the lookup the others wait for
            return await asyncio.shield(pending)
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        self.fetches += 1
        try:
            value = await fetch()
        except BaseException as err:
            if isinstance(err, Exception):
                future.set_exception(err)
            else:
                future.cancel()
            future.exception() if not future.cancelled() else None  # mark retrieved: no "never retrieved" log
            raise
        else:
            self._values[key] = value
            future.set_result(value)
            return value
        finally:
            del self._in_flight[key]

    def invalidate(self, key: K) -> None:
        self._values.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __len__(self) -> int:
        return len(self._values)
