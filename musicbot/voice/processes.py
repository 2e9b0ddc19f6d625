"""The render worker processes (``voice/worker.py``) and the connection to each (``WorkerChannel``).

Why processes: in one process, every guild's filters run under one GIL, shared with the sender,
the decoder threads and the event loop; numpy hands the GIL over at every array
operation, so ten full filter chains plus all that cannot keep a 20 ms clock on two cores. A
worker process per core has a GIL of its own: the main process keeps only the light work
(reading sources, sending packets, the event loop) and the workers filter and encode in parallel.

One render connection per worker, shared by its engines (``voice/channel.py`` says why it carries
batches). The thread that asks for a packet (the sender, ``voice/sender.py``) reads the answer
itself, so no thread of the main process relays answers: every extra thread there is one more
contender for the GIL when the sender wakes up, and a sender that waits for the GIL sends late.
The render connection's socket is passed to the worker over its control connection
(``SCM_RIGHTS``), which keeps the worker's command line to one file descriptor.

Plain subprocesses rather than ``multiprocessing``'s spawn: spawn re-imports the parent's
``__main__`` in the child, which runs whatever script started the bot.

When: a worker starts when a stream needs one (the first guild to play starts the first worker;
another starts when every worker carries ``STREAMS_PER_WORKER`` streams, up to one per core) and the
workers stop once no stream has used them for ``IDLE_STOP_S``: an idle bot holds no render process,
and a few guilds share one (each worker is ~75 MiB resident, a stream in it ~3 MiB). The start does not block:
the engine's request waits in its socket while the worker imports (about a second, while the
voice connection and the track's source open).
"""

from __future__ import annotations

import atexit
import gc
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.reduction import send_handle
from typing import TYPE_CHECKING

from musicbot.voice.channel import WorkerChannel
from musicbot.voice.limits import raise_open_file_limit
from musicbot.voice.protocol import AdoptEngine, EngineConfig, Ping

if TYPE_CHECKING:
    from musicbot.voice.transport import WorkerTransport

log = logging.getLogger(__name__)

# Matrices here are a few hundred values: BLAS threads would only spin for them, and each worker
# is meant to take one core.
_SINGLE_THREADED_MATH = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

SWITCH_INTERVAL_S = 0.001
"""``sys.setswitchinterval`` for the bot's process (see ``prepare_for_voice``)."""
STREAMS_PER_WORKER = 8
"""Streams a worker takes before another starts: a full filter chain costs ~1 ms of its 20 ms per
frame (docs/benchmarks.md), so 8 use under half a core and are answered well within their frame;
a second worker for the second guild would cost ~75 MiB for nothing."""
IDLE_STOP_S = 60.0
"""Workers no stream used for this long stop (a guild's next track usually comes sooner)."""


class WorkerDied(RuntimeError):
    pass


class WorkerProcess:
    """One render process (``python -m musicbot.voice.worker FD``) and its control connection.

    In the single-file binary (``packaging/``) ``sys.executable`` is the binary itself, whose entry
    point (``musicbot/__main__.py``) takes ``-m musicbot.voice.worker`` as Python would: the same
    command line serves both."""

    def __init__(self, on_released: Callable[[], None] = lambda: None) -> None:
        parent, child = socket.socketpair()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "musicbot.voice.worker", str(child.fileno())],
            pass_fds=[child.fileno()],
            env=os.environ | _SINGLE_THREADED_MATH,
        )
        child.close()
        self._control = Connection(parent.detach())
        ours, theirs = socket.socketpair()
        try:
            send_handle(self._control, theirs.fileno(), self.pid)  # the worker reads it first
        except OSError:
            pass  # it died at once: the channel's first send or read finds it gone
        finally:
            theirs.close()  # the worker holds its own copy now
        self.channel = WorkerChannel(Connection(ours.detach()))
        self._lock = threading.Lock()
        self.stopped = False
        self.engines = 0
        self._on_released = on_released

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return not self.stopped and not self.channel.closed and self._process.poll() is None

    def ping(self) -> None:
        """Wait until the worker has started (imports done) and answers."""
        with self._lock:
            try:
                self._control.send(Ping())
                self._control.recv()
            except (EOFError, OSError) as error:
                raise WorkerDied("the render worker did not start") from error

    def adopt(self, config: EngineConfig) -> int:
        """A new engine in the worker (it builds it once started); its id on ``channel``."""
        engine = self.channel.open_engine()
        if not self.channel.post(engine, AdoptEngine(config)):
            self.channel.forget(engine)
            raise WorkerDied("the render worker is gone")
        return engine

    def release(self) -> None:
        """One of its engines was closed."""
        self.engines -= 1
        self._on_released()

    def stop(self) -> None:
        self.stopped = True
        self._control.close()  # the worker's loop ends when it sees this
        self.channel.close()
        try:
            self._process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:  # stuck in an engine: it ignores SIGTERM (worker.py), so kill
            self._process.kill()


