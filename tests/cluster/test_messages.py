"""The wire format: every message round-trips; anything else is one warning naming what was wrong,
and dropped. Operation payloads (frozen dataclasses here) are validated against their types."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from musicbot.cluster.errors import INTERNAL, INTERNAL_MESSAGE, ErrorKinds, RemoteError
from musicbot.cluster.messages import (
    VERSION,
    Answer,
    Call,
    ErrorInfo,
    GuildChanged,
    GuildEntry,
    GuildList,
    NodeInfo,
    decode,
    encode,
)
from musicbot.cluster.ops import Handlers, Ops
from musicbot.errors import MusicBotError

WHEN = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


MESSAGES = [
    NodeInfo(node_id="host-1-ab", role="bot", shard_count=4, shard_ids=(2, 3), started_at=WHEN, sent_at=WHEN,
             http="10.0.0.5:8080"),
    NodeInfo.new("web", 4),
    Call(id="c1", reply_to="musicbot:reply:web-1", guild_id=123 << 22, op="echo", args=msgspec.Raw(b'{"text":"x"}'),
         deadline=WHEN),
    Call(id="c2", reply_to="musicbot:reply:web-1", guild_id=None, op="guilds", args=msgspec.Raw(b"null"),
         deadline=WHEN),
    Answer(id="c1", value=msgspec.Raw(b'{"text":"x","node_id":"n","guild_id":null}')),
    Answer(id="c1", error=ErrorInfo("too_fast", "Slow down.", 2.5)),
    GuildChanged(guild_id=1 << 22, shard=1, what="track_start"),
    GuildList(shard_count=2, guilds=[GuildEntry(1 << 22, "Studio", None, True)], written_at=WHEN),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips_with_its_type_and_version(message: object) -> None:
    data = encode(message)  # type: ignore[arg-type]
    wire = msgspec.json.decode(data)
    assert wire["v"] == VERSION == 1
    assert wire["type"] in {"node", "call", "answer", "changed", "guilds"}
    again = decode(data, type(message), "test")  # type: ignore[type-var]
    assert encode(again) == data  # type: ignore[arg-type]


BAD = [
    (b'{"type": "call", "v": 1, "id": ', "not a bus message (Input data was truncated)"),
    (b"[1, 2, 3]", "not a bus message (Expected `object`, got `array`)"),
    (b'{"type": "changed", "guild_id": 1, "shard": 0, "what": "x"}', "missing required field `v`"),
    (b'{"type": "shutdown", "v": 1}', "unknown message type 'shutdown'"),
    (b'{"type": "changed", "v": 2, "guild_id": 1, "shard": 0, "what": "x", "why": "new"}',
     "wire version 2, this process speaks 1"),
    (b'{"type": "changed", "v": 1, "guild_id": "1", "shard": 0, "what": "x"}',
     "bad 'changed' message: Expected `int`, got `str` - at `$.guild_id`"),
    (b'{"type": "changed", "v": 1, "guild_id": -5, "shard": 0, "what": "x"}', "Expected `int` >= 0 - at `$.guild_id`"),
    (b'{"type": "changed", "v": 1, "guild_id": 5, "shard": 0, "what": "' + b"x" * 65 + b'"}',
     "Expected `str` of length <= 64 - at `$.what`"),
    (b'{"type": "answer", "v": 1, "id": "c1"}', "a 'answer' message where 'changed' belongs"),
]


@pytest.mark.parametrize(("data", "problem"), BAD, ids=[p for _, p in BAD])
def test_a_bad_message_is_logged_naming_what_is_wrong_and_dropped(
        data: bytes, problem: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="musicbot.cluster"):
        assert decode(data, GuildChanged, "musicbot:changed") is None
    [warning] = warnings_of(caplog)
    assert warning.startswith("Dropped a bad message on musicbot:changed:")
    assert problem in warning


def test_a_node_claiming_a_shard_beyond_its_count_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    node = msgspec.json.decode(encode(NodeInfo.new("bot", 2, (1,))))
    node["shard_ids"] = [1, 2]
    with caplog.at_level(logging.WARNING, logger="musicbot.cluster"):
        assert decode(msgspec.json.encode(node), NodeInfo, "musicbot:nodes") is None
    assert "shard_ids [1, 2] go beyond shard_count 2" in warnings_of(caplog)[0]
    with pytest.raises(ValueError, match="a web node runs no shards"):
        NodeInfo.new("web", 2, (0,))


def test_a_node_owns_the_guilds_discord_puts_on_its_shards() -> None:
    bot = NodeInfo.new("bot", 4, (1, 3))
    assert [bot.owns(guild << 22) for guild in range(8)] == [False, True, False, True] * 2
    assert not NodeInfo.new("web", 4).owns(1 << 22)


def test_node_ids_are_new_at_every_start() -> None:
    assert NodeInfo.new("bot", 1, (0,)).node_id != NodeInfo.new("bot", 1, (0,)).node_id


# --- operation payloads: frozen dataclasses, as the dashboard's views are ---------------------------


@dataclass(frozen=True)
class Entry:
    title: str
    duration_s: float | None


@dataclass(frozen=True)
class View:
    paused: bool
    queue: list[Entry]
    listeners: list[tuple[str, str]]


OPS = Ops()
VIEW = OPS.add("view", type(None), View)
MOVE = OPS.add("move", tuple[int, int], View)


def test_dataclass_payloads_are_validated_field_by_field_at_the_receiving_end() -> None:
    view = View(paused=True, queue=[Entry("Song", 180.0), Entry("Live", None)], listeners=[("1", "Ann")])
    assert VIEW.decode_result(VIEW.encode_result(view)) == view

    wrong = b'{"paused": true, "queue": [{"title": "Song", "duration_s": "long"}], "listeners": []}'
    where = r"Expected `float \| null`, got `str` - at `\$.queue\[0\].duration_s`"
    with pytest.raises(msgspec.ValidationError, match=where):
        VIEW.decode_result(wrong)
    with pytest.raises(msgspec.ValidationError, match="missing required field `listeners`"):
        VIEW.decode_result(b'{"paused": true, "queue": []}')
    with pytest.raises(msgspec.ValidationError, match=r"Expected `array` of length 2"):
        MOVE.decode_args(b"[1, 2, 3]")


def test_the_sending_end_checks_its_own_payload_against_the_declared_type() -> None:
    with pytest.raises(TypeError, match=r"result of 'view' do not match.*\$\.paused"):
        VIEW.encode_result(View(paused="yes", queue=[], listeners=[]))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="arguments of 'move' do not match"):
        MOVE.encode_args((1,))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="result of 'view' do not match"):
        VIEW.encode_result(object())  # type: ignore[arg-type]


def test_operations_and_handlers_are_registered_once() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        OPS.add("view", type(None), View)
    assert VIEW in OPS
    assert Ops().add("view", type(None), View) not in OPS  # same name, another registry's

    async def view(guild_id: int | None, args: None) -> View:
        return View(False, [], [])

    handlers = Handlers().on(VIEW, view)
    assert list(handlers) == ["view"]
    with pytest.raises(ValueError, match="Two handlers"):
        handlers.on(VIEW, view)


# --- errors crossing the bus ------------------------------------------------------------------------


class DjOnlyError(MusicBotError):
    pass


class SlowDownError(MusicBotError):
    def __init__(self, retry_after_s: float) -> None:
        super().__init__("Slow down.")
        self.retry_after_s = retry_after_s


KINDS = ErrorKinds(raised=[(DjOnlyError, "not_allowed"), (SlowDownError, "too_fast"), (MusicBotError, "refused")],
                   rebuild={"not_allowed": lambda remote: DjOnlyError(remote.message)})


def test_registered_exceptions_keep_their_message_and_retry_after() -> None:
    assert KINDS.describe(DjOnlyError("DJs only."), "act") == ErrorInfo("not_allowed", "DJs only.", None)
    assert KINDS.describe(SlowDownError(2.5), "act") == ErrorInfo("too_fast", "Slow down.", 2.5)
    assert KINDS.describe(MusicBotError("Nothing plays."), "act") == ErrorInfo("refused", "Nothing plays.", None)


def test_anything_else_is_internal_logged_with_its_traceback_and_its_text_kept_here(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="musicbot.cluster"):
        info = KINDS.describe(KeyError("token=abc"), "act")
    assert info == ErrorInfo(INTERNAL, INTERNAL_MESSAGE, None)
    [record] = caplog.records
    assert record.exc_info is not None and "token=abc" in str(record.exc_info[1])


def test_the_caller_rebuilds_its_own_exception_or_gets_a_remote_error() -> None:
    mine = KINDS.rebuild(ErrorInfo("not_allowed", "DJs only."))
    assert isinstance(mine, DjOnlyError) and str(mine) == "DJs only."
    other = KINDS.rebuild(ErrorInfo("too_fast", "Slow down.", 2.5))
    assert isinstance(other, RemoteError)
    assert (other.kind, other.message, other.retry_after_s) == ("too_fast", "Slow down.", 2.5)


def test_the_bus_keeps_its_own_kinds() -> None:
    with pytest.raises(ValueError, match="reserved"):
        ErrorKinds(raised=[(MusicBotError, INTERNAL)])


def test_a_deadline_travels_as_utc() -> None:
    call = Call(id="c", reply_to="r", guild_id=None, op="x", args=msgspec.Raw(b"null"),
                deadline=WHEN + timedelta(seconds=5))
    assert b'"deadline":"2026-05-01T12:00:05Z"' in encode(call)
