"""The bus as the processes of a cluster see it: who is alive, who answers for a guild, what a caller
gets back, news of changes and the guild lists. Each test runs on LocalBus and on the real Redis."""

from __future__ import annotations

import asyncio
import logging

import pytest

from musicbot.cluster import (
    BusUnreachableError,
    GuildChanged,
    GuildEntry,
    GuildList,
    GuildUnavailableError,
    NodeInfo,
    NodeUnavailableError,
    RemoteError,
)
from musicbot.cluster.errors import INTERNAL, INTERNAL_MESSAGE
from musicbot.cluster.messages import utc_now
from tests.cluster.conftest import SHARD_COUNT, Cluster, eventually, guild_on, kill, until
from tests.cluster.toy import ECHO, FAIL, GUILDS, HOLD, SECRET, NotAllowedError, Refuse, Say


async def test_a_call_from_a_web_node_is_answered_by_the_bot_that_runs_the_guilds_shard(cluster: Cluster) -> None:
    _, a = await cluster.bot(0)
    _, b = await cluster.bot(1)
    web = await cluster.web()

    live = await web.nodes()
    assert [(n.node_id, n.role, n.shard_ids) for n in live] == [
        (a.node.node_id, "bot", (0,)), (b.node.node_id, "bot", (1,)), (web.node.node_id, "web", ())]  # type: ignore[union-attr]
    assert live[1].http == "127.0.0.1:8080"

    heard = await web.call(guild_on(1), ECHO, Say("hi", times=2))
    assert heard.text == "hihi"
    assert heard.node_id == b.node.node_id
    assert heard.guild_id == guild_on(1)
    assert (await web.call(guild_on(0), ECHO, Say("yo"))).node_id == a.node.node_id
    assert (await web.owner_of(guild_on(1))).node_id == b.node.node_id  # type: ignore[union-attr]
    assert a.served == [("echo", guild_on(0))]


async def test_a_bot_calls_its_own_guild_and_another_bots(cluster: Cluster) -> None:
    a_bus, a = await cluster.bot(0)
    _, b = await cluster.bot(1)

    assert (await a_bus.call(guild_on(0), ECHO, Say("mine"))).node_id == a.node.node_id
    assert (await a_bus.call(guild_on(1), ECHO, Say("theirs"))).node_id == b.node.node_id
    assert a.served == [("echo", guild_on(0))]
    assert b.served == [("echo", guild_on(1))]


async def test_a_refusal_comes_back_as_the_callers_exception_or_with_its_kind_message_and_retry_after(
        cluster: Cluster) -> None:
    await cluster.bot(1)
    web = await cluster.web()

    with pytest.raises(NotAllowedError, match=r"Only a DJ may do that here\."):  # kind rebuilt by the caller
        await web.call(guild_on(1), FAIL, Refuse("not_allowed"))
    with pytest.raises(RemoteError) as too_fast:  # a kind the caller rebuilds nothing for
        await web.call(guild_on(1), FAIL, Refuse("too_fast"))
    assert (too_fast.value.kind, too_fast.value.message, too_fast.value.retry_after_s) == (
        "too_fast", "You are going too fast; try again in 3 s.", 3.0)
    with pytest.raises(RemoteError) as refused:  # a base class registered after its subclasses
        await web.call(guild_on(1), FAIL, Refuse("refused"))
    assert (refused.value.kind, str(refused.value), refused.value.retry_after_s) == (
        "refused", "Nothing is playing.", None)


async def test_a_bug_in_a_handler_is_logged_where_it_happened_and_never_sent(
        cluster: Cluster, caplog: pytest.LogCaptureFixture) -> None:
    await cluster.bot(1)
    web = await cluster.web()

    with caplog.at_level(logging.ERROR, logger="musicbot.cluster"), pytest.raises(RemoteError) as bug:
        await web.call(guild_on(1), FAIL, Refuse("bug"))
    assert (bug.value.kind, str(bug.value)) == (INTERNAL, INTERNAL_MESSAGE)
    assert SECRET not in str(bug.value)
    logged = [r for r in caplog.records if r.exc_info and SECRET in str(r.exc_info[1])]
    assert logged and "'fail'" in logged[0].getMessage()


