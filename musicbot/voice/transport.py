"""How a ``RenderClient`` (``voice/render_client.py``) reaches its engine: in a render worker
process over the worker's channel (``WorkerTransport``, ``voice/channel.py``), or in this process
(``LocalTransport``: single core, tests, and a stream whose worker died).

A render is asked for in two steps (``render``, a generator): the request goes out, the generator
yields a ``Ready`` that tells whether the answer is in, and when resumed it reads the reply. The
local transport answers at once and never yields.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Generator
from typing import TYPE_CHECKING, Protocol

from musicbot.voice.ahead import Ready
from musicbot.voice.protocol import DropEngine, EngineCommand, EngineConfig, RenderReply, RenderRequest

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
    """The engine ``engine`` in a render worker process, reached over the worker's channel (shared
    with its other engines; ``voice/channel.py``). Posts may come from any thread (``close``); one
    thread renders."""

    def __init__(self, worker: WorkerProcess, engine: int) -> None:
        self._worker: WorkerProcess | None = worker
        self._channel = worker.channel
        self._engine = engine
        self._closing = threading.Lock()

    @property
    def pid(self) -> int | None:
        return None if self._worker is None else self._worker.pid

    @property
    def stopped_on_purpose(self) -> bool:
        return self._worker is None or self._worker.stopped

    def send(self, command: EngineCommand) -> bool:
        return self._worker is not None and self._channel.post(self._engine, command)

    def render(self, request: RenderRequest) -> RenderSteps:
        if self._worker is None or not self._channel.post(self._engine, request):
            return None
        yield self._answered
        return self._channel.take(self._engine)

    def _answered(self, timeout: float | None) -> bool:
        return self._channel.answered(self._engine, timeout)

    def close(self) -> None:
        """Free the worker's engine."""
        with self._closing:
            worker, self._worker = self._worker, None
        if worker is None:
            return
        self._channel.post(self._engine, DropEngine())
        self._channel.forget(self._engine)
        worker.release()
