"""Who is alive: each node announces itself every ``heartbeat_s`` under a key that expires after
``expiry_s``. A process that stops cleanly takes its key away at once; one that is killed simply
stops announcing, and is gone from ``nodes()`` when its key expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import msgspec

from musicbot.cluster.errors import BusUnreachableError
from musicbot.cluster.messages import NodeInfo, decode, encode, utc_now
from musicbot.cluster.transport import Transport

log = logging.getLogger(__name__)

HEARTBEAT_S = 2.0
EXPIRY_HEARTBEATS = 3  # a node is gone after this many missed heartbeats


class Presence:
    """This node's heartbeat, and the list of live nodes (event loop)."""

    def __init__(self, transport: Transport, heartbeat_s: float = HEARTBEAT_S, expiry_s: float | None = None) -> None:
        expiry_s = EXPIRY_HEARTBEATS * heartbeat_s if expiry_s is None else expiry_s
        if not 0 < heartbeat_s < expiry_s:
            raise ValueError(f"heartbeat_s ({heartbeat_s}) must be above 0 and below expiry_s ({expiry_s})")
        self._transport = transport
        self.heartbeat_s = heartbeat_s
        self.expiry_s = expiry_s
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    async def announce(self, node: NodeInfo) -> None:
        """Once, now; ``BusUnreachableError`` when it cannot be."""
        if not self._transport.listening:
            # Announced, it would be sent calls it never hears: better gone for a moment (callers
            # are told "try again shortly" at once) than there and silent (callers wait it out).
            raise BusUnreachableError("not listening to its channels yet")
        beat = msgspec.structs.replace(node, sent_at=utc_now())
        await self._transport.set_presence(node.node_id, encode(beat), self.expiry_s)

    def keep_announcing(self, node: NodeInfo, after_beat: Callable[[], Awaitable[None]]) -> None:
        """Every ``heartbeat_s`` until ``leave``, in a task named ``musicbot-heartbeat:<node id>``;
        ``after_beat`` runs after each announcement that went through (work held back in an outage)."""
        self._task = asyncio.create_task(self._beat(node, after_beat), name=f"musicbot-heartbeat:{node.node_id}")

    async def leave(self, node: NodeInfo) -> None:
        """Stop announcing and take the key away, so other processes see this one gone at once."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self._transport.drop_presence(node.node_id)
        except BusUnreachableError as err:
            log.warning("Could not take node %s off the bus (%s); it expires in %g s", node.node_id, err,
                        self.expiry_s)

    async def _beat(self, node: NodeInfo, after_beat: Callable[[], Awaitable[None]]) -> None:
        """An outage is logged once, and its end."""
        while True:
            await asyncio.sleep(self.heartbeat_s)
            try:
                await self.announce(node)
                await after_beat()
            except BusUnreachableError as err:
                if not self._failing:
                    log.warning("Node %s cannot reach the bus (%s): other processes will see it as gone "
                                "after %g s; retrying every %g s", node.node_id, err, self.expiry_s, self.heartbeat_s)
                self._failing = True
            except Exception:  # a bug: logged, and the next beat tried, or the node would vanish for good
                log.exception("The heartbeat of node %s failed", node.node_id)
            else:
                if self._failing:
                    log.warning("Node %s reaches the bus again", node.node_id)
                self._failing = False

    async def nodes(self) -> list[NodeInfo]:
        """The live nodes, bots first, oldest first; an unreadable announcement is logged and left out."""
        found = [decode(raw, NodeInfo, self._transport.keys.nodes) for raw in await self._transport.presences()]
        return sorted((n for n in found if n is not None), key=lambda n: (n.role, n.started_at, n.node_id))
