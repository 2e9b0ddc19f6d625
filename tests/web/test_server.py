"""The operations endpoints, over real HTTP on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from prometheus_client import CollectorRegistry, Counter

from musicbot.storage import Database
from musicbot.storage.database import DatabaseHealth, HealthState
from musicbot.web.server import OpsServer


async def get(server: OpsServer, path: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{server.port}{path}") as resp:
        return resp.status, resp.headers["Content-Type"], await resp.text()


async def test_health_and_ready_with_a_real_database(tmp_path: Path) -> None:
    db = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    server = OpsServer(port=0, host="127.0.0.1", database_health=db.health)
    await server.start()
    try:
        assert (await get(server, "/health"))[0] == 200
        status, _, body = await get(server, "/ready")
        assert status == 200 and '"state": "ok"' in body and '"status": "ready"' in body
        await db.close()
        status, _, body = await get(server, "/ready")
        assert status == 503 and '"state": "down"' in body
    finally:
        await server.stop()


async def test_an_outage_is_reported_as_degraded_but_ready() -> None:
    since = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
    outage = DatabaseHealth(HealthState.DEGRADED, "postgresql", since, "connection refused", since, 12, 0)
    server = OpsServer(port=0, host="127.0.0.1", database_health=lambda: outage)
    await server.start()
    try:
        status, _, body = await get(server, "/ready")
        assert status == 200
        assert '"state": "degraded"' in body and "connection refused" in body and '"pending_writes": 12' in body
    finally:
        await server.stop()


async def test_not_ready_until_discord_connects_and_metrics_are_prometheus_text() -> None:
    registry = CollectorRegistry()
    Counter("musicbot_frames_sent", "Opus packets sent", registry=registry).inc(3)
    server = OpsServer(port=0, host="127.0.0.1", discord_ready=lambda: False, registry=registry)
    await server.start()
    try:
        assert (await get(server, "/ready"))[0] == 503
        status, content_type, body = await get(server, "/metrics")
        assert status == 200 and content_type.startswith("text/plain")
        assert "musicbot_frames_sent_total 3.0" in body
    finally:
        await server.stop()
