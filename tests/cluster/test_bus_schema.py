"""What a process does with bytes that are not what it expects (a broken peer, another release):
each is logged naming what was wrong and dropped, and the process goes on answering the next good
call. On LocalBus and on the real Redis."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import msgspec
import pytest

from musicbot.cluster import GuildChanged, GuildList, Handlers, NodeInfo, Ops, RemoteError
from musicbot.cluster.errors import BAD_ANSWER, BAD_CALL, VERSION_SKEW_MESSAGE
from musicbot.cluster.messages import Call, encode, utc_now
from tests.cluster.conftest import SHARD_COUNT, Cluster, guild_on, until
from tests.cluster.toy import ECHO, Heard, Say

GOOD_ARGS = msgspec.Raw(msgspec.json.encode(Say("ok")))


def raw_call(reply_to: str, changes: dict[str, object]) -> dict[str, object]:
    """A good Call as a JSON object, spoiled by ``changes`` (a field whose value is ``...`` is left out)."""
    call = Call(id="raw-1", reply_to=reply_to, guild_id=guild_on(1), op="echo", args=GOOD_ARGS,
                deadline=utc_now() + timedelta(seconds=30))
    body: dict[str, object] = msgspec.json.decode(encode(call))
    body.update(changes)
    return {key: value for key, value in body.items() if value is not ...}


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


SPOILED_CALLS = [
    ("bad JSON", None, "not a bus message (Input data was truncated)"),
    ("unknown type", {"type": "reboot"}, "unknown message type 'reboot'"),
    ("wrong version", {"v": 2}, "wire version 2, this process speaks 1"),
    ("wrong field type", {"guild_id": "123"}, "Expected `int | null`, got `str` - at `$.guild_id`"),
    ("missing field", {"id": ...}, "Object missing required field `id`"),
    ("null where a string belongs", {"op": None}, "Expected `str`, got `null` - at `$.op`"),
    ("an answer on the call channel", {"type": "answer"}, "a 'answer' message where 'call' belongs"),
    ("arguments of the wrong shape", {"args": {"text": ["not", "text"]}},
     "Dropped a call of 'echo' from {reply} with bad arguments: Expected `str`, got `array` - at `$.text`"),
    ("arguments missing", {"args": {"times": 2}}, "Object missing required field `text`"),
    ("an unknown operation", {"op": "format_disk"}, "Dropped a call of the unknown operation 'format_disk'"),
]


@pytest.mark.parametrize(("spoiled", "changes", "problem"), SPOILED_CALLS, ids=[s[0] for s in SPOILED_CALLS])
async def test_a_bad_call_is_logged_and_dropped_and_the_next_good_one_answered(
        cluster: Cluster, caplog: pytest.LogCaptureFixture, spoiled: str, changes: dict[str, object] | None,
        problem: str) -> None:
    _, b = await cluster.bot(1)
    web = await cluster.web()
    body = raw_call(cluster.keys.replies(web.node.node_id), changes or {})  # type: ignore[union-attr]
    data = b'{"type": "call", "v": 1, "id": ' if changes is None else msgspec.json.encode(body)
    problem = problem.format(reply=body["reply_to"])

    with caplog.at_level(logging.WARNING, logger="musicbot.cluster"):
        await cluster.publish_raw(cluster.keys.calls(b.node.node_id), data)
        await until(lambda: any(problem in w for w in warnings_of(caplog)), f"a warning with {problem!r}")
        assert (await web.call(guild_on(1), ECHO, Say("next"))).text == "next"
    assert b.served == [("echo", guild_on(1))]  # the good call only


async def test_another_releases_call_is_refused_at_once_instead_of_timing_out(cluster: Cluster,
                                                                              caplog: pytest.LogCaptureFixture) -> None:
    """A web process of a newer release whose "echo" takes other arguments, or an operation this bot
    does not serve: the caller hears so at once (kind bad_call), not after its timeout as if the
    shard were down."""

    @dataclass(frozen=True)
    class SayV2:
        words: list[str]

    newer = Ops()
    echo_v2 = newer.add("echo", SayV2, Heard)
    skip = newer.add("skip", type(None), type(None))
    await cluster.bot(1)
    web = await cluster.web(ops=newer)

    with caplog.at_level(logging.WARNING, logger="musicbot.cluster"):
        with pytest.raises(RemoteError) as bad_args:
            await web.call(guild_on(1), echo_v2, SayV2(["a", "b"]), timeout_s=60)
        with pytest.raises(RemoteError) as unknown:
            await web.call(guild_on(1), skip, None, timeout_s=60)
    assert (bad_args.value.kind, bad_args.value.message) == (BAD_CALL, VERSION_SKEW_MESSAGE)
    assert unknown.value.kind == BAD_CALL
    logged = warnings_of(caplog)
    assert any("Object missing required field `text`" in w for w in logged)
    assert any("unknown operation 'skip'" in w and "['echo', 'fail', 'guilds', 'hold']" in w for w in logged)


async def test_an_answer_that_does_not_match_the_result_type_is_logged_and_refused(
        cluster: Cluster, caplog: pytest.LogCaptureFixture) -> None:
    @dataclass(frozen=True)
    class HeardV2:
        text: str
        loudness_db: float

    older = Ops()
    echo_expecting_more = older.add("echo", Say, HeardV2)
    await cluster.bot(1)
    web = await cluster.web(ops=older)

    with caplog.at_level(logging.WARNING, logger="musicbot.cluster"), pytest.raises(RemoteError) as bad:
        await web.call(guild_on(1), echo_expecting_more, Say("hi"))
    assert bad.value.kind == BAD_ANSWER
    assert any("does not match its result type: Object missing required field `loudness_db`" in w
               for w in warnings_of(caplog))


async def test_bad_answers_and_changes_are_dropped_and_the_next_ones_arrive(
        cluster: Cluster, caplog: pytest.LogCaptureFixture) -> None:
    await cluster.bot(1)
    web = await cluster.web()
    assert web.node is not None
    heard: list[GuildChanged] = []
    await web.watch_changes(heard.append)

    with caplog.at_level(logging.WARNING, logger="musicbot.cluster"):
        await cluster.publish_raw(cluster.keys.replies(web.node.node_id), b'{"type": "answer", "v": 1, "id": 7}')
        await cluster.publish_raw(cluster.keys.changed, b'{"type": "changed", "v": 1, "guild_id": 1, "shard": "one"}')
        await until(lambda: len(warnings_of(caplog)) == 2, "both bad messages logged")
        assert (await web.call(guild_on(1), ECHO, Say("still"))).text == "still"
        change = GuildChanged(guild_id=guild_on(1), shard=1, what="volume")
        await cluster.publish_raw(cluster.keys.changed, encode(change))
        await until(lambda: heard == [change], "the good change arrives")
    first, second = warnings_of(caplog)
    assert "Expected `str`, got `int` - at `$.id`" in first
    assert "Expected `int`, got `str` - at `$.shard`" in second


async def test_an_unreadable_presence_or_guild_list_is_skipped_with_a_warning(
        cluster: Cluster, caplog: pytest.LogCaptureFixture) -> None:
    b_bus, b = await cluster.bot(1)
    web = await cluster.web()
    transport = b_bus._transport
    future = msgspec.json.decode(encode(NodeInfo.new("bot", SHARD_COUNT, (0,))))
    future["v"] = 2
    await transport.set_presence("from-the-future", msgspec.json.encode(future), 60)
    await transport.put_guild_list(0, b"not json")
    good = GuildList(shard_count=SHARD_COUNT, guilds=[], written_at=utc_now())
    await b_bus.put_guild_list(1, good)

    with caplog.at_level(logging.WARNING, logger="musicbot.cluster"):
        live = [n.node_id for n in await web.nodes()]
        lists = await web.guild_lists()
    assert live == [b.node.node_id, web.node.node_id]  # type: ignore[union-attr]
    assert lists == {1: good}
    logged = warnings_of(caplog)
    assert any("wire version 2" in w and "nodes" in w for w in logged)
    assert any("not a bus message" in w and "guilds[0]" in w for w in logged)


async def test_handlers_for_unregistered_operations_are_refused_at_serve(cluster: Cluster) -> None:
    bus = cluster.bus()
    stray = Ops().add("stray", type(None), type(None))

    async def handle(guild_id: int | None, args: None) -> None:
        return None

    with pytest.raises(ValueError, match=r"not in this bus's Ops: \['stray'\]"):
        await bus.serve(Handlers().on(stray, handle))
    await bus.start(NodeInfo.new("web", SHARD_COUNT))
    with pytest.raises(ValueError, match="not in this bus's Ops"):
        await bus.call(guild_on(1), stray, None)
