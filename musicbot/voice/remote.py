"""``RemoteEngine``: an ``AudioEngine`` that runs in a render worker process (``voice/worker.py``,
started by ``voice/processes.py``, which says why).

The ``Player`` uses it like an ``AudioEngine``. Settings go to the worker in order, unanswered.
A packet is asked for in two steps (``packet_steps``): the chunks the source has ready are
forwarded (a few ahead, so the worker rarely runs dry) with the request, and the answer is read
later, by the same thread, from the engine's own connection: discord.py's send thread asks right
after taking a packet and reads the answer at its next turn, 20 ms later, never waiting on the
worker in between. If a worker dies, its engines carry on in this process with the same settings
(only the few chunks in flight are lost: one silent frame).
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import select
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from musicbot.dsp.frame import FRAME_SAMPLES
from musicbot.dsp.params import IDENTITY_SETTINGS, FilterSettings
from musicbot.errors import MediaError
from musicbot.sources.decoder import END_OF_STREAM, Chunk, _EndOfStream
from musicbot.voice.ahead import Ready, run_steps
from musicbot.voice.crossfade import MAX_CROSSFADE_S
from musicbot.voice.engine import DEFAULT_TARGET_LUFS, MAX_PLAYER_VOLUME, OPUS_SILENCE, AudioEngine, EngineStats
from musicbot.voice.processes import RenderProcesses, WorkerDied, WorkerProcess, shared_processes
from musicbot.voice.worker import END_MARK, ERROR_MARK, Item

log = logging.getLogger(__name__)

Pull = Callable[[], Chunk | _EndOfStream | None]
PREFETCH = 3  # chunks forwarded beyond what the last frame needed: 60 ms the worker can draw on

PacketSteps = Generator[Ready, None, bytes | None]


@dataclass
class _Stream:
    outstanding: int = 0  # forwarded, not yet read by the worker's engine
    last_read: int = 1
    ended: bool = False


class RemoteEngine:
    """``AudioEngine``'s interface as the ``Player`` uses it; the work is done in a worker process.

    One thread at a time renders (asks for packets); settings may come from another (the
    connection's sends are locked)."""

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
        self._last_render_s = 0.0
        self._packet_mode = False
        self._streams = [_Stream(), _Stream()]  # the current source, the one fading in
        self._incoming: Pull | None = None
        self._incoming_packet_mode = False
        self._crossfading = False
        self._completed = False
        self._local: AudioEngine | None = None
        self._send_lock = threading.Lock()
        self._worker: WorkerProcess | None = None
        self._conn: Connection | None = None
        # select.poll registered once: Connection.poll builds a selector on every call.
        self._poller = select.poll()
        try:
            self._worker, self._conn = (processes or shared_processes()).connect(self._engine_kwargs())
            self._poller.register(self._conn.fileno(), select.POLLIN)
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
    @property
    def last_render_s(self) -> float:
        """Engine time of the last packet, measured in the worker (or here after a fail-over)."""
        return self._local.last_render_s if self._local is not None else self._last_render_s

    def next_packet(self, pull: Pull) -> bytes | None:
        """The next packet, waiting for the worker to render it."""
        return run_steps(self.packet_steps(pull))

    def packet_steps(self, pull: Pull) -> PacketSteps:
        """``next_packet`` in two steps: the request goes out, then (after the one yield, when the
        caller resumes the generator) the answer is read. The yielded ``ready`` tells whether
        the answer is in without reading it."""
        if self._local is not None:
            return self._local.next_packet(pull)
        main = self._forward(self._streams[0], pull)
        incoming = self._forward(self._streams[1], self._incoming) if self._incoming is not None else []
        conn = self._conn
        if conn is None or not self._send(("frame", main, incoming)):
            self._fail_over()
            return OPUS_SILENCE
        yield self._answered
        try:
            reply = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            self._fail_over()
            return OPUS_SILENCE
        return self._take_reply(reply)

    def _answered(self, timeout: float | None) -> bool:
        return bool(self._poller.poll(None if timeout is None else timeout * 1000))

    def _take_reply(self, reply: tuple[Any, ...]) -> bytes | None:
        packet, read_main, read_incoming, completed, crossfading, error, stats, render_s = reply
        self._last_render_s = render_s
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
        elif not self._send(("call", name, args)):
            self._fail_over()

    def _send(self, message: tuple[Any, ...]) -> bool:
        """False when the worker is gone."""
        with self._send_lock:
            if self._conn is None:
                return False
            try:
                # pickle.dumps + send_bytes: Connection.send builds a ForkingPickler per message
                self._conn.send_bytes(pickle.dumps(message, pickle.HIGHEST_PROTOCOL))
            except (OSError, ValueError):
                return False
            return True

    def _fail_over(self) -> None:
        """Carry on in this process with the same settings; the current track resumes from the
        next chunk its source has (what was in flight is lost)."""
        if self._worker is not None and not self._worker.stopped:  # not when stopped on purpose
            log.error("render worker process %s is gone; a stream continues in the main process", self._worker.pid)
        self._close_connection()
        self._local = AudioEngine(**self._engine_kwargs())
        self._local.set_crossfade(self.crossfade_samples / 48_000)
        self._local.start_track(packet_mode=self._packet_mode)
        self._incoming, self._crossfading = None, False

    def close(self) -> None:
        """Free the worker's engine (the session is gone): the worker drops an engine whose
        connection closed."""
        self._close_connection()

    def _close_connection(self) -> None:
        with self._send_lock:
            conn, self._conn = self._conn, None
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.engines -= 1
        if conn is not None:
            conn.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter shutdown the worker goes anyway
            self.close()
