"""``RefillBuffer``: the bounded buffer between a decoder thread and the 20 ms consumer.

Why not ``queue.Queue``: a full ``Queue`` wakes its producer for every item taken (a Condition
notify, a thread switch, the GIL handed over and back), so each playing track's decoder thread
ran 50 times a second to add one 20 ms chunk, and every such wake-up competed with discord.py's
send threads for the GIL. This buffer lets the producer sleep until the consumer has taken a
batch (down to ``refill_at``), then refill it in one go. The batch is small (a tenth of the
buffer, ~3 wake-ups a second) and ``refill_at`` differs a little per buffer: tracks started
together would otherwise refill at the same moments, and ten decoder threads refilling half
their buffers at once held up every send thread for several milliseconds (benchmarks/voice_load.py).

One producer thread and one consumer thread at a time; ``deque`` appends and pops are atomic,
so the fast paths take no lock.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

# How often a waiting producer checks whether it should stop. Only a safety net: ``clear`` (the
# decoder's close) wakes it at once. At 0.1 s, 50 waiting decoder threads woke 500 times a second
# for nothing, a third of their CPU (benchmarks/voice_load.py, passthrough, per thread from /proc).
_WAIT_SLICE_S = 1.0


def spread_refill_point(capacity: int) -> int:
    """A ``refill_at`` for a new buffer: a tenth to a fifth below full, at random."""
    batch = max(1, capacity // 10)
    return max(0, capacity - batch - random.randrange(batch))


class RefillBuffer(Generic[T]):
    def __init__(self, capacity: int, refill_at: int | None = None) -> None:
        self.capacity = capacity
        self._low_water = spread_refill_point(capacity) if refill_at is None else min(refill_at, capacity - 1)
        self._items: deque[T] = deque()
        self._room = threading.Event()  # set when a waiting producer may refill
        self._producer_waiting = False
        self._data = threading.Event()  # set when a waiting blocking reader has something
        self._reader_waiting = False

    def __len__(self) -> int:
        return len(self._items)

    def peek(self) -> T | None:
        """The oldest item, left in place (None when empty)."""
        try:
            return self._items[0]
        except IndexError:
            return None

    # ---------------------------------------------------------------- producer
    def put(self, item: T, stopped: Callable[[], bool]) -> bool:
        """Add ``item``; when full, first wait until the buffer is down to ``refill_at``. False
        (the item dropped) once ``stopped()`` says so."""
        if len(self._items) >= self.capacity:
            self._room.clear()
            self._producer_waiting = True  # then re-check: the consumer may have drained it meanwhile
            while len(self._items) > self._low_water:
                if stopped():
                    return False
                self._room.wait(_WAIT_SLICE_S)
            self._producer_waiting = False
        if stopped():
            return False
        self._items.append(item)
        if self._reader_waiting:
            self._data.set()
        return True

    # ---------------------------------------------------------------- consumer
    def get_nowait(self) -> T | None:
        """The oldest item, or None when the buffer is empty (never blocks)."""
        try:
            item = self._items.popleft()
        except IndexError:
            return None
        if self._producer_waiting and len(self._items) <= self._low_water:
            self._producer_waiting = False
            self._room.set()
        return item

    def get(self, timeout: float | None) -> T | None:
        """The oldest item, waiting up to ``timeout`` seconds for one (None if none came)."""
        item = self.get_nowait()
        if item is not None:
            return item
        self._data.clear()
        self._reader_waiting = True  # then re-check: the producer may have added one meanwhile
        try:
            if not self._items:
                self._data.wait(timeout)
        finally:
            self._reader_waiting = False
        return self.get_nowait()

    def clear(self) -> None:
        """Drop everything buffered and let a waiting producer go on (to see that it must stop)."""
        self._items.clear()
        self._room.set()
