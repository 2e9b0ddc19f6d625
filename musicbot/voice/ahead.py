"""Rendering the next packet ahead of the send clock.

Why: a filtered packet costs ~1 ms of rendering; done at send time, every guild's render would
delay its own send and the sends after it. Instead each ``Player`` asks for its *next* packet right
after the current one was sent, and takes it at its next slot, 20 ms later: the send itself only
takes a finished packet. One packet ahead keeps the latency of a command at most two packets (the
one already asked for, then the new one).

``SteppedRender`` is that handshake. The render is a generator (``RenderClient.packet_steps``)
that runs on the sender (``voice/sender.py``) up to the point where it waits for a render worker's
answer (its ``yield``) and is finished at the next slot: no thread of this process waits on the
worker in between (``voice/processes.py`` says why). An engine in this process (one core, tests)
answers at once: the sender then renders once every packet of its pass has gone out.

(An earlier design rendered in-process engines on a pool of two threads passing a "baton" so that
only one ran numpy at a time. Render workers made it unused on two or more cores, and on one core
rendering on the sender measured about the same: benchmarks/voice_load.py at ``taskset -c 0``, 8
guilds with the full chain, p99 jitter 0.27 ms with the pool, 0.35 ms on the sender, no packet late
in either; so there is one render path.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator
from typing import TypeVar

# A render normally takes 1–2 ms. Past these, something is badly wrong (a machine far too busy):
# the sender sends silence rather than stall, and cleanup goes on.
TAKE_TIMEOUT_S = 0.5
DRAIN_TIMEOUT_S = 2.0


Ready = Callable[[float | None], bool]
"""What a render yields while another process works for it: ``ready(timeout)`` waits up to
``timeout`` seconds (None: as long as it takes) and tells whether the answer is in."""

T = TypeVar("T")


def run_steps(steps: Generator[Ready, None, T]) -> T:
    """Run a stepped render to its end, waiting at each step."""
    try:
        ready = next(steps)
        while True:
            ready(None)
            ready = steps.send(None)
    except StopIteration as done:
        result: T = done.value
        return result


class SteppedRender:
    """One packet rendered ahead by ``steps``: ``request`` runs it up to its first wait (on the
    consumer's thread, right after it took a packet), ``take`` finishes it at the next turn."""

    def __init__(self, steps: Callable[[], Generator[Ready, None, bytes]]) -> None:
        self._steps = steps
        self._running: Generator[Ready, None, bytes] | None = None
        self._ready: Ready | None = None
        self._result: bytes | None = None  # finished without waiting
        self._error: BaseException | None = None

    def request(self) -> None:
        if self._running is not None or self._result is not None or self._error is not None:
            return
        steps = self._steps()
        try:
            self._ready = next(steps)
            self._running = steps
        except StopIteration as done:
            self._result = done.value
        except Exception as error:  # handed to the consumer at its next take
            self._error = error

    def take(self, timeout: float = TAKE_TIMEOUT_S) -> bytes | None:
        """The packet rendered ahead, or None when none was requested. Re-raises the render's
        error; ``TimeoutError`` if the answer is not in after ``timeout`` (it stays pending)."""
        error, self._error = self._error, None
        if error is not None:
            raise error
        if self._result is not None:
            result, self._result = self._result, None
            return result
        if self._running is None:
            return None
        assert self._ready is not None
        if not self._ready(timeout):
            raise TimeoutError("the packet rendered ahead is late")
        steps, self._running = self._running, None
        try:
            self._ready = steps.send(None)
        except StopIteration as done:
            packet: bytes = done.value
            return packet
        # The render needs another answer (a track ended: the next one's first packet): it is
        # wanted now, so wait for it here.
        self._running = steps
        return self.take(timeout)

    def drain(self, timeout: float = DRAIN_TIMEOUT_S) -> None:
        """Finish a render in flight and drop its result (the sources are about to be closed)."""
        self._result = self._error = None
        if self._running is None:
            return
        with contextlib.suppress(Exception):
            self.take(timeout)
        self._result = self._error = None
