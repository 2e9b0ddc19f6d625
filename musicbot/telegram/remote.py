"""What the Discord side asks of the Telegram bridge, from whichever process runs the command: the
bridge runs in the process of shard 0 (Telegram allows one reader of a bot's updates), so each
question goes over the bus to that process (``ops.py``'s node-wide operations).

With ``TELEGRAM_TOKEN`` unset every question is answered "off, and how to turn it on" here, without
asking anyone; the shard-0 process of a bot without the token answers the same (``serve_off``).
"""

from __future__ import annotations

from typing import TypeVar

from musicbot.cluster import Bus, Handlers, NodeInfo, OpSpec, UnavailableError
from musicbot.telegram.ops import (
    BEGIN_LINK,
    MENTION_ALL,
    OFF_MESSAGE,
    STATUS,
    BridgeRefusal,
    BridgeStatus,
    LinkCode,
    LinkRequest,
    Mentioned,
    MentionRequest,
    StatusRequest,
)

A = TypeVar("A")
R = TypeVar("R")

BRIDGE_SHARD = 0
NOT_RUNNING = ("The bot process that runs the Telegram bridge (the one with shard 0) is not running right now; "
               "try again shortly.")


class BridgeRemote:
    def __init__(self, bus: Bus, *, enabled: bool) -> None:
        self._bus = bus
        self.enabled = enabled

    async def begin_link(self, guild_id: int, guild_name: str, chat_id: int, user_id: int) -> LinkCode:
        return await self._ask(BEGIN_LINK, LinkRequest(guild_id, guild_name, chat_id, user_id), timeout_s=15.0)

    async def status(self, chat_id: int | None) -> BridgeStatus:
        return await self._ask(STATUS, StatusRequest(chat_id))

    async def mention_all(self, guild_id: int, by: str, reason: str) -> Mentioned:
        return await self._ask(MENTION_ALL, MentionRequest(guild_id, by, reason))

    async def _ask(self, op: OpSpec[A, R], args: A, timeout_s: float = 5.0) -> R:
        if not self.enabled:
            raise BridgeRefusal(OFF_MESSAGE)
        try:
            node = await bridge_node(self._bus)
            if node is None:
                raise BridgeRefusal(NOT_RUNNING)
            return await self._bus.call_node(node.node_id, op, args, timeout_s=timeout_s)
        except UnavailableError as err:
            raise BridgeRefusal(NOT_RUNNING) from err


async def bridge_node(bus: Bus) -> NodeInfo | None:
    """The live bot process that runs shard 0 (the newest, during a redeploy)."""
    nodes = [n for n in await bus.nodes() if n.role == "bot" and BRIDGE_SHARD in n.shard_ids]
    return max(nodes, key=lambda n: n.started_at) if nodes else None


def serve_off(handlers: Handlers) -> Handlers:
    """The bridge's operations on a shard-0 process without ``TELEGRAM_TOKEN``: each says it is off."""

    async def begin_link(guild_id: int | None, args: LinkRequest) -> LinkCode:
        raise BridgeRefusal(OFF_MESSAGE)

    async def status(guild_id: int | None, args: StatusRequest) -> BridgeStatus:
        raise BridgeRefusal(OFF_MESSAGE)

    async def mention_all(guild_id: int | None, args: MentionRequest) -> Mentioned:
        raise BridgeRefusal(OFF_MESSAGE)

    return handlers.on(BEGIN_LINK, begin_link).on(STATUS, status).on(MENTION_ALL, mention_all)
