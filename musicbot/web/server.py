"""``/health``, ``/ready`` and ``/metrics`` on ``MUSICBOT_HTTP_PORT`` (aiohttp, on the event loop).

- ``/health``: the process is alive (always 200 while the loop runs).
- ``/ready``: 200 when Discord is connected and the database is usable; a database outage shows
  as ``"degraded"`` (still 200: playback goes on and writes are queued), a closed or never
  opened database as 503. The body says why, for humans and for probes.
- ``/metrics``: Prometheus text format from ``prometheus_client``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from musicbot.storage.database import DatabaseHealth, HealthState

log = logging.getLogger(__name__)


class OpsServer:
    """Serves the three endpoints; ``start``/``stop`` on the event loop."""

    def __init__(
        self,
        *,
        port: int,
        host: str = "0.0.0.0",
        database_health: Callable[[], DatabaseHealth] | None = None,
        discord_ready: Callable[[], bool] = lambda: True,
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self._host, self._port = host, port
        self._database_health = database_health
        self._discord_ready = discord_ready
        self._registry = registry
        self._runner: web.AppRunner | None = None
        app = web.Application()
        app.router.add_get("/health", self._health)
        app.router.add_get("/ready", self._ready)
        app.router.add_get("/metrics", self._metrics)
        self._app = app

    @property
    def port(self) -> int:
        """The bound port (useful when constructed with port 0)."""
        return self._port

    async def start(self) -> None:
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        sockets = getattr(site._server, "sockets", None)  # the real port when asked for port 0
        if sockets:
            self._port = sockets[0].getsockname()[1]
        log.info("health, readiness and metrics on http://%s:%d/", self._host, self._port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _health(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _ready(self, _: web.Request) -> web.Response:
        body: dict[str, Any] = {"discord": "connected" if self._discord_ready() else "connecting"}
        ready = self._discord_ready()
        if self._database_health is not None:
            health = self._database_health()
            body["database"] = health.as_dict()
            ready = ready and health.state is not HealthState.DOWN
        body["status"] = "ready" if ready else "not ready"
        return web.json_response(body, status=200 if ready else 503)

    async def _metrics(self, _: web.Request) -> web.Response:
        return web.Response(body=generate_latest(self._registry), headers={"Content-Type": CONTENT_TYPE_LATEST})
