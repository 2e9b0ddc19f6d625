"""The message bus between the bot's processes (issue 17): bot processes, each running some of the
Discord shards, and ``musicbot web`` processes serving the dashboard without a gateway connection.

- ``messages.py``: the versioned wire messages (msgspec), checked at both ends;
- ``ops.py``: the operations one process asks of another, with their argument and result types;
- ``errors.py``: the bus's errors, and how a handler's exception crosses it (``ErrorKinds``);
- ``bus.py``: the ``Bus`` (presence, routing by shard, calls, guild changes, guild lists), as
  ``LocalBus`` (one process) or ``RedisBus`` (``REDIS_URL``); with ``presence.py`` (heartbeats, live
  nodes), ``serving.py`` (a ``Call`` made into its ``Answer``), ``changes.py``, ``guild_lists.py``;
- ``transport.py``, ``redis_transport.py``: where the bytes go.

Importing this package does not import redis; ``RedisBus`` does, when made.
"""

from __future__ import annotations

from musicbot.cluster.bus import Bus, LocalBus, RedisBus, TransportBus
from musicbot.cluster.errors import (
    BusUnreachableError,
    ClusterError,
    ErrorKinds,
    GuildUnavailableError,
    NodeUnavailableError,
    RemoteError,
    UnavailableError,
)
from musicbot.cluster.messages import GuildChanged, GuildEntry, GuildList, NodeInfo, shard_of
from musicbot.cluster.ops import Handlers, Ops, OpSpec
from musicbot.cluster.transport import LocalHub

__all__ = [
    "Bus",
    "BusUnreachableError",
    "ClusterError",
    "ErrorKinds",
    "GuildChanged",
    "GuildEntry",
    "GuildList",
    "GuildUnavailableError",
    "Handlers",
    "LocalBus",
    "LocalHub",
    "NodeInfo",
    "NodeUnavailableError",
    "OpSpec",
    "Ops",
    "RedisBus",
    "RemoteError",
    "TransportBus",
    "UnavailableError",
    "shard_of",
]
