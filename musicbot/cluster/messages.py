"""What bot and web processes say to each other over the bus: one versioned JSON object per message.

Every message carries ``type`` (its tag) and ``v`` (the wire version, ``VERSION``). Both ends check
it with msgspec: a process never trusts a peer that may run another release (a rolling deploy has
two at once). ``decode`` turns anything that is not a valid message of the expected kind into one
warning naming what was wrong, and ``None``: a bad message is dropped where it arrives, it never
raises into the loop that received it.

The payload of a ``Call`` (``args``) and of an ``Answer`` (``value``) stay raw JSON here: only the
registered operation (``ops.py``) knows their type, and each end validates them against it.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from datetime import UTC, datetime
from typing import Annotated, Literal, TypeVar

import msgspec

log = logging.getLogger(__name__)

VERSION = 1
"""The wire version this process speaks. A message of another version is dropped with a warning."""

MAX_WHAT_CHARS = 64
_PREVIEW_BYTES = 120  # how much of a bad message the warning quotes

NonNegative = Annotated[int, msgspec.Meta(ge=0)]
Positive = Annotated[int, msgspec.Meta(ge=1)]
Role = Literal["bot", "web"]


def shard_of(guild_id: int, shard_count: int) -> int:
    """Discord's rule for which shard (gateway connection) carries a guild."""
    return (guild_id >> 22) % shard_count


def utc_now() -> datetime:
    return datetime.now(UTC)


class NodeInfo(msgspec.Struct, frozen=True, tag="node", tag_field="type"):
    """One process of the bot, as its heartbeat announces it.

    ``node_id`` is new at every process start (``NodeInfo.new``), so a restarted process is a new
    node and answers to its predecessor can never reach it. A ``web`` node serves the dashboard
    without a gateway connection: its ``shard_ids`` are empty, its ``shard_count`` the cluster's.
    """

    node_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    role: Role
    shard_count: Positive
    shard_ids: tuple[NonNegative, ...]
    started_at: datetime
    sent_at: datetime
    http: str | None = None  # where its ops server listens (host:port), for operators and the dashboard
    v: int = VERSION

    def __post_init__(self) -> None:
        # msgspec reports a ValueError raised here as a ValidationError naming the message: a node
        # claiming a shard outside its count would otherwise own guilds that hash nowhere near it.
        if any(shard >= self.shard_count for shard in self.shard_ids):
            raise ValueError(f"shard_ids {list(self.shard_ids)} go beyond shard_count {self.shard_count}")
        if self.role == "web" and self.shard_ids:
            raise ValueError("a web node runs no shards")

    @classmethod
    def new(cls, role: Role, shard_count: int, shard_ids: tuple[int, ...] = (),
            http: str | None = None) -> NodeInfo:
        """This process, just started: a fresh ``node_id`` (host, pid and a random part)."""
        now = utc_now()
        node_id = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"
        return cls(node_id=node_id, role=role, shard_count=shard_count, shard_ids=tuple(sorted(shard_ids)),
                   started_at=now, sent_at=now, http=http)

    def owns(self, guild_id: int) -> bool:
        return self.role == "bot" and shard_of(guild_id, self.shard_count) in self.shard_ids


class ErrorInfo(msgspec.Struct, frozen=True):
    """A refusal or failure, as safe to show as the serving side made it (``errors.ErrorKinds``)."""

    kind: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    message: str
    retry_after_s: Annotated[float, msgspec.Meta(ge=0)] | None = None


class Call(msgspec.Struct, frozen=True, tag="call", tag_field="type"):
    """Run ``op`` on the node it is sent to; answer on ``reply_to``.

    ``guild_id`` is None for node-wide operations. ``deadline`` is when the caller stops waiting:
    a call that arrives well after it is not run (its caller was already told it failed).
    """

    id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    reply_to: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    guild_id: NonNegative | None
    op: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    args: msgspec.Raw
    deadline: datetime
    v: int = VERSION


class Answer(msgspec.Struct, frozen=True, tag="answer", tag_field="type"):
    """The outcome of the ``Call`` with the same ``id``: ``error``, or else ``value``."""

    id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    value: msgspec.Raw = msgspec.Raw(b"null")
    error: ErrorInfo | None = None
    v: int = VERSION


class GuildChanged(msgspec.Struct, frozen=True, tag="changed", tag_field="type"):
    """A guild's player changed (track, queue, pause, filters…): web processes refresh its watchers."""

    guild_id: NonNegative
    shard: NonNegative
    what: Annotated[str, msgspec.Meta(max_length=MAX_WHAT_CHARS)]
    v: int = VERSION


class GuildEntry(msgspec.Struct, frozen=True):
    id: NonNegative
    name: str
    icon: str | None
    playing: bool


class GuildList(msgspec.Struct, frozen=True, tag="guilds", tag_field="type"):
    """A shard's guilds, as its owner last wrote them.

    Kept without expiry, so web processes can still list the guilds of a shard whose process is
    down (as unavailable). ``shard_count`` tells a list written under another sharding from a
    current one.
    """

    shard_count: Positive
    guilds: list[GuildEntry]
    written_at: datetime
    v: int = VERSION


Message = NodeInfo | Call | Answer | GuildChanged | GuildList
M = TypeVar("M", NodeInfo, Call, Answer, GuildChanged, GuildList)

_TAGS = {cls.__struct_config__.tag: cls for cls in (NodeInfo, Call, Answer, GuildChanged, GuildList)}
_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(Message)


class _Envelope(msgspec.Struct):
    """What every message has; read first, so a warning can say "version 2" or "unknown type"
    instead of the first field that failed."""

    type: str
    v: int


_ENVELOPE = msgspec.json.Decoder(_Envelope)


def encode(message: Message) -> bytes:
    return _ENCODER.encode(message)


def decode(data: bytes, expected: type[M], where: str) -> M | None:
    """``data`` as a message of type ``expected``, or None after a warning naming what was wrong.

    ``where`` says where it arrived (a channel, a key), for the warning.
    """
    problem = _problem(data, expected)
    if isinstance(problem, str):
        log.warning("Dropped a bad message on %s: %s (it began %r)", where, problem, bytes(data[:_PREVIEW_BYTES]))
        return None
    return problem


def _problem(data: bytes, expected: type[M]) -> M | str:
    try:
        envelope = _ENVELOPE.decode(data)
    except msgspec.DecodeError as err:
        return f"not a bus message ({err})"
    if envelope.v != VERSION:
        return f"wire version {envelope.v}, this process speaks {VERSION} (a process of another release?)"
    kind = _TAGS.get(envelope.type)
    if kind is None:
        return f"unknown message type {envelope.type[:40]!r}"
    if kind is not expected:
        return f"a {envelope.type!r} message where {expected.__struct_config__.tag!r} belongs"
    try:
        message = _DECODER.decode(data)
    except msgspec.DecodeError as err:  # ValidationError included: it names the field ("at `$.guild_id`")
        return f"bad {envelope.type!r} message: {err}"
    assert isinstance(message, expected)  # the tag was checked above
    return message
