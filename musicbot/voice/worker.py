"""The render worker process (``python -m musicbot.voice.worker FD``): hosts the ``AudioEngine``s
of ``voice/remote.py``'s ``RemoteEngine``s.

It serves one pipe, one request at a time, in the order received: the main process sends
settings calls (no answer) and frame requests (one answer each, in order). A frame request
carries the source chunks the main process could read for the stream, and for the track
fading in; the engine reads them from these buffers exactly as it would read the sources.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from musicbot.errors import MediaError
from musicbot.sources.decoder import END_OF_STREAM, Chunk, _EndOfStream
from musicbot.voice.engine import AudioEngine

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
        return (packet, consumed[0], consumed[1], completed, self.engine.crossfading, error,
                (stats.dsp_frames, stats.passthrough_frames, stats.underruns, stats.dsp_seconds))


def serve(conn: Connection) -> None:
    """The worker process's main loop; returns when the main process closes the pipe."""
    hosted: dict[int, _Hosted] = {}
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        kind, engine_id = message[0], message[1]
        if kind == "frame":
            conn.send(hosted[engine_id].frame(message[2], message[3]))
        elif kind == "call":
            hosted[engine_id].call(message[2], message[3])
        elif kind == "open":
            hosted[engine_id] = _Hosted(AudioEngine(**message[2]))
        elif kind == "close":
            hosted.pop(engine_id, None)
        elif kind == "ping":
            conn.send("pong")


WORKER_NICENESS = 10


if __name__ == "__main__":
    import os
    import sys

    # The worker has a frame of slack (its packets are rendered one ahead); discord.py's send
    # threads in the main process have none. A lower priority lets the kernel run a waking send
    # thread at once instead of after the worker's time slice.
    os.nice(WORKER_NICENESS)
    serve(Connection(int(sys.argv[1])))
