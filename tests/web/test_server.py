"""The operations endpoints, over real HTTP on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from prometheus_client import CollectorRegistry, Counter

from musicbot.storage import Database
from musicbot.storage.database import DatabaseHealth, HealthState
from musicbot.web.server import OpsServer, Readiness, ShardStatus


async def get(server: OpsServer, path: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{server.port}{path}") as resp:
        return resp.status, resp.headers["Content-Type"], await resp.text()


async def get_json(server: OpsServer, path: str) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{server.port}{path}") as resp:
        return resp.status, await resp.json()


async def test_health_and_ready_with_a_real_database(tmp_path: Path) -> None:
    db = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    server = OpsServer(port=0, readiness=lambda: Readiness(discord_ready=True, database=db.health()))
    await server.start()
    try:
        assert (await get(server, "/health"))[0] == 200
        status, body = await get_json(server, "/ready")
        assert status == 200 and body["status"] == "ready" and body["waiting_for"] == []
        assert body["database"] == db.health().as_dict() and body["database"]["state"] == "ok"  # type: ignore[index]
        await db.close()
        status, body = await get_json(server, "/ready")
        assert status == 503 and body["waiting_for"] == ["database"] and body["database"]["state"] == "down"  # type: ignore[index]
    finally:
        await server.stop()


async def test_an_outage_is_reported_as_degraded_but_ready() -> None:
    since = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
    outage = DatabaseHealth(HealthState.DEGRADED, "postgresql", since, "connection refused", since, 12, 0)
    server = OpsServer(port=0, readiness=lambda: Readiness(discord_ready=True, database=outage))
    await server.start()
    try:
        status, _, body = await get(server, "/ready")
        assert status == 200
        assert '"state": "degraded"' in body and "connection refused" in body and '"pending_writes": 12' in body
    finally:
        await server.stop()


async def test_ready_says_what_it_waits_for_and_each_shard() -> None:
    state = Readiness(discord_ready=False, database=None,
                      shards={0: ShardStatus(connected=True, latency_s=0.0412), 1: ShardStatus(False, None)})
    server = OpsServer(port=0, readiness=lambda: state)
    await server.start()
    try:
        assert (await get(server, "/health"))[0] == 200  # alive, whatever it waits for
        status, body = await get_json(server, "/ready")
        assert status == 503
        assert body["status"] == "not ready" and body["waiting_for"] == ["discord", "database"]
        assert body["discord"] == "connecting" and body["database"] == {"state": "opening"}
        assert body["shards"] == {"0": {"state": "connected", "latency_ms": 41.2},
                                  "1": {"state": "connecting", "latency_ms": None}}
        state = Readiness(discord_ready=True, database=None, stopping=True)
        status, body = await get_json(server, "/ready")
        assert status == 503 and body["waiting_for"] == ["shutdown", "database"] and body["discord"] == "shutting down"
    finally:
        await server.stop()


async def test_metrics_are_prometheus_text_with_the_registry_and_collectors_given() -> None:
    registry = CollectorRegistry()
    Counter("musicbot_frames_sent", "Opus packets sent", registry=registry).inc(3)
    extra = CollectorRegistry()
    Counter("musicbot_other", "another collector", registry=extra).inc(2)
    server = OpsServer(port=0, registry=registry, collectors=[extra])
    await server.start()
    try:
        status, content_type, body = await get(server, "/metrics")
        assert status == 200 and content_type.startswith("text/plain")
        assert "musicbot_frames_sent_total 3.0" in body and "musicbot_other_total 2.0" in body
    finally:
        await server.stop()


async def test_binds_the_host_it_is_given() -> None:
    server = OpsServer(port=0, host="127.0.0.2")  # all of 127/8 is loopback on Linux
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.2:{server.port}/health") as resp:
                assert resp.status == 200
            try:
                async with http.get(f"http://127.0.0.1:{server.port}/health") as resp:
                    reached_elsewhere = True
            except aiohttp.ClientConnectionError:
                reached_elsewhere = False
        assert not reached_elsewhere
    finally:
        await server.stop()
