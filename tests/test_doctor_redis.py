"""``musicbot doctor`` with ``REDIS_URL``: Redis reachable, and which of the bot's processes it hears from
(their heartbeats), against the real Redis of this machine under a prefix of the test's own."""

from __future__ import annotations

import os
import secrets

import pytest
import redis.asyncio

from musicbot.cluster import NodeInfo, RedisBus
from musicbot.doctor import Status
from musicbot.doctor_net import check_redis
from musicbot.web.dashboard_ops import KINDS, OPS

REDIS_URL = os.environ.get("MUSICBOT_TEST_REDIS", "redis://127.0.0.1:6379/0")


async def reachable() -> None:
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (OSError, redis.RedisError) as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {REDIS_URL} is not reachable: {err} (CI=true: the Redis tests must run)")
        pytest.skip(f"Redis at {REDIS_URL} is not reachable: {err}")
    finally:
        await client.aclose()


async def test_doctor_says_which_processes_redis_hears_from() -> None:
    await reachable()
    prefix = f"musicbot:test-{secrets.token_hex(4)}:"
    alone = await check_redis(REDIS_URL, prefix)
    assert alone.status is Status.OK and "no musicbot process is running on it now" in alone.detail
    bus = RedisBus(REDIS_URL, ops=OPS, errors=KINDS, prefix=prefix)
    await bus.start(NodeInfo.new("bot", 2, (0, 1)))
    try:
        running = await check_redis(REDIS_URL, prefix)
    finally:
        await bus.stop()
    assert running.status is Status.OK
    assert "1 bot process(es) running shards [0, 1], 0 web process(es)" in running.detail


async def test_doctor_names_an_unreachable_redis_without_its_password() -> None:
    result = await check_redis("redis://:hunter2@127.0.0.1:1/0", "musicbot:", timeout_s=2.0)
    assert result.status is Status.FAIL and "cannot reach Redis at redis://:***@127.0.0.1:1/0" in result.detail
    assert "hunter2" not in result.line() and "REDIS_URL" in result.fix
