"""The last-known guilds of every shard, written by the process that runs it and kept without
expiry, so a web process can still list (as unavailable) the guilds of a shard whose process is down.
"""

from __future__ import annotations

import logging

from musicbot.cluster.errors import BusUnreachableError
from musicbot.cluster.messages import GuildList, decode, encode
from musicbot.cluster.transport import Transport

log = logging.getLogger(__name__)


class GuildLists:
    """Reads and writes the lists; a write that meets an outage is held back and written by
    ``write_held`` (the heartbeat calls it once the bus is reachable again). Event loop."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._held: dict[int, bytes] = {}

    async def put(self, shard: int, guilds: GuildList) -> None:
        if shard < 0:
            raise ValueError(f"A shard number is 0 or more, not {shard}")
        data = encode(guilds)
        try:
            await self._transport.put_guild_list(shard, data)
        except BusUnreachableError as err:
            log.warning("The guild list of shard %d waits for the bus: %s", shard, err)
            self._held[shard] = data
        else:
            self._held.pop(shard, None)

    async def write_held(self) -> None:
        for shard, data in list(self._held.items()):
            await self._transport.put_guild_list(shard, data)
            if self._held.get(shard) is data:  # not replaced meanwhile
                del self._held[shard]

    async def all(self) -> dict[int, GuildList]:
        """By shard; an unreadable entry is logged and left out. ``BusUnreachableError`` in an outage."""
        where = self._transport.keys.guild_lists
        lists: dict[int, GuildList] = {}
        for key, raw in (await self._transport.guild_lists()).items():
            guilds = decode(raw, GuildList, f"{where}[{key[:20]}]")
            if guilds is None:
                continue
            if not key.isdigit():
                log.warning("Dropped the guild list under %r of %s: not a shard number", key[:20], where)
                continue
            lists[int(key)] = guilds
        return lists
