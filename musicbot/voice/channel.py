"""``WorkerChannel``: the one connection between this process and a render worker, shared by the
engines in it, and ``batched``: what one pass of the sender asks of a worker goes as one message.

Why batches: a message per packet woke the worker once for every packet of every guild it
renders (25 transcoding guilds: ~1,250 wake-ups a second over two workers), and a worker woken
from idle renders a frame far slower than one kept busy: caches cold, the core clocked down (an
engine rendering a 20 ms transcode frame after each 0.8 ms nap measured ~470 µs of CPU a frame,
~300 µs back to back; ``docs/benchmarks.md``). The sender (``voice/sender.py``) asks for every
due connection's next packet at the end of its pass, inside ``batched()``: the requests of that
pass go to each worker in one message, the worker renders them in one wake-up and answers them
in one message (a long batch in a few, ``voice/worker.py``'s ``REPLY_EVERY_S``), and the first
connection of the next pass to read its answer reads the others' as well.

Why still no relaying thread: the thread that waits for an answer reads the worker's reply itself
(whoever reads first stores the replies of the others, keyed by engine), so no extra thread of
the main process contends for the GIL when the sender wakes (``voice/processes.py``).
"""

from __future__ import annotations

import contextlib
import itertools
import pickle
import select
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection

from musicbot.voice.protocol import RenderReply, WorkerMessage

_batching = threading.local()


@contextlib.contextmanager
def batched() -> Iterator[None]:
    """Messages posted to render workers on this thread within the block go out when it ends, one
    message per worker (a wait for an answer sends what is pending at once)."""
    if getattr(_batching, "channels", None) is not None:  # already in one: the outer block sends
        yield
        return
    channels: list[WorkerChannel] = []
    _batching.channels = channels
    try:
        yield
    finally:
        _batching.channels = None
        for channel in channels:
            channel.flush()


class WorkerChannel:
    """The render connection to one worker: messages for its engines go out in batches (posted
    from any thread, in order), their replies come back in one message per batch."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._ids = itertools.count(1)
        self._send_lock = threading.Lock()
        self._outbox: list[tuple[int, WorkerMessage]] = []
        self._read_lock = threading.Lock()
        self._replies: dict[int, RenderReply] = {}
        self._engines: set[int] = set()
        # select.poll registered once: Connection.poll builds a selector on every call.
        self._poller = select.poll()
        self._poller.register(conn.fileno(), select.POLLIN)
        self.closed = False  # the worker is gone, or the channel was closed

    def open_engine(self) -> int:
        """A new engine's id on this channel (its replies are kept from now on)."""
        engine = next(self._ids)
        self._engines.add(engine)
        return engine

    def forget(self, engine: int) -> None:
        """The engine was closed: a reply still in flight for it is dropped when it comes."""
        self._engines.discard(engine)
        self._replies.pop(engine, None)

    # ------------------------------------------------------------------ to the worker
    def post(self, engine: int, message: WorkerMessage) -> bool:
        """Send ``message`` for ``engine``: now, or inside ``batched()`` when the block ends. False
        when the worker is known to be gone."""
        with self._send_lock:
            if self.closed:
                return False
            self._outbox.append((engine, message))
            first = len(self._outbox) == 1
        channels: list[WorkerChannel] | None = getattr(_batching, "channels", None)
        if channels is None:
            return self.flush()
        if first and self not in channels:
            channels.append(self)
        return True

    def flush(self) -> bool:
        """Send what was posted and not sent yet, as one message."""
        with self._send_lock:
            if self.closed:
                return False
            if not self._outbox:
                return True
            batch, self._outbox = self._outbox, []
            try:
                self._conn.send_bytes(pickle.dumps(batch, pickle.HIGHEST_PROTOCOL))
            except (OSError, ValueError):
                self.closed = True
                return False
        return True

    # ------------------------------------------------------------------ from the worker
    def answered(self, engine: int, timeout: float | None) -> bool:
        """Whether ``engine``'s reply is in, waiting up to ``timeout`` seconds (None: as long as it
        takes); also True once the worker is gone or the engine closed (``take`` then gives None)."""
        if engine in self._replies:
            return True
        self.flush()  # its request may still be waiting for the end of a batch
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._read_lock.acquire(timeout=-1 if timeout is None else timeout):
            return engine in self._replies
        try:
            while engine not in self._replies and not self.closed and engine in self._engines:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                if not self._poller.poll(None if remaining is None else remaining * 1000):
                    return False
                self._read()
            return True
        finally:
            self._read_lock.release()

    def take(self, engine: int) -> RenderReply | None:
        """``engine``'s reply, waiting for it; None when the worker is gone (or the engine closed)."""
        self.answered(engine, None)
        return self._replies.pop(engine, None)

    def _read(self) -> None:
        """Read lock held: one reply message, its replies stored by engine."""
        try:
            replies: list[tuple[int, RenderReply]] = pickle.loads(self._conn.recv_bytes())
        except (EOFError, OSError):
            self.closed = True  # the worker is gone
            return
        for engine, reply in replies:
            if engine in self._engines:
                self._replies[engine] = reply

    def close(self) -> None:
        with self._send_lock:
            self.closed = True
            self._outbox = []
        self._conn.close()