async def test_a_guild_whose_shard_no_process_runs_is_unavailable(cluster: Cluster) -> None:
    await cluster.bot(0)
    web = await cluster.web()

    assert await web.owner_of(guild_on(1)) is None
    with pytest.raises(GuildUnavailableError, match=r"\(shard 1\) is not running right now; try again shortly"):
        await web.call(guild_on(1), ECHO, Say("anyone?"))


async def test_an_owner_that_does_not_answer_in_time_makes_the_guild_unavailable(cluster: Cluster) -> None:
    _, b = await cluster.bot(1)
    web = await cluster.web()

    with pytest.raises(GuildUnavailableError, match="shard 1"):
        await web.call(guild_on(1), HOLD, None, timeout_s=0.3)
    b.release.set()  # its late answer is dropped; the next call goes through
    assert (await web.call(guild_on(1), ECHO, Say("back"))).text == "back"


async def test_a_killed_process_vanishes_its_guilds_become_unavailable_and_it_comes_back_when_restarted(
        cluster: Cluster) -> None:
    await cluster.bot(0)
    b_bus, b = await cluster.bot(1)
    web = await cluster.web()
    assert (await web.owner_of(guild_on(1))).node_id == b.node.node_id  # type: ignore[union-attr]

    kill(b_bus)

    async def b_gone() -> bool:
        return b.node.node_id not in [n.node_id for n in await web.nodes()]

    await eventually(b_gone, "the killed node disappears from nodes()")
    with pytest.raises(GuildUnavailableError, match="shard 1"):
        await web.call(guild_on(1), ECHO, Say("hello?"))
    assert (await web.call(guild_on(0), ECHO, Say("others still answer"))).text == "others still answer"

    _, b2 = await cluster.bot(1)  # the process restarted: a new node for the same shard
    assert b2.node.node_id != b.node.node_id
    assert (await web.owner_of(guild_on(1))).node_id == b2.node.node_id  # type: ignore[union-attr]
    assert (await web.call(guild_on(1), ECHO, Say("again"))).node_id == b2.node.node_id


async def test_a_clean_stop_leaves_at_once(cluster: Cluster) -> None:
    b_bus, b = await cluster.bot(1)
    web = await cluster.web()

    await b_bus.stop()

    assert b.node.node_id not in [n.node_id for n in await web.nodes()]  # no waiting for the expiry
    with pytest.raises(GuildUnavailableError):
        await web.call(guild_on(1), ECHO, Say("gone"))
    with pytest.raises(GuildUnavailableError):  # the stopped process's own late callers too
        await b_bus.call(guild_on(1), ECHO, Say("me?"))
    with pytest.raises(BusUnreachableError, match="shutting down; try again shortly"):
        await b_bus.nodes()
    # The last sessions ending during shutdown tell nobody, and raise nothing into the bot.
    await b_bus.publish_changed(GuildChanged(guild_id=guild_on(1), shard=1, what="stopped"))
    await b_bus.put_guild_list(1, GuildList(shard_count=SHARD_COUNT, guilds=[], written_at=utc_now()))
    assert await web.guild_lists() == {}


async def test_calls_waiting_when_the_bus_stops_fail_as_unavailable(cluster: Cluster) -> None:
    _, b = await cluster.bot(1)
    web = await cluster.web()

    waiting = asyncio.ensure_future(web.call(guild_on(1), HOLD, None, timeout_s=60))
    await until(lambda: ("hold", guild_on(1)) in b.served, "the call reaches its handler")
    await web.stop()
    with pytest.raises(GuildUnavailableError):
        await waiting
    b.release.set()


async def test_the_newest_of_two_nodes_claiming_a_shard_owns_it(cluster: Cluster) -> None:
    await cluster.bot(1)
    _, newer = await cluster.bot(1)  # a redeploy: the new process starts before the old one stops
    web = await cluster.web()

    assert (await web.call(guild_on(1), ECHO, Say("who?"))).node_id == newer.node.node_id


