"""The render worker process (``python -m musicbot.voice.worker FD``): hosts the ``AudioEngine``s
of ``voice/remote.py``'s ``RemoteEngine``s.

Each engine has a connection of its own (see ``serve``), served one request at a time: the main
process sends settings calls (no answer) and frame requests (one answer each). A frame request
carries the source chunks the main process could read for the stream, and for the track
fading in; the engine reads them from these buffers exactly as it would read the sources.
"""

from __future__ import annotations

import pickle
import selectors
import sys
import threading
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.reduction import recv_handle
from typing import Any

from musicbot.errors import MediaError
from musicbot.sources.decoder import END_OF_STREAM, Chunk, _EndOfStream
from musicbot.voice.engine import AudioEngine
from musicbot.voice.limits import raise_open_file_limit

END_MARK = "end"  # END_OF_STREAM is a singleton: it would not survive pickling
ERROR_MARK = "error"  # ("error", message): the source failed at this point

Item = Any  # a Chunk as (start_sample, pcm, packet), END_MARK or (ERROR_MARK, message) on the wire


class _Buffer:
    """Chunks of one source forwarded by the main process, read by the engine's pull."""

    def __init__(self) -> None:
        self.items: deque[Item] = deque()
        self.ended = False

    def pull(self) -> Chunk | _EndOfStream | None:
        if self.ended:
            return END_OF_STREAM
        if not self.items:
            return None  # nothing forwarded: an underrun, as with an empty decoder buffer
        item = self.items.popleft()
        if isinstance(item, tuple) and len(item) == 3:
            return Chunk(item[0], pcm=item[1], packet=item[2])
        self.ended = True
        if isinstance(item, tuple):
            raise MediaError(item[1])
        return END_OF_STREAM


class _Hosted:
    """One engine and the buffers of its current source ([0]) and of the one fading in ([1])."""

    def __init__(self, engine: AudioEngine) -> None:
        self.engine = engine
        self.buffers = [_Buffer(), _Buffer()]

    def reader(self, index: int) -> Callable[[], Chunk | _EndOfStream | None]:
        def pull() -> Chunk | _EndOfStream | None:
            return self.buffers[index].pull()  # looked up per call: the buffers swap after a crossfade

        return pull

    def call(self, name: str, args: tuple[Any, ...]) -> None:
        if name == "start_track":
            self.buffers = [_Buffer(), _Buffer()]
            self.engine.start_track(packet_mode=args[0])
        elif name == "begin_crossfade":
            self.buffers[1] = _Buffer()
            self.engine.begin_crossfade(self.reader(1), packet_mode=args[0], length_samples=args[1])
        elif name == "cancel_crossfade":
            self.engine.cancel_crossfade()
            self.buffers[1] = _Buffer()
        else:
            getattr(self.engine, name)(*args)

    def frame(self, main: list[Item], incoming: list[Item]) -> tuple[Any, ...]:
        self.buffers[0].items.extend(main)
        self.buffers[1].items.extend(incoming)
        before = [len(b.items) for b in self.buffers]
        error: str | None = None
        packet: bytes | None = None
        try:
            packet = self.engine.next_packet(self.reader(0))
        except Exception as failure:
            error = str(failure) or type(failure).__name__
        consumed = [n - len(b.items) for n, b in zip(before, self.buffers, strict=True)]
        completed = self.engine.take_crossfade_completed()
        if completed:
            self.buffers = [self.buffers[1], _Buffer()]
        stats = self.engine.stats
        # The render time travels with the answer: the main process observes it for /metrics
        # (musicbot/metrics.py says why this rather than prometheus-client's multiprocess mode).
        return (packet, consumed[0], consumed[1], completed, self.engine.crossfading, error,
                (stats.dsp_frames, stats.passthrough_frames, stats.underruns, stats.dsp_seconds),
                self.engine.last_render_s)


def serve(control: Connection) -> None:
    """The worker process's main loop; returns when the main process closes the control connection.

    The control connection brings new engines (their kwargs, then the socket of their own
    connection) and pings; each engine's connection brings its settings calls (unanswered) and
    frame requests (answered), served in the order they arrive."""
    # The filters' libraries (scipy, ~70 MiB) load in the background from the start: loaded by the
    # first engine instead, they stalled every guild's first packets for ~0.5 s (benchmarks/voice_load.py:
    # 135-157 late packets at 0.00 s with 5 guilds). The bot process itself never loads them.
    threading.Thread(target=_load_dsp, name="dsp-preload", daemon=True).start()
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ)
    while True:
        for key, _ in selector.select():
            if key.data is None:
                try:
                    message = control.recv()
                    if message[0] == "adopt":
                        _adopt(control, message[1], selector)
                    else:
                        control.send("pong")
                except (EOFError, OSError):
                    return
            else:
                _serve_engine(key.fileobj, key.data, selector)  # type: ignore[arg-type]


def _load_dsp() -> None:
    import musicbot.dsp.chain
    import musicbot.dsp.limiter
    import musicbot.dsp.loudness  # noqa: F401


def _adopt(control: Connection, engine_kwargs: dict[str, Any], selector: selectors.BaseSelector) -> None:
    """Host a new engine on the connection whose socket follows on the control connection."""
    try:
        engine = Connection(recv_handle(control))
    except RuntimeError:
        # The socket did not arrive (out of file descriptors, say): the main process sees its end
        # of that engine's connection close and renders that stream itself. The others go on.
        print("render worker: could not take an engine's connection", file=sys.stderr, flush=True)
        return
    selector.register(engine, selectors.EVENT_READ, _Hosted(AudioEngine(**engine_kwargs)))


def _serve_engine(conn: Connection, hosted: _Hosted, selector: selectors.BaseSelector) -> None:
    try:
        message = pickle.loads(conn.recv_bytes())
        if message[0] == "frame":
            conn.send_bytes(pickle.dumps(hosted.frame(message[1], message[2]), pickle.HIGHEST_PROTOCOL))
        else:
            hosted.call(message[1], message[2])
    except (EOFError, OSError):  # the engine was closed (or its stream ended with the main process)
        selector.unregister(conn)
        conn.close()


if __name__ == "__main__":
    import gc
    import os

    # The worker has a frame of slack (its packets are rendered one ahead); discord.py's send
    # threads in the main process have none. SCHED_IDLE (no privilege needed) lets the kernel run
    # a waking send thread at once instead of after the worker's time slice; a nice value only
    # shortens that slice (measured with benchmarks/voice_load.py, 10 guilds: p99 jitter 3.3 ms
    # at nice 10, 3.0 at nice 19, 2.1 with SCHED_IDLE). The workers still get every cycle the
    # bot's own threads leave, which is most of the machine.
    if hasattr(os, "sched_setscheduler"):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    else:
        os.nice(19)
    # Everything imported so far lives as long as the process: out of the collector's sight, a
    # full collection only walks what the engines allocated.
    gc.freeze()
    raise_open_file_limit()
    # Ctrl-C in a terminal (and a supervisor signalling the whole group) reaches the workers too;
    # the bot shuts down gracefully and keeps streaming while it does, so the workers leave it to
    # the bot: they end when it closes their control connection (or dies).
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    serve(Connection(int(sys.argv[1])))
