"""The render worker processes (``voice/worker.py``) and the one connection each engine has to one.

Why processes: in one process, every guild's filters run under one GIL, shared with discord.py's
send threads, the decoder threads and the event loop; numpy hands the GIL over at every array
operation, so ten full filter chains plus all that cannot keep a 20 ms clock on two cores. A
worker process per core has a GIL of its own: the main process keeps only the light work
(reading sources, sending packets, the event loop) and the workers filter and encode in parallel.

Why a connection per engine: the thread that asks for a packet (discord.py's send thread of
that guild) reads the answer itself, so no thread of the main process relays answers or waits
on a worker for another: every extra thread there is one more contender for the GIL when a send
thread wakes up, and a send thread that waits for the GIL sends late. Each engine's socket is
passed to its worker over the worker's control connection (``SCM_RIGHTS``).

Plain subprocesses rather than ``multiprocessing``'s spawn: spawn re-imports the parent's
``__main__`` in the child, which runs whatever script started the bot.
"""

from __future__ import annotations

import atexit
import functools
import gc
import logging
import os
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from multiprocessing.reduction import send_handle

from musicbot.voice.limits import raise_open_file_limit

log = logging.getLogger(__name__)

# Matrices here are a few hundred values: BLAS threads would only spin for them, and each worker
# is meant to take one core.
_SINGLE_THREADED_MATH = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

SWITCH_INTERVAL_S = 0.001
"""``sys.setswitchinterval`` for the bot's process (see ``prepare_for_voice``)."""


class WorkerDied(RuntimeError):
    pass


class WorkerProcess:
    """One render process (``python -m musicbot.voice.worker FD``) and its control connection.

    In the single-file binary (``packaging/``) ``sys.executable`` is the binary itself, whose entry
    point (``musicbot/__main__.py``) takes ``-m musicbot.voice.worker`` as Python would: the same
    command line serves both."""

    def __init__(self) -> None:
        parent, child = socket.socketpair()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "musicbot.voice.worker", str(child.fileno())],
            pass_fds=[child.fileno()],
            env=os.environ | _SINGLE_THREADED_MATH,
        )
        child.close()
        self._control = Connection(parent.detach())
        self._lock = threading.Lock()
        self.stopped = False
        self.engines = 0

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return not self.stopped and self._process.poll() is None

    def ping(self) -> None:
        """Wait until the worker has started (imports done) and answers."""
        with self._lock:
            try:
                self._control.send(("ping",))
                self._control.recv()
            except (EOFError, OSError) as error:
                raise WorkerDied("the render worker did not start") from error

    def connect(self, engine_kwargs: dict[str, object]) -> Connection:
        """A new engine in the worker (``AudioEngine(**engine_kwargs)``) and the connection to it."""
        ours, theirs = socket.socketpair()
        try:
            with self._lock:
                self._control.send(("adopt", engine_kwargs))
                send_handle(self._control, theirs.fileno(), self.pid)
        except OSError as error:
            ours.close()
            raise WorkerDied("the render worker is gone") from error
        finally:
            theirs.close()  # the worker holds its own copy now
        return Connection(ours.detach())

    def stop(self) -> None:
        self.stopped = True
        self._control.close()  # the worker's loop ends when it sees this
        try:
            self._process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:  # stuck in an engine: it ignores SIGTERM (worker.py), so kill
            self._process.kill()


class RenderProcesses:
    """The worker processes. ``start`` them when the bot starts, off the event loop: a worker
    needs a second or so to import numpy and friends, and a stream's first packets would wait."""

    def __init__(self, count: int) -> None:
        self._count = count
        self._workers: list[WorkerProcess] = []
        self._lock = threading.Lock()

    @property
    def started(self) -> bool:
        return bool(self._workers)

    def start(self) -> list[int]:
        """Start the workers (if not yet) and wait until each answers; returns their pids."""
        with self._lock:
            workers = self._started()
        for worker in workers:
            worker.ping()
        return [w.pid for w in workers]

    def connect(self, engine_kwargs: dict[str, object]) -> tuple[WorkerProcess, Connection]:
        """An engine in the live worker with the fewest (workers start here if ``start`` was not
        called), and the connection to it."""
        with self._lock:
            workers = sorted((w for w in self._started() if w.alive), key=lambda w: w.engines)
            for worker in workers:
                try:
                    conn = worker.connect(engine_kwargs)
                except WorkerDied:
                    continue
                worker.engines += 1
                return worker, conn
        raise WorkerDied("no render worker is alive")

    def stop(self) -> None:
        """End the workers (their engines fail over to this process if still used)."""
        with self._lock:
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.stop()

    def _started(self) -> list[WorkerProcess]:
        """Lock held."""
        if not self._workers:
            self._workers = [WorkerProcess() for _ in range(self._count)]
            atexit.register(self.stop)
        return list(self._workers)


@functools.cache
def shared_processes() -> RenderProcesses:
    return RenderProcesses(max(1, os.cpu_count() or 1))


def prepare_for_voice(*, render_workers: bool = True) -> list[int]:
    """``musicbot run`` (and ``benchmarks/voice_load.py``, which measures what it sets up), before
    the event loop runs: what keeps discord.py's send threads on their 20 ms clock. Returns the
    render workers' pids (none when ``render_workers`` is off or on a single core).

    - Filters and encoding go to one render worker per core (starting them blocks ~1 s). On a
      single core there is nothing to gain over rendering in this process.
    - The GIL is handed over every 1 ms instead of 5, so a send thread woken for its packet does
      not wait behind another Python thread for a whole interval.
    - The open-file limit is raised to what the system allows (each engine has a connection).
    - Everything loaded so far (the imported modules: most of the process's objects) is moved
      out of the garbage collector's sight (``gc.freeze``): a full collection walked all of it
      and held the GIL for 50–60 ms, a pause every guild would hear.
    """
    raise_open_file_limit()  # a connection per guild's engine (voice/limits.py)
    pids = shared_processes().start() if render_workers and (os.cpu_count() or 1) >= 2 else []
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    gc.freeze()
    return pids
