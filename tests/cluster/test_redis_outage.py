"""Redis going away: at start it is one clear error naming REDIS_URL; later, processes keep running,
callers hear "try again shortly", and everything resumes by itself when Redis is back."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from musicbot.cluster import (
    BusUnreachableError,
    GuildChanged,
    GuildEntry,
    GuildList,
    GuildUnavailableError,
    NodeInfo,
    RedisBus,
    redis_transport,
)
from musicbot.cluster.messages import utc_now
from tests.cluster.conftest import SHARD_COUNT, Cluster, eventually, guild_on, until
from tests.cluster.proxy import RedisRelay
from tests.cluster.toy import ECHO, OPS, Say


@pytest.fixture
async def relay(redis_url: str) -> AsyncIterator[RedisRelay]:
    parts = urlsplit(redis_url)
    made = RedisRelay(parts.hostname or "127.0.0.1", parts.port or 6379)
    await made.start()
    try:
        yield made
    finally:
        await made.cut()


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


async def test_redis_unreachable_at_start_is_one_clear_error_naming_redis_url(relay: RedisRelay) -> None:
    await relay.cut()  # nothing listens there now
    url = f"redis://:hunter2@127.0.0.1:{relay.listen_port}/0"
    bus = RedisBus(url, ops=OPS)

    with pytest.raises(BusUnreachableError) as unreachable:
        await bus.start(NodeInfo.new("bot", SHARD_COUNT, (0,)))
    message = str(unreachable.value)
    assert message.startswith(f"Redis at REDIS_URL (redis://:***@127.0.0.1:{relay.listen_port}/0) is not reachable")
    assert "hunter2" not in message
    assert "without REDIS_URL the bot runs as one process" in message
    assert bus.node is None  # not half started: start() may be tried again


async def test_a_redis_url_that_is_not_one_says_how_to_write_it() -> None:
    with pytest.raises(BusUnreachableError, match=r"REDIS_URL is not a Redis address .* redis://host:6379/0"):
        await RedisBus("http://127.0.0.1:6379", ops=OPS).start(NodeInfo.new("web", SHARD_COUNT))


async def test_an_outage_is_survived_and_everything_resumes_when_redis_is_back(
        relay: RedisRelay, redis_cluster: Cluster, caplog: pytest.LogCaptureFixture) -> None:
    redis_cluster.bus_url = relay.url  # the cluster's processes reach Redis through the relay
    b_bus, b = await redis_cluster.bot(1)
    web = await redis_cluster.web()
    heard: list[GuildChanged] = []
    await web.watch_changes(heard.append)
    assert (await web.call(guild_on(1), ECHO, Say("before"))).text == "before"
    studio = GuildList(shard_count=SHARD_COUNT, guilds=[GuildEntry(guild_on(1), "Studio", None, True)],
                       written_at=utc_now())

    with caplog.at_level(logging.WARNING, logger="musicbot.cluster"):
        await relay.cut()

        with pytest.raises(GuildUnavailableError, match="try again shortly"):
            await web.call(guild_on(1), ECHO, Say("during"))
        with pytest.raises(BusUnreachableError, match=r"REDIS_URL \(redis://127\.0\.0\.1:\d+/0\) is not reachable"):
            await web.nodes()
        own = await b_bus.call(guild_on(1), ECHO, Say("own"))  # a bot still serves its own guilds' callers
        assert own.node_id == b.node.node_id
        await b_bus.publish_changed(GuildChanged(guild_id=guild_on(1), shard=1, what="lost"))  # logged, not raised
        await b_bus.put_guild_list(1, studio)  # held back until Redis is back
        await until(lambda: any("cannot reach the bus" in w for w in warnings_of(caplog)), "the heartbeat's warning")
        await until(lambda: any("Lost the Redis connection" in w for w in warnings_of(caplog)), "the listener's")

        await relay.start()

        async def answered() -> bool:
            try:
                return (await web.call(guild_on(1), ECHO, Say("after"))).text == "after"
            except GuildUnavailableError:
                return False

        await eventually(answered, "the web node's calls are answered by the bot again")

        async def listed() -> bool:
            return await web.guild_lists() == {1: studio}

        await eventually(listed, "the guild list held back during the outage is written")

        change = GuildChanged(guild_id=guild_on(1), shard=1, what="back")

        async def change_heard() -> bool:  # pub/sub keeps nothing: publish until the listener is back
            await b_bus.publish_changed(change)
            return change in heard

        await eventually(change_heard, "changes reach the web node again")
        await until(lambda: any("Redis is reachable again" in w for w in warnings_of(caplog)), "the listener's")
        await until(lambda: any("reaches the bus again" in w for w in warnings_of(caplog)), "the heartbeat's")

    assert [c.what for c in heard if c.what == "lost"] == []
    assert b.node.node_id in [n.node_id for n in await web.nodes()]
    outage_warnings = [w for w in warnings_of(caplog) if "Lost the Redis connection" in w]
    assert len(outage_warnings) <= 2  # once per listening process and outage, not once per retry


async def test_a_listening_connection_that_went_silent_is_noticed_and_replaced(
        relay: RedisRelay, redis_cluster: Cluster, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """No error, no close: only pings that are never answered show the connection is dead."""
    monkeypatch.setattr(redis_transport, "PING_EVERY_S", 0.1)
    redis_cluster.bus_url = relay.url
    b_bus, _ = await redis_cluster.bot(1)
    web = await redis_cluster.web()
    heard: list[GuildChanged] = []
    await web.watch_changes(heard.append)

    with caplog.at_level(logging.WARNING, logger="musicbot.cluster"):
        relay.freeze()
        await until(lambda: any("no answer from Redis for" in w for w in warnings_of(caplog)), "the silence noticed")
        change = GuildChanged(guild_id=guild_on(1), shard=1, what="after the silence")

        async def change_heard() -> bool:
            await b_bus.publish_changed(change)
            return change in heard

        await eventually(change_heard, "changes reach the web node on a new connection")


async def test_two_clusters_on_one_redis_never_see_each_other(redis_url: str) -> None:
    first, second = Cluster("redis", redis_url), Cluster("redis", redis_url)
    try:
        await first.bot(1)
        web = await second.web()
        assert [n.role for n in await web.nodes()] == ["web"]
        with pytest.raises(GuildUnavailableError):
            await web.call(guild_on(1), ECHO, Say("other cluster?"))
    finally:
        await first.close()
        await second.close()
