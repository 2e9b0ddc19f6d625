"""Rendering the next packet ahead of discord.py's send clock, on a small shared pool of threads.

Why: discord.py gives every voice connection its own player thread, which calls ``read()``
and sends the result at once. Rendering a filtered packet costs ~1–2 ms of mostly GIL-holding
numpy work; with ten guilds, ten send threads each rendering at their send time fight for
the one GIL, every numpy call hands it to another thread, and packets leave late and in bursts.
Instead each ``Player`` renders its *next* packet right after handing out the current one, on
this pool: the send thread then only takes a finished packet (microseconds), and the GIL-heavy
work is done by a few threads that are not on anyone's clock. One packet ahead keeps the
latency of a command at most two packets (the one already rendered, then the new one).

Only one pool thread runs Python/numpy at a time: it holds the *baton* while it renders and
lends it out only around the Opus encoder, which runs in C without the GIL (``outside_baton``).
Two threads both inside numpy would hand the GIL back and forth at every array operation
(numpy releases it around each loop over more than 500 elements), each hand-off a pair of
context switches, and render fewer frames together than one thread alone. With the baton the
second core encodes while the first filters.

``RenderSlot`` is one player's handshake with the pool: at most one render in flight, its
result (or exception) collected by the next ``read()``.

``SteppedRender`` is the same handshake without a pool, for a render done in a render worker
process (``voice/remote.py``): the render runs on the consumer's thread up to the point where it
waits for the worker's answer (a generator's ``yield``), and is finished at the next ``read()``.
No thread of this process waits on the worker in between (``voice/processes.py`` says why).
"""

from __future__ import annotations

import contextlib
import functools
import os
import queue
import threading
from collections.abc import Callable, Generator, Iterator
from typing import TypeVar

RENDER_THREADS = max(1, min(2, os.cpu_count() or 1))
"""Two keep a core busy with numpy while the other thread is inside libopus (which releases
the GIL); more threads would only pass the GIL around more often."""


_baton = threading.Lock()
_holding = threading.local()


@contextlib.contextmanager
def outside_baton() -> Iterator[None]:
    """Around a call that releases the GIL for long (libopus): let another pool thread render
    meanwhile. A no-op on threads that do not hold the baton (discord.py's, ``musicbot render``)."""
    if not getattr(_holding, "baton", False):
        yield
        return
    _baton.release()
    _holding.baton = False
    try:
        yield
    finally:
        _baton.acquire()
        _holding.baton = True


# A render normally takes 1–2 ms. Past these, something is badly wrong (a machine far too busy):
# the send thread plays silence rather than stall discord.py, and cleanup goes on.
TAKE_TIMEOUT_S = 0.5
DRAIN_TIMEOUT_S = 2.0


class RenderPool:
    """Daemon threads that run render jobs in the order they were submitted (any thread submits)."""

    def __init__(self, threads: int = RENDER_THREADS, *, name: str = "render") -> None:
        self._threads = threads
        self._name = name
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._started = False
        self._start_lock = threading.Lock()

    def submit(self, job: Callable[[], None]) -> None:
        """Queue ``job``; it must not raise (``RenderSlot`` catches for its renders)."""
        if not self._started:
            self._start()
        self._jobs.put(job)

    def _start(self) -> None:
        with self._start_lock:
            if self._started:
                return
            for i in range(self._threads):
                threading.Thread(target=self._work, name=f"{self._name}-{i}", daemon=True).start()
            self._started = True

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            with _baton:
                _holding.baton = True
                try:
                    job()
                finally:
                    _holding.baton = False


@functools.cache
def shared_pool() -> RenderPool:
    """The process's pool: every player shares it, so the thread count stays fixed however many
    guilds play."""
    return RenderPool()


class RenderSlot:
    """One packet rendered ahead. ``request`` is called by the consumer after taking a packet;
    ``take`` by the consumer at its next turn. One consumer thread at a time (discord.py's player)."""

    def __init__(self, pool: RenderPool, render: Callable[[], bytes]) -> None:
        self._pool = pool
        self._render = render
        self._done = threading.Event()
        self._pending = False  # a render was requested and not yet taken
        self._result: bytes = b""
        self._error: BaseException | None = None

    def request(self) -> None:
        if self._pending:
            return
        self._pending = True
        self._done.clear()
        self._pool.submit(self._run)

    def take(self, timeout: float = TAKE_TIMEOUT_S) -> bytes | None:
        """The packet rendered ahead (waiting for it if its render is still running; normally it
        finished long before), or None when none was requested. Re-raises the render's error;
        ``TimeoutError`` if it is not done in ``timeout`` (it stays pending for the next call)."""
        if not self._pending:
            return None
        if not self._done.wait(timeout):
            raise TimeoutError("the packet rendered ahead is late")
        self._pending = False
        error, self._error = self._error, None
        if error is not None:
            raise error
        return self._result

    def drain(self, timeout: float = DRAIN_TIMEOUT_S) -> None:
        """Wait for a render in flight and drop its result (the sources are about to be closed)."""
        # Still running after the timeout: it stays pending, so that no second render of the
        # same player can start while it runs; the next ``take`` collects it.
        if self._pending and self._done.wait(timeout):
            self._pending = False
            self._error = None

    def _run(self) -> None:
        try:
            self._result = self._render()
        except BaseException as error:  # handed to the consumer; the pool thread lives on
            self._error = error
        finally:
            self._done.set()


Ready = Callable[[float | None], bool]
"""What a render yields while another process works for it: ``ready(timeout)`` waits up to
``timeout`` seconds (None: as long as it takes) and tells whether the answer is in."""

T = TypeVar("T")


def run_steps(steps: Generator[Ready, None, T]) -> T:
    """Run a stepped render to its end, waiting at each step. (Never on a pool thread: a player
    whose engine renders in a worker uses ``SteppedRender``, so no baton is held here.)"""
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
        except Exception as error:  # handed to the consumer, as a pool render's would be
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