async def test_a_node_wide_call_reaches_the_node_named(cluster: Cluster) -> None:
    _, a = await cluster.bot(0)
    a.guilds = [GuildEntry(guild_on(0), "Lounge", None, True)]
    b_bus, b = await cluster.bot(1)
    b.guilds = [GuildEntry(guild_on(1), "Studio", "abc123", False)]
    web = await cluster.web()

    assert await web.call_node(b.node.node_id, GUILDS, None) == b.guilds
    assert await web.call_node(a.node.node_id, GUILDS, None) == a.guilds
    assert (await b_bus.call_node(b.node.node_id, ECHO, Say("self"))).guild_id is None

    await b_bus.stop()
    with pytest.raises(NodeUnavailableError, match="not running right now"):
        await web.call_node(b.node.node_id, GUILDS, None)


async def test_changes_published_by_a_bot_reach_the_web_node(cluster: Cluster) -> None:
    b_bus, _ = await cluster.bot(1)
    web = await cluster.web()
    heard: list[GuildChanged] = []
    unwatch = await web.watch_changes(heard.append)

    change = GuildChanged(guild_id=guild_on(1), shard=1, what="track_start")
    await b_bus.publish_changed(change)
    await until(lambda: heard == [change], "the web node hears of the change")

    unwatch()
    await b_bus.publish_changed(GuildChanged(guild_id=guild_on(1), shard=1, what="pause"))
    await b_bus.publish_changed(change)  # the web node's own watchers are gone: nothing more arrives
    heard_by_bot: list[GuildChanged] = []
    await b_bus.watch_changes(heard_by_bot.append)
    await b_bus.publish_changed(change)
    await until(lambda: heard_by_bot == [change], "a second watcher hears the next change")
    assert heard == [change]


async def test_watchers_registered_before_start_hear_changes(cluster: Cluster) -> None:
    b_bus, _ = await cluster.bot(1)
    web = cluster.bus()
    heard: list[GuildChanged] = []
    await web.watch_changes(heard.append)
    await web.start(NodeInfo.new("web", SHARD_COUNT))

    change = GuildChanged(guild_id=guild_on(1), shard=1, what="queue")
    await b_bus.publish_changed(change)
    await until(lambda: heard == [change], "the change arrives")


async def test_guild_lists_outlive_their_owner_and_are_overwritten_by_the_next(cluster: Cluster) -> None:
    b_bus, _ = await cluster.bot(1)
    web = await cluster.web()
    studio = GuildList(shard_count=SHARD_COUNT, guilds=[GuildEntry(guild_on(1), "Studio", None, True)],
                       written_at=utc_now())
    await b_bus.put_guild_list(1, studio)
    assert await web.guild_lists() == {1: studio}

    kill(b_bus)

    async def b_gone() -> bool:
        return all(n.node_id != b_bus.node.node_id for n in await web.nodes())  # type: ignore[union-attr]

    await eventually(b_gone, "the owner disappears")
    assert await web.guild_lists() == {1: studio}  # still listed, to show as unavailable

    b2_bus, _ = await cluster.bot(1)
    renamed = GuildList(shard_count=SHARD_COUNT, guilds=[GuildEntry(guild_on(1), "Studio 2", "ff", False)],
                        written_at=utc_now())
    await b2_bus.put_guild_list(1, renamed)
    assert await web.guild_lists() == {1: renamed}


async def test_arguments_that_do_not_match_the_operation_are_the_callers_bug(cluster: Cluster) -> None:
    await cluster.bot(1)
    web = await cluster.web()

    with pytest.raises(TypeError, match=r"arguments of 'echo' do not match.*\$\.text"):
        await web.call(guild_on(1), ECHO, Say(text=3))  # type: ignore[arg-type]


async def test_using_the_bus_before_start_is_a_bug(cluster: Cluster) -> None:
    bus = cluster.bus()
    with pytest.raises(RuntimeError, match="start"):
        await bus.call(guild_on(1), ECHO, Say("early"))
    with pytest.raises(RuntimeError, match="start"):
        await bus.nodes()