class RenderProcesses:
    """The worker processes, up to ``count``: started as streams need them, stopped when idle."""

    def __init__(self, count: int, *, idle_stop_s: float = IDLE_STOP_S,
                 streams_per_worker: int = STREAMS_PER_WORKER) -> None:
        self._count = count
        self._idle_stop_s = idle_stop_s
        self._streams_per_worker = streams_per_worker
        self._workers: list[WorkerProcess] = []
        self._lock = threading.Lock()
        self._idle_timer: threading.Timer | None = None
        atexit.register(self.stop)

    @property
    def pids(self) -> list[int]:
        return [w.pid for w in self._workers if w.alive]

    def start(self) -> list[int]:
        """Start every worker now and wait until each answers (benchmarks and tests that measure
        streams, not start-up); returns their pids."""
        with self._lock:
            while len(self._live()) < self._count:
                self._workers.append(WorkerProcess(self._released))
            workers = self._live()
        for worker in workers:
            worker.ping()
        return [w.pid for w in workers]

    def connect(self, config: EngineConfig) -> WorkerTransport:
        """An engine in the live worker with the fewest, or in a new one when every worker carries
        ``streams_per_worker`` (while a core has none)."""
        from musicbot.voice.transport import WorkerTransport

        with self._lock:
            self._cancel_idle_stop()
            workers = sorted(self._live(), key=lambda w: w.engines)
            full = not workers or workers[0].engines >= self._streams_per_worker
            if full and len(workers) < self._count:
                workers.insert(0, WorkerProcess(self._released))
                self._workers.append(workers[0])
            for worker in workers:
                try:
                    engine = worker.adopt(config)
                except WorkerDied:
                    continue
                worker.engines += 1
                return WorkerTransport(worker, engine)
        raise WorkerDied("no render worker is alive")

    def _live(self) -> list[WorkerProcess]:
        """Lock held. Drops the dead."""
        self._workers = [w for w in self._workers if w.alive]
        return list(self._workers)

    def _released(self) -> None:
        with self._lock:
            if any(w.engines for w in self._workers) or self._idle_timer is not None:
                return
            self._idle_timer = threading.Timer(self._idle_stop_s, self._stop_if_idle)
            self._idle_timer.daemon = True
            self._idle_timer.start()

    def _cancel_idle_stop(self) -> None:
        """Lock held."""
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def _stop_if_idle(self) -> None:
        with self._lock:
            self._idle_timer = None
            if any(w.engines for w in self._workers):
                return
            workers, self._workers = self._workers, []
        if workers:
            log.info("render workers stopped: no stream for %.0f s", self._idle_stop_s)
        for worker in workers:
            worker.stop()

    def stop(self) -> None:
        """End the workers (their engines fail over to this process if still used)."""
        with self._lock:
            self._cancel_idle_stop()
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.stop()


def prepare_for_voice(*, render_workers: bool = True) -> RenderProcesses | None:
    """``musicbot run`` (and ``benchmarks/voice_load.py``, which measures what it sets up), before
    the event loop runs: what keeps the sender on its 20 ms clock. Returns the
    render workers to render in (``render_client.in_workers``), none when ``render_workers`` is
    off or on a single core, where there is nothing to gain over rendering in this process.

    - The workers themselves start when the first stream needs one.
    - The GIL is handed over every 1 ms instead of 5, so the sender woken for its packets does
      not wait behind another Python thread for a whole interval.
    - The open-file limit is raised to what the system allows (each guild holds a few).
    - Everything loaded so far (the imported modules: most of the process's objects) is moved
      out of the garbage collector's sight (``gc.freeze``): a full collection walked all of it
      and held the GIL for 50–60 ms, a pause every guild would hear.
    """
    raise_open_file_limit()  # sources' files and sockets, per guild (voice/limits.py)
    cores = os.cpu_count() or 1
    processes = RenderProcesses(cores) if render_workers and cores >= 2 else None
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    gc.freeze()
    return processes
