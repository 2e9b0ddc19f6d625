"""Every bus test runs twice: on ``LocalBus``es sharing one ``LocalHub``, and on ``RedisBus``es against
the real Redis (``MUSICBOT_TEST_REDIS``, default redis://127.0.0.1:6379/0), as separate "processes"
of one cluster.

Each Redis test gets a key prefix of its own (``musicbot:test-<hex>:``), so it never sees or touches
anyone else's keys and channels; its keys are deleted at the end. When Redis is unreachable the
Redis cases are skipped, except under ``CI=true``, where they fail: CI must run them.

Nothing here waits for a fixed time: a test polls (``eventually``) with a generous limit.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import pytest
import redis
import redis.asyncio

from musicbot.cluster import Handlers, LocalBus, LocalHub, NodeInfo, Ops, RedisBus, TransportBus
from musicbot.cluster.transport import Keys, LocalTransport
from tests.cluster.toy import KINDS, OPS, ToyBot

REDIS_URL = os.environ.get("MUSICBOT_TEST_REDIS", "redis://127.0.0.1:6379/0")
BACKENDS = ["local", "redis"]
HEARTBEAT_S = 0.25
EXPIRY_S = 1.5  # six missed heartbeats: a loaded test machine does not lose a live node
SHARD_COUNT = 2
LIMIT_S = 15.0

T = TypeVar("T")


def guild_on(shard: int, n: int = 1) -> int:
    """A guild id that Discord puts on ``shard`` of ``SHARD_COUNT``."""
    return ((n * SHARD_COUNT + shard) << 22) | 12345


async def eventually(check: Callable[[], Awaitable[T]], what: str, limit_s: float = LIMIT_S) -> T:
    """Poll ``check`` until it returns something true; fail naming ``what`` after ``limit_s``."""
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > end:
            pytest.fail(f"Not within {limit_s:.0f} s: {what}")
        await asyncio.sleep(0.02)


async def until(predicate: Callable[[], object], what: str, limit_s: float = LIMIT_S) -> None:
    """``eventually`` for a plain predicate (something this process sees, such as a list filled)."""

    async def check() -> object:
        return predicate()

    await eventually(check, what, limit_s)


@pytest.fixture(scope="session")
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except (redis.RedisError, OSError) as err:
        message = f"Redis at {REDIS_URL} is not reachable: {err}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true: the Redis tests must run)")
        pytest.skip(message)
    finally:
        client.close()
    return REDIS_URL


class Cluster:
    """The processes of one test's cluster; stopped (and their keys deleted) when the test ends."""

    def __init__(self, backend: str, url: str | None) -> None:
        self.backend = backend
        self.url = url  # where the test itself reaches Redis (raw messages, clean-up)
        self.bus_url = url  # where the cluster's processes do (a test may put a relay between)
        # A hub is this test's alone: its buses keep the default names there.
        self.keys = Keys(f"musicbot:test-{secrets.token_hex(4)}:") if url is not None else Keys()
        self.hub = LocalHub()
        self.buses: list[TransportBus] = []

    def bus(self, ops: Ops = OPS) -> TransportBus:
        bus: TransportBus
        if self.bus_url is None:
            bus = LocalBus(self.hub, ops=ops, errors=KINDS, heartbeat_s=HEARTBEAT_S, expiry_s=EXPIRY_S)
        else:
            bus = RedisBus(self.bus_url, ops=ops, errors=KINDS, prefix=self.keys.prefix, heartbeat_s=HEARTBEAT_S,
                           expiry_s=EXPIRY_S)
        self.buses.append(bus)
        return bus

    async def bot(self, *shard_ids: int, ops: Ops = OPS,
                  handlers: Handlers | None = None) -> tuple[TransportBus, ToyBot]:
        """A bot process running ``shard_ids``, serving the toy's handlers."""
        bus = self.bus(ops)
        toy = ToyBot(NodeInfo.new("bot", SHARD_COUNT, shard_ids, http="127.0.0.1:8080"))
        await bus.serve(handlers if handlers is not None else toy.handlers())
        await bus.start(toy.node)
        return bus, toy

    async def web(self, ops: Ops = OPS) -> TransportBus:
        bus = self.bus(ops)
        await bus.start(NodeInfo.new("web", SHARD_COUNT))
        return bus

    async def publish_raw(self, channel: str, data: bytes) -> None:
        """Bytes on a channel as another (broken, older, newer) process would send them."""
        if self.url is None:
            await LocalTransport(self.hub).publish(channel, data)
            return
        client = redis.asyncio.Redis.from_url(self.url)
        try:
            await client.publish(channel, data)
        finally:
            await client.aclose()

    async def close(self) -> None:
        for bus in self.buses:
            await bus.stop()
        if self.url is not None:
            client = redis.asyncio.Redis.from_url(self.url)
            try:
                keys = [key async for key in client.scan_iter(match=f"{self.keys.prefix}*")]
                if keys:
                    await client.delete(*keys)
            finally:
                await client.aclose()


@pytest.fixture(params=BACKENDS)
async def cluster(request: pytest.FixtureRequest) -> AsyncIterator[Cluster]:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    made = Cluster(request.param, url)
    try:
        yield made
    finally:
        await made.close()


@pytest.fixture
async def redis_cluster(redis_url: str) -> AsyncIterator[Cluster]:
    made = Cluster("redis", redis_url)
    try:
        yield made
    finally:
        await made.close()


def kill(bus: TransportBus) -> None:
    """What a killed process does to the cluster: its heartbeat stops (no stop(), no goodbye)."""
    assert bus.node is not None
    name = f"musicbot-heartbeat:{bus.node.node_id}"
    tasks = [task for task in asyncio.all_tasks() if task.get_name() == name]
    assert tasks, f"no task {name}"
    for task in tasks:
        task.cancel()
