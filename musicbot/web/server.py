"""``/health``, ``/ready`` and ``/metrics`` on ``MUSICBOT_HTTP_HOST:MUSICBOT_HTTP_PORT`` (aiohttp, on the
event loop). The bot starts this server before it logs in to Discord (``bot/client.py``), so a
probe gets an answer from the first second, whatever Discord and the database are doing.

- ``/health``: the process is alive (always 200 while the loop runs).
- ``/ready``: 200 when Discord is connected and the database is usable, else 503. The body says what
  is awaited (``"waiting_for": ["discord", "database"]``), the state of each shard and of the
  database. A database outage shows as ``"degraded"`` (still 200: playback goes on and writes are
  queued); a database not yet open, or closed, as awaited. Shutting down is not ready.
- ``/metrics``: Prometheus text format: ``musicbot/metrics.py``'s metrics, prometheus-client's
  process metrics, and the scrape-time collectors given (the bot's state).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from musicbot.storage.database import DatabaseHealth, HealthState
from musicbot.web.dashboard import Dashboard

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ShardStatus:
    connected: bool
    latency_s: float | None  # None before the first heartbeat is answered


@dataclass(frozen=True, slots=True)
class Readiness:
    """What ``/ready`` reports, read from the bot at each request (event loop)."""

    discord_ready: bool  # every shard connected and READY received
    database: DatabaseHealth | None  # None: not open yet (it is opened after the login)
    shards: Mapping[int, ShardStatus] = field(default_factory=dict)
    stopping: bool = False
    starting: bool = False  # the process is still loading the bot (before any client exists)
    web_only: bool = False  # ``musicbot web``: no gateway, no database of its own; ready once serving
    # The Telegram bridge's state in the process that runs it (``telegram/bridge.py``): shown, never a
    # reason to be unready (readiness is about Discord and the database).
    telegram: Mapping[str, Any] | None = None

    @property
    def waiting_for(self) -> list[str]:
        """What keeps the bot from being ready, in the order it is set up."""
        waiting = ["shutdown"] if self.stopping else ["start-up"] if self.starting else []
        if self.web_only:
            return waiting
        if not self.discord_ready:
            waiting.append("discord")
        if self.database is None or self.database.state is HealthState.DOWN:
            waiting.append("database")
        return waiting

    @property
    def ready(self) -> bool:
        return not self.waiting_for

    def as_dict(self) -> dict[str, Any]:
        if self.web_only:
            return {"status": "ready" if self.ready else "not ready", "waiting_for": self.waiting_for, "role": "web"}
        discord = "shutting down" if self.stopping else "connected" if self.discord_ready else "connecting"
        return {
            "status": "ready" if self.ready else "not ready",
            "waiting_for": self.waiting_for,
            "discord": discord,
            "shards": {
                str(shard): {"state": "connected" if status.connected else "connecting",
                             "latency_ms": None if status.latency_s is None else round(status.latency_s * 1000, 1)}
                for shard, status in sorted(self.shards.items())
            },
            "database": {"state": "opening"} if self.database is None else self.database.as_dict(),
            **({} if self.telegram is None else {"telegram": dict(self.telegram)}),
        }


class _Including(Collector):
    """Another registry's metrics, as one collector of this server's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        return iter(self._registry.collect())


class OpsServer:
    """Serves the three endpoints; ``start``/``stop`` on the event loop.

    ``readiness`` is asked at each ``/ready``; ``registry`` (prometheus-client's default, which
    ``musicbot/metrics.py`` fills) and ``collectors`` (per bot: its state) make ``/metrics``."""

    def __init__(
        self,
        *,
        port: int,
        host: str = "127.0.0.1",
        readiness: Callable[[], Readiness] = lambda: Readiness(discord_ready=True, database=None),
        registry: CollectorRegistry = REGISTRY,
        collectors: Iterable[Collector] = (),
        dashboard: Dashboard | None = None,
    ) -> None:
        self._host, self._port = host, port
        self._readiness = readiness
        self._registry = CollectorRegistry()
        self._registry.register(_Including(registry))
        for collector in collectors:
            self._registry.register(collector)
        self._runner: web.AppRunner | None = None
        app = web.Application(client_max_size=64 * 1024)  # no request here needs more (the dashboard's included)
        app.router.add_get("/health", self._health)
        app.router.add_get("/ready", self._ready)
        app.router.add_get("/metrics", self._metrics)
        # The dashboard's login and API (web/dashboard.py); its routes answer "off" until configured.
        self.dashboard = dashboard or Dashboard(None)
        self.dashboard.install(app)
        self._app = app

    @property
    def port(self) -> int:
        """The bound port (useful when constructed with port 0)."""
        return self._port

    def attach(self, readiness: Callable[[], Readiness], collectors: Iterable[Collector] = ()) -> None:
        """Serve this state from now on: the server starts before the bot it reports on exists
        (``bot/lifecycle.py``), so ``/health`` answers while the bot is still loading."""
        self._readiness = readiness
        for collector in collectors:
            self._registry.register(collector)

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
        readiness = self._readiness()
        return web.json_response(readiness.as_dict(), status=200 if readiness.ready else 503)

    async def _metrics(self, _: web.Request) -> web.Response:
        return web.Response(body=generate_latest(self._registry), headers={"Content-Type": CONTENT_TYPE_LATEST})
