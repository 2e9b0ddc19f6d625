"""A small application of the bus for its tests: the operations, refusals and handlers a bot process
of a toy cluster serves (the dashboard's own are registered by the bot, not here)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from musicbot.cluster import ErrorKinds, GuildEntry, Handlers, NodeInfo, Ops
from musicbot.errors import MusicBotError


@dataclass(frozen=True)
class Say:
    text: str
    times: int = 1


@dataclass(frozen=True)
class Heard:
    text: str
    node_id: str  # who answered
    guild_id: int | None


@dataclass(frozen=True)
class Refuse:
    how: str  # "not_allowed", "too_fast", "refused" or "bug"


OPS = Ops()
ECHO = OPS.add("echo", Say, Heard)
FAIL = OPS.add("fail", Refuse, type(None))
HOLD = OPS.add("hold", type(None), type(None))  # answers when the test lets it
GUILDS = OPS.add("guilds", type(None), list[GuildEntry])  # node-wide


class NotAllowedError(MusicBotError):
    """The caller's own refusal, rebuilt from kind "not_allowed"."""


class TooFastError(MusicBotError):
    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


SECRET = "postgresql://bot:hunter2@db/musicbot"

KINDS = ErrorKinds(
    raised=[(NotAllowedError, "not_allowed"), (TooFastError, "too_fast"), (MusicBotError, "refused")],
    rebuild={"not_allowed": lambda remote: NotAllowedError(remote.message)},
)


@dataclass
class ToyBot:
    """What one bot process answers with; ``release`` lets the calls of ``HOLD`` finish."""

    node: NodeInfo
    guilds: list[GuildEntry] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    served: list[tuple[str, int | None]] = field(default_factory=list)

    async def echo(self, guild_id: int | None, args: Say) -> Heard:
        self.served.append(("echo", guild_id))
        return Heard(args.text * args.times, self.node.node_id, guild_id)

    async def fail(self, guild_id: int | None, args: Refuse) -> None:
        if args.how == "not_allowed":
            raise NotAllowedError("Only a DJ may do that here.")
        if args.how == "too_fast":
            raise TooFastError("You are going too fast; try again in 3 s.", 3.0)
        if args.how == "refused":
            raise MusicBotError("Nothing is playing.")
        raise RuntimeError(f"could not connect to {SECRET}")

    async def hold(self, guild_id: int | None, args: None) -> None:
        self.served.append(("hold", guild_id))
        await self.release.wait()

    async def list_guilds(self, guild_id: int | None, args: None) -> list[GuildEntry]:
        return self.guilds

    def handlers(self) -> Handlers:
        return (Handlers().on(ECHO, self.echo).on(FAIL, self.fail).on(HOLD, self.hold)
                .on(GUILDS, self.list_guilds))
