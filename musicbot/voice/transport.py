"""How a ``RenderClient`` (``voice/render_client.py``) reaches its engine: in a render worker
process over the engine's own connection (``WorkerTransport``), or in this process
(``LocalTransport``: single core, tests, and a stream whose worker died).

A render is asked for in two steps (``render``, a generator): the request goes out, the generator
yields a ``Ready`` that tells whether the answer is in, and when resumed it reads the reply. The
local transport answers at once and never yields.
"""

from __future__ import annotations

import logging
import pickle
import select
import threading
from collections.abc import Generator
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Protocol

from musicbot.voice.ahead import Ready
from musicbot.voice.protocol import EngineCommand, EngineConfig, RenderReply, RenderRequest

if TYPE_CHECKING:
    from musicbot.voice.host import EngineHost
    from musicbot.voice.processes import WorkerProcess

log = logging.getLogger(__name__)

RenderSteps = Generator[Ready, None, RenderReply | None]
"""A render in flight; returns None when the transport is gone (the worker died)."""


class Transport(Protocol):
    def send(self, command: EngineCommand) -> bool:
        """Apply ``command`` in order before the next render; False when the transport is gone."""

    def render(self, request: RenderRequest) -> RenderSteps: ...

    def close(self) -> None: ...


class LocalTransport:
    """The engine in this process: commands applied and packets rendered in the calling thread."""

    def __init__(self, config: EngineConfig) -> None:
        from musicbot.voice.engine import AudioEngine  # loads the filters (scipy): only when rendering here
        from musicbot.voice.host import EngineHost

        self.host: EngineHost = EngineHost(AudioEngine.from_config(config))

    def send(self, command: EngineCommand) -> bool:
        self.host.apply(command)
        return True

    def render(self, request: RenderRequest) -> RenderSteps:
        return self.host.render(request)
        yield  # a generator that finishes without waiting

    def close(self) -> None:
        pass


class WorkerTransport:
    """The engine in a render worker process, on a connection of its own (``voice/processes.py``
    says why). Sends are locked (``close`` may come from another thread); one thread renders."""

    def __init__(self, worker: WorkerProcess, conn: Connection) -> None:
        self._worker: WorkerProcess | None = worker
        self._conn: Connection | None = conn
        self._lock = threading.Lock()
        # select.poll registered once: Connection.poll builds a selector on every call.
        self._poller = select.poll()
        self._poller.register(conn.fileno(), select.POLLIN)

    @property
    def pid(self) -> int | None:
        return None if self._worker is None else self._worker.pid

    @property
    def stopped_on_purpose(self) -> bool:
        return self._worker is None or self._worker.stopped

    def send(self, command: EngineCommand | RenderRequest) -> bool:
        with self._lock:
            if self._conn is None:
                return False
            try:
                # pickle.dumps + send_bytes: Connection.send builds a ForkingPickler per message
                self._conn.send_bytes(pickle.dumps(command, pickle.HIGHEST_PROTOCOL))
            except (OSError, ValueError):
                return False
            return True

    def render(self, request: RenderRequest) -> RenderSteps:
        conn = self._conn
        if conn is None or not self.send(request):
            return None
        yield self._answered
        try:
            reply: RenderReply = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return None
        return reply

    def _answered(self, timeout: float | None) -> bool:
        return bool(self._poller.poll(None if timeout is None else timeout * 1000))

    def close(self) -> None:
        """Free the worker's engine: the worker drops an engine whose connection closed."""
        with self._lock:
            conn, self._conn = self._conn, None
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.release()
        if conn is not None:
            conn.close()
