"""``FakeService``: the shared body of the fakes of outside services (LRCLIB, SponsorBlock): an aiohttp
server on 127.0.0.1 that records every request and can go down in the ways real services do.

``mode``: ``"up"`` answers; ``"error"`` answers 503; ``"stall"`` never answers (the client's timeout is
what ends the request); ``await fake.stop()`` refuses connections altogether (``base_url`` keeps the port,
so a client pointed at it sees "connection refused").
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

Mode = Literal["up", "error", "stall"]

# For bots under test that are not about the outside services: their lookups go to a closed local port
# (refused at once), never to lrclib.net or SponsorBlock. Tests of the services use the fakes' base_url.
OFFLINE_LOOKUPS = {"MUSICBOT_LYRICS_API": "http://127.0.0.1:9", "MUSICBOT_SPONSORBLOCK_API": "http://127.0.0.1:9"}


@dataclass(frozen=True)
class ServiceRequest:
    path: str
    query: dict[str, str]


def json_answer(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(body).encode(), status=status, headers={"Content-Type": "application/json"})


class FakeService:
    def __init__(self) -> None:
        self.requests: list[ServiceRequest] = []
        self.mode: Mode = "up"
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._stalled: asyncio.Event = asyncio.Event()  # set at stop: stalled requests end then
        self.app = web.Application()
        self.app.router.add_get("/{tail:.*}", self._handle)

    async def start(self) -> FakeService:
        self._runner = web.AppRunner(self.app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self._stalled = asyncio.Event()
        return self

    async def stop(self) -> None:
        self._stalled.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def calls(self, path_prefix: str = "") -> list[ServiceRequest]:
        return [r for r in self.requests if r.path.startswith(path_prefix)]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(ServiceRequest(request.path, dict(request.query)))
        if self.mode == "error":
            return json_answer({"message": "fake: down for maintenance"}, 503)
        if self.mode == "stall":
            await self._stalled.wait()
            return json_answer({"message": "fake: too late"}, 504)
        return self.answer(request.path, dict(request.query))

    def answer(self, path: str, query: dict[str, str]) -> web.Response:
        raise NotImplementedError
