"""Where the bus's bytes go: the seam between ``bus.py`` (everything the bus means) and a store.

A ``Transport`` publishes to channels, delivers what arrives on subscribed ones, keeps each node's
presence under an expiry, and keeps the guild lists. Two: ``LocalTransport`` (this module: one
process, no Redis) and ``RedisTransport`` (``redis_transport.py``). The bus above them is one
implementation, so both behave the same by construction.

A transport raises ``BusUnreachableError`` when its store cannot be reached (never for local).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

Deliver = Callable[[bytes], None]
"""Called on the event loop with each message of a channel; must not block (the bus only queues)."""


@dataclass(frozen=True)
class Keys:
    """Every channel and key name, under one prefix, so test runs and clusters sharing a Redis never
    see each other's."""

    prefix: str = "musicbot:"

    def calls(self, node_id: str) -> str:
        return f"{self.prefix}call:{node_id}"

    def replies(self, node_id: str) -> str:
        return f"{self.prefix}reply:{node_id}"

    @property
    def changed(self) -> str:
        return f"{self.prefix}changed"

    def node(self, node_id: str) -> str:
        return f"{self.prefix}node:{node_id}"

    @property
    def nodes(self) -> str:
        """The set of node ids that announced themselves (each one's key expires; the set is pruned)."""
        return f"{self.prefix}nodes"

    @property
    def guild_lists(self) -> str:
        """A hash: shard number -> that shard's ``GuildList``."""
        return f"{self.prefix}guilds"


class Transport(Protocol):
    keys: Keys

    async def open(self, name: str) -> None:
        """Connect, as ``name`` (the node id, shown by the store's client list); ``BusUnreachableError``
        naming the setting to fix when that fails."""

    async def close(self) -> None: ...

    @property
    def listening(self) -> bool:
        """Whether messages to this process's channels arrive now (not while reconnecting after an
        outage: pub/sub keeps nothing for a process that is not listening)."""

    async def publish(self, channel: str, data: bytes) -> None: ...

    async def subscribe(self, channel: str, deliver: Deliver) -> None:
        """Returns once messages published from now on are delivered (confirmed by the store)."""

    async def set_presence(self, node_id: str, data: bytes, expiry_s: float) -> None: ...

    async def drop_presence(self, node_id: str) -> None: ...

    async def presences(self) -> list[bytes]:
        """Every live node's last announcement (expired ones are gone)."""

    async def put_guild_list(self, shard: int, data: bytes) -> None: ...

    async def guild_lists(self) -> dict[str, bytes]:
        """Every shard's last list, by shard number as written (the bus checks it is one)."""


class LocalHub:
    """The shared state of ``LocalTransport``s in one process: what a Redis server holds.

    One bot process needs one bus and so one hub; tests start several buses on one hub to play
    a cluster without Redis.
    """

    def __init__(self) -> None:
        self.subscribers: defaultdict[str, list[Deliver]] = defaultdict(list)
        self.presence: dict[str, tuple[bytes, float]] = {}  # node id -> (announcement, monotonic expiry)
        self.guild_lists: dict[str, bytes] = {}


class LocalTransport:
    """A transport inside one process. Messages are delivered on a later turn of the event loop, as
    from Redis, so a publisher never runs a subscriber's code inside its own call."""

    def __init__(self, hub: LocalHub | None = None, keys: Keys | None = None) -> None:
        self.hub = hub or LocalHub()
        self.keys = keys or Keys()
        self._mine: list[tuple[str, Deliver]] = []

    async def open(self, name: str) -> None:
        pass

    @property
    def listening(self) -> bool:
        return True

    async def close(self) -> None:
        for channel, deliver in self._mine:
            self.hub.subscribers[channel].remove(deliver)
        self._mine.clear()

    async def publish(self, channel: str, data: bytes) -> None:
        loop = asyncio.get_running_loop()
        for deliver in tuple(self.hub.subscribers.get(channel, ())):
            loop.call_soon(deliver, bytes(data))

    async def subscribe(self, channel: str, deliver: Deliver) -> None:
        self.hub.subscribers[channel].append(deliver)
        self._mine.append((channel, deliver))

    async def set_presence(self, node_id: str, data: bytes, expiry_s: float) -> None:
        self.hub.presence[node_id] = (bytes(data), time.monotonic() + expiry_s)

    async def drop_presence(self, node_id: str) -> None:
        self.hub.presence.pop(node_id, None)

    async def presences(self) -> list[bytes]:
        now = time.monotonic()
        for node_id in [n for n, (_, expiry) in self.hub.presence.items() if expiry <= now]:
            del self.hub.presence[node_id]
        return [data for data, _ in self.hub.presence.values()]

    async def put_guild_list(self, shard: int, data: bytes) -> None:
        self.hub.guild_lists[str(shard)] = bytes(data)

    async def guild_lists(self) -> dict[str, bytes]:
        return dict(self.hub.guild_lists)
