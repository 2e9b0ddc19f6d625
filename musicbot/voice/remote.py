"""``RemoteEngine``: an ``AudioEngine`` that runs in a render worker process (``voice/worker.py``).

Why: in one process, every guild's filters run under one GIL, shared with discord.py's send
threads, the decoder threads and the event loop; numpy hands the GIL over at every array
operation, so ten full filter chains plus all that cannot keep a 20 ms clock on two cores.
A worker process per core has a GIL of its own: the main process keeps only the light work
(reading sources, sending packets, the event loop) and the workers do the filtering and
encoding in parallel.

The ``Player`` uses it exactly like an ``AudioEngine``. Settings go to the worker in order,
unanswered; ``next_packet`` forwards the chunks the source has ready (a few ahead, so the
worker rarely runs dry) and waits for the packet. If a worker dies, its engines carry on in
this process with the same settings (only the few chunks in flight are lost: one silent frame).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import itertools
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from musicbot.dsp.frame import FRAME_SAMPLES
from musicbot.dsp.params import IDENTITY_SETTINGS, FilterSettings
from musicbot.errors import MediaError
from musicbot.sources.decoder import END_OF_STREAM, Chunk, _EndOfStream
from musicbot.voice.ahead import RenderPool, outside_baton
from musicbot.voice.crossfade import MAX_CROSSFADE_S
from musicbot.voice.engine import DEFAULT_TARGET_LUFS, MAX_PLAYER_VOLUME, OPUS_SILENCE, AudioEngine, EngineStats
from musicbot.voice.worker import END_MARK, ERROR_MARK, Item

log = logging.getLogger(__name__)

Pull = Callable[[], Chunk | _EndOfStream | None]
PREFETCH = 3  # chunks forwarded beyond what the last frame needed: 60 ms the worker can draw on


# Matrices here are a few hundred values: BLAS threads would only spin for them, and each worker
# is meant to take one core.
_SINGLE_THREADED_MATH = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class WorkerDied(RuntimeError):
    pass


class _Reply:
    """One answer to wait for: a lock taken at creation and released when the answer is in (a
    lighter latch than an Event, which builds a Condition per wait)."""

    def __init__(self) -> None:
        self._latch = threading.Lock()
        self._latch.acquire()
        self.value: Any = None

    def set(self, value: Any) -> None:
        self.value = value
        self._latch.release()

    def wait(self) -> Any:
        self._latch.acquire()
        return self.value


class WorkerProcess:
    """One render process (``python -m musicbot.voice.worker``) and its socket. Any thread may
    ``post`` or ``ask``; answers come back in the order asked, read by a thread of its own.

    A plain subprocess rather than ``multiprocessing``'s spawn: spawn re-imports the parent's
    ``__main__`` in the child, which runs whatever script started the bot."""

    def __init__(self) -> None:
        parent, child = socket.socketpair()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "musicbot.voice.worker", str(child.fileno())],
            pass_fds=[child.fileno()],
            env=os.environ | _SINGLE_THREADED_MATH,
        )
        child.close()
        self._conn = Connection(parent.detach())
        self._lock = threading.Lock()
        self._waiting: list[_Reply] = []
        self.alive = True
        self.engines = 0
        threading.Thread(target=self._read, name="render-worker-reader", daemon=True).start()

    def post(self, message: tuple[Any, ...]) -> None:
        with self._lock:
            if self.alive:
                self._send(message)

    def ask(self, message: tuple[Any, ...]) -> Any:
        reply = _Reply()
        with self._lock:
            if not self.alive:
                raise WorkerDied("the render worker is gone")
            self._waiting.append(reply)
            self._send(message)
        value = reply.wait()
        if isinstance(value, WorkerDied):
            raise value
        return value

    def _send(self, message: tuple[Any, ...]) -> None:
        try:
            self._conn.send(message)
        except (OSError, ValueError):
            self._fail()

    def _read(self) -> None:
        while True:
            try:
                value = self._conn.recv()
            except (EOFError, OSError):
                with self._lock:
                    self._fail()
                return
            with self._lock:
                reply = self._waiting.pop(0)
            reply.set(value)

    @property
    def pid(self) -> int:
        return self._process.pid

    def stop(self) -> None:
        with self._lock:
            self.alive = False
        self._conn.close()
        self._process.terminate()

    def _fail(self) -> None:
        """Lock held."""
        if self.alive:  # not when stopped on purpose
            log.error("render worker process %s died; its streams continue in the main process", self._process.pid)
        self.alive = False
        for reply in self._waiting:
            reply.set(WorkerDied("the render worker is gone"))
        self._waiting.clear()




class RenderProcesses:
    """The worker processes (spawned: the bot's threads must not be forked). ``start`` them when
    the bot starts, off the event loop: a worker needs a second or so to import numpy and
    friends, and a stream's first packets would wait for that."""

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
            worker.ask(("ping", 0))
        return [w.pid for w in workers]

    def assign(self) -> WorkerProcess:
        """The live worker with the fewest engines (workers start here if ``start`` was not called)."""
        with self._lock:
            worker = min((w for w in self._started() if w.alive), key=lambda w: w.engines, default=None)
            if worker is None:
                raise WorkerDied("no render worker is alive")
            worker.engines += 1
            return worker

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


SWITCH_INTERVAL_S = 0.001
"""``sys.setswitchinterval`` for the bot's process (set at start, see ``musicbot.cli``)."""


def start_render_processes() -> bool:
    """At bot start, before the event loop runs (it blocks ~1 s): start one render worker per
    core, so that every ``Player`` created afterwards renders in them. On a single core there is
    nothing to gain over rendering in this process: returns False and starts nothing."""
    if (os.cpu_count() or 1) < 2:
        return False
    shared_processes().start()
    return True


@functools.cache
def remote_render_pool() -> RenderPool:
    """Player-side threads for remote engines: each waits for its worker's answer, so a few more
    than there are workers keep every worker busy."""
    return RenderPool(2 * max(1, os.cpu_count() or 1), name="render-remote")


@dataclass
class _Stream:
    outstanding: int = 0  # forwarded, not yet read by the worker's engine
    last_read: int = 1
    ended: bool = False


class RemoteEngine:
    """``AudioEngine``'s interface as the ``Player`` uses it; the work is done in a worker process."""

    _ids = itertools.count(1)

    def __init__(
        self,
        filters: FilterSettings = IDENTITY_SETTINGS,
        *,
        volume: float = 1.0,
        normalize: bool = True,
        target_lufs: float = DEFAULT_TARGET_LUFS,
        processes: RenderProcesses | None = None,
    ) -> None:
        self._filters, self._volume, self._normalize, self._target = filters, volume, normalize, target_lufs
        self.crossfade_samples = 0
        self.stats = EngineStats()
        self._id = next(self._ids)
        self._packet_mode = False
        self._streams = [_Stream(), _Stream()]  # the current source, the one fading in
        self._incoming: Pull | None = None
        self._incoming_packet_mode = False
        self._crossfading = False
        self._completed = False
        self._local: AudioEngine | None = None
        try:
            self._worker: WorkerProcess | None = (processes or shared_processes()).assign()
            self._worker.post(("open", self._id, self._engine_kwargs()))
        except WorkerDied:
            self._fail_over()

    # ------------------------------------------------------------------ settings (any order, applied in order)
    @property
    def filters(self) -> FilterSettings:
        return self._filters

    @property
    def volume(self) -> float:
        return self._volume

    def set_filters(self, settings: FilterSettings) -> None:
        self._filters = settings
        self._call("set_filters", settings)

    def set_volume(self, volume: float) -> None:
        if not 0.0 <= volume <= MAX_PLAYER_VOLUME:
            raise ValueError(f"volume must be 0–{MAX_PLAYER_VOLUME:g}, got {volume}")
        self._volume = volume
        self._call("set_volume", volume)

    def set_normalization(self, enabled: bool, target_lufs: float | None = None) -> None:
        self._normalize = enabled
        self._target = self._target if target_lufs is None else target_lufs
        self._call("set_normalization", enabled, target_lufs)

    def set_crossfade(self, seconds: float) -> None:
        if not 0.0 <= seconds <= MAX_CROSSFADE_S:
            raise ValueError(f"crossfade must be 0–{MAX_CROSSFADE_S:g} s, got {seconds}")
        self.crossfade_samples = round(seconds * 48_000)
        self._call("set_crossfade", seconds)

    def start_track(self, *, packet_mode: bool) -> None:
        self._packet_mode = packet_mode
        self._streams = [_Stream(), _Stream()]
        self._incoming, self._crossfading, self._completed = None, False, False
        self._call("start_track", packet_mode)

    @property
    def unread_samples(self) -> int:
        """Source audio read from the current track and forwarded, not yet used by the worker."""
        return self._streams[0].outstanding * FRAME_SAMPLES if self._local is None else 0

    # ------------------------------------------------------------------ crossfade
    @property
    def crossfading(self) -> bool:
        return self._local.crossfading if self._local is not None else self._crossfading

    def begin_crossfade(self, pull: Pull, *, packet_mode: bool, length_samples: int) -> None:
        if self._local is not None:
            self._local.begin_crossfade(pull, packet_mode=packet_mode, length_samples=length_samples)
            return
        self._incoming, self._streams[1], self._crossfading = pull, _Stream(), True
        self._incoming_packet_mode = packet_mode
        self._call("begin_crossfade", packet_mode, length_samples)

    def hurry_crossfade(self) -> None:
        self._call("hurry_crossfade")

    def cancel_crossfade(self) -> None:
        self._incoming, self._streams[1] = None, _Stream()
        self._call("cancel_crossfade")

    def take_crossfade_completed(self) -> bool:
        if self._local is not None:
            return self._local.take_crossfade_completed()
        completed, self._completed = self._completed, False
        return completed

    # ------------------------------------------------------------------ output
    def next_packet(self, pull: Pull) -> bytes | None:
        """The next packet, rendered by the worker (the caller's render baton is lent out meanwhile)."""
        if self._local is not None:
            return self._local.next_packet(pull)
        main = self._forward(self._streams[0], pull)
        incoming = self._forward(self._streams[1], self._incoming) if self._incoming is not None else []
        assert self._worker is not None
        try:
            with outside_baton():
                reply = self._worker.ask(("frame", self._id, main, incoming))
        except WorkerDied:
            self._fail_over()
            return OPUS_SILENCE
        packet, read_main, read_incoming, completed, crossfading, error, stats = reply
        self._streams[0].outstanding -= read_main
        self._streams[0].last_read = read_main
        self._streams[1].outstanding -= read_incoming
        self._streams[1].last_read = read_incoming
        if completed:
            self._streams = [self._streams[1], _Stream()]
            self._packet_mode = self._incoming_packet_mode
            self._incoming, self._completed = None, True
        self._crossfading = crossfading
        self.stats = EngineStats(*stats)
        if error is not None:
            raise MediaError(error)
        result: bytes | None = packet
        return result

    def _forward(self, stream: _Stream, pull: Pull) -> list[Item]:
        """Read what the source has ready, up to what the worker may need for the next frame."""
        items: list[Item] = []
        want = PREFETCH + 2 * stream.last_read  # a time-stretch may read two chunks a frame
        while not stream.ended and stream.outstanding + len(items) < want:
            try:
                item = pull()
            except Exception as error:
                items.append((ERROR_MARK, str(error) or type(error).__name__))
                stream.ended = True
                break
            if item is None:
                break
            if item is END_OF_STREAM:
                items.append(END_MARK)
                stream.ended = True
                break
            assert isinstance(item, Chunk)
            items.append((item.start_sample, item.pcm, item.packet))  # a tuple pickles far faster
        stream.outstanding += len(items)
        return items

    # ------------------------------------------------------------------ plumbing
    def _engine_kwargs(self) -> dict[str, Any]:
        return {"filters": self._filters, "volume": self._volume, "normalize": self._normalize,
                "target_lufs": self._target}

    def _call(self, name: str, *args: Any) -> None:
        if self._local is not None:
            if name == "start_track":
                self._local.start_track(packet_mode=args[0])
            elif name == "begin_crossfade":
                pass  # handled in begin_crossfade
            else:
                getattr(self._local, name)(*args)
        elif self._worker is not None:
            self._worker.post(("call", self._id, name, args))

    def _fail_over(self) -> None:
        """Carry on in this process with the same settings; the current track resumes from the
        next chunk its source has (what was in flight is lost)."""
        self._worker = None
        self._local = AudioEngine(**self._engine_kwargs())
        self._local.set_crossfade(self.crossfade_samples / 48_000)
        self._local.start_track(packet_mode=self._packet_mode)
        self._incoming, self._crossfading = None, False

    def close(self) -> None:
        """Free the worker's engine (the session is gone)."""
        if self._worker is not None:
            self._worker.post(("close", self._id))
            self._worker.engines -= 1
            self._worker = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter shutdown the worker goes anyway
            self.close()
