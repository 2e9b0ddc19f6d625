"""The bus between the bot's processes: who is alive, who runs a guild, calls to it, and news.

Start-up of one process (bot or web)::

    bus = RedisBus(config.redis_url, ops=OPS, errors=KINDS) if config.redis_url else LocalBus(ops=OPS, errors=KINDS)
    await bus.serve(Handlers().on(PLAYER, player).on(ACT, act))   # bot processes; before start()
    await bus.start(NodeInfo.new("bot", shard_count, shard_ids))   # announced from here on
    view = await bus.call(guild_id, PLAYER, NoArgs())              # run wherever the guild's shard runs
    ...
    await bus.stop()                                               # SIGTERM: gone from nodes() at once

One implementation (``TransportBus``) over a transport, so ``LocalBus`` (one process, no Redis) and
``RedisBus`` behave the same by construction. Everything runs on the event loop. A call for a guild
this process runs never leaves it, but takes the same path through the wire format (args and
result validated, errors described), so it fails the same way a remote one would.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Protocol, TypeVar

import msgspec

from musicbot.cluster.changes import ChangeCallback, Changes
from musicbot.cluster.errors import (
    BAD_ANSWER,
    NOT_OWNER,
    VERSION_SKEW_MESSAGE,
    BusUnreachableError,
    ErrorKinds,
    GuildUnavailableError,
    NodeUnavailableError,
    UnavailableError,
)
from musicbot.cluster.guild_lists import GuildLists
from musicbot.cluster.messages import (
    Answer,
    Call,
    ErrorInfo,
    GuildChanged,
    GuildList,
    NodeInfo,
    decode,
    encode,
    shard_of,
    utc_now,
)
from musicbot.cluster.ops import Handler, Ops, OpSpec
from musicbot.cluster.presence import HEARTBEAT_S, Presence
from musicbot.cluster.serving import Server
from musicbot.cluster.transport import Keys, LocalHub, LocalTransport, Transport

log = logging.getLogger(__name__)

A = TypeVar("A")
R = TypeVar("R")

CALL_TIMEOUT_S = 5.0
STOP_GRACE_S = 2.0  # how long stop() lets calls in progress finish their answer


class Bus(Protocol):
    """What the rest of the bot uses; ``LocalBus`` and ``RedisBus`` are the two."""

    @property
    def node(self) -> NodeInfo | None:
        """This process, as announced; None before ``start`` and after ``stop``."""

    async def start(self, node: NodeInfo) -> None: ...

    async def stop(self) -> None: ...

    async def nodes(self) -> list[NodeInfo]: ...

    async def owner_of(self, guild_id: int) -> NodeInfo | None: ...

    async def call(self, guild_id: int, op: OpSpec[A, R], args: A, timeout_s: float = CALL_TIMEOUT_S) -> R: ...

    async def call_node(self, node_id: str, op: OpSpec[A, R], args: A, timeout_s: float = CALL_TIMEOUT_S) -> R: ...

    async def serve(self, handlers: Mapping[str, Handler]) -> None: ...

    async def publish_changed(self, change: GuildChanged) -> None: ...

    async def watch_changes(self, callback: ChangeCallback) -> Callable[[], None]: ...

    async def put_guild_list(self, shard: int, guilds: GuildList) -> None: ...

    async def guild_lists(self) -> dict[int, GuildList]: ...


class _Stopped(Exception):
    """Given to the calls still waiting when the bus stops."""


class TransportBus:
    """The bus over any ``Transport`` (event loop). A node is gone ``expiry_s`` (default three
    ``heartbeat_s``) after its last heartbeat."""

    def __init__(self, transport: Transport, *, ops: Ops, errors: ErrorKinds | None = None,
                 heartbeat_s: float = HEARTBEAT_S, expiry_s: float | None = None) -> None:
        self._presence = Presence(transport, heartbeat_s, expiry_s)
        self._transport = transport
        self._keys: Keys = transport.keys
        self._ops = ops
        self._errors = errors or ErrorKinds()
        self._node: NodeInfo | None = None
        self._stopping = False
        self._stopped = False  # stop() ran: calls now fail as unavailable, not as a bug
        self._server = Server(ops, self._errors, {})  # a call to a node that serves nothing is told so
        self._serves = False
        self._serving: set[asyncio.Task[None]] = set()
        self._pending: dict[str, asyncio.Future[Answer]] = {}
        self._changes = Changes(transport)
        self._guild_lists = GuildLists(transport)

    @property
    def node(self) -> NodeInfo | None:
        return self._node

    def _live_node(self) -> NodeInfo | None:
        """This node while it runs; None while (or after) it stops. Before ``start``: a bug."""
        if self._node is None and not self._stopped:
            raise RuntimeError("The bus is not started: call start(node) first")
        return None if self._stopping else self._node

    def _started(self) -> NodeInfo:
        node = self._live_node()
        if node is None:  # a request still served while the process stops
            raise BusUnreachableError("This process is shutting down; try again shortly.")
        return node

    def _running(self, unavailable: Callable[[], UnavailableError], op: OpSpec[A, R]) -> NodeInfo:
        """This node, for a call of ``op``; a call made while (or after) the process stops finds
        nothing to run it."""
        if op not in self._ops:
            raise ValueError(f"The operation {op.name!r} is not in this bus's Ops: register it there")
        node = self._live_node()
        if node is None:
            raise unavailable()
        return node

    def _telling(self, what: str) -> bool:
        """Whether news can still be told: not while (or after) the process stops, where the last
        sessions ending would otherwise raise into the bot's shutdown."""
        if self._live_node() is None:
            log.debug("Not telling %s: the bus is stopped", what)
            return False
        return True

    # -- presence ---------------------------------------------------------------------------------

    async def start(self, node: NodeInfo) -> None:
        """Connect, listen for answers (and calls, changes if asked for), then announce ``node`` and
        keep announcing it every ``heartbeat_s``. ``BusUnreachableError`` when Redis cannot be reached."""
        if self._node is not None:
            raise RuntimeError("The bus is already started")
        await self._transport.open(node.node_id)
        self._node, self._stopping = node, False
        try:
            await self._transport.subscribe(self._keys.replies(node.node_id), self._on_answer)
            if self._serves:
                await self._transport.subscribe(self._keys.calls(node.node_id), self._on_call)
            if self._changes.wanted:
                await self._changes.listen()
            await self._presence.announce(node)  # listed by nodes() once start() returns, not a beat later
        except BaseException:
            self._node = None
            await self._transport.close()
            raise
        self._presence.keep_announcing(node, self._guild_lists.write_held)

    async def stop(self) -> None:
        """Leave at once: off ``nodes()``, calls in progress given ``STOP_GRACE_S`` to answer, calls
        still waiting for an answer failed as unavailable. Idempotent."""
        node = self._node
        if node is None or self._stopping:
            return
        self._stopping = True
        await self._presence.leave(node)
        if self._serving:
            _, late = await asyncio.wait(self._serving, timeout=STOP_GRACE_S)
            for task in late:
                task.cancel()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(_Stopped())
        await self._transport.close()
        self._node, self._stopping, self._stopped, self._changes.listening = None, False, True, False

    async def nodes(self) -> list[NodeInfo]:
        """The live nodes (this one too), bots first, oldest first. ``BusUnreachableError`` in an
        outage or once this process stops."""
        self._started()
        return await self._presence.nodes()

    async def owner_of(self, guild_id: int) -> NodeInfo | None:
        """The live bot node running ``guild_id``'s shard, or None. Two can, for a moment, during a
        redeploy: the newer one, which is taking over."""
        node = self._started()
        if node.owns(guild_id):
            return node  # no need to ask Redis what this process knows
        owners = [n for n in await self.nodes() if n.owns(guild_id)]
        return max(owners, key=lambda n: n.started_at) if owners else None

    # -- calls ------------------------------------------------------------------------------------

    async def call(self, guild_id: int, op: OpSpec[A, R], args: A, timeout_s: float = CALL_TIMEOUT_S) -> R:
        """Run ``op`` where ``guild_id``'s shard runs and return its result.

        Raises ``GuildUnavailableError`` (no live owner, Redis unreachable, or no answer within
        ``timeout_s``), the caller's exception for a registered error kind, else ``RemoteError``.
        A ``TypeError`` when ``args`` do not match ``op.args`` (the caller's bug).
        """
        shard = shard_of(guild_id, self._node.shard_count) if self._node is not None else None

        def unavailable() -> UnavailableError:
            return GuildUnavailableError(guild_id, shard)

        self._running(unavailable, op)

        try:
            owner = await self.owner_of(guild_id)
        except BusUnreachableError as err:
            log.debug("Call %r for guild %d: %s", op.name, guild_id, err)
            raise unavailable() from err
        if owner is None:
            raise unavailable()
        return await self._request(owner.node_id, guild_id, op, args, timeout_s=timeout_s, unavailable=unavailable)

    async def call_node(self, node_id: str, op: OpSpec[A, R], args: A, timeout_s: float = CALL_TIMEOUT_S) -> R:
        """Run a node-wide ``op`` (the handler gets ``guild_id`` None) on the node ``node_id``.
        ``NodeUnavailableError`` when it is not live or does not answer in time."""
        def unavailable() -> UnavailableError:
            return NodeUnavailableError(node_id)

        node = self._running(unavailable, op)

        if node_id != node.node_id:
            try:
                live = {n.node_id for n in await self.nodes()}
            except BusUnreachableError as err:
                log.debug("Call %r to node %s: %s", op.name, node_id, err)
                raise unavailable() from err
            if node_id not in live:
                raise unavailable()
        return await self._request(node_id, None, op, args, timeout_s=timeout_s, unavailable=unavailable)

    async def _request(self, node_id: str, guild_id: int | None, op: OpSpec[A, R], args: A, *, timeout_s: float,
                       unavailable: Callable[[], UnavailableError]) -> R:
        me = self._running(unavailable, op)
        if node_id != me.node_id and not self._transport.listening:
            # The answer could not arrive: say so now, not after timeout_s. (The outage itself is
            # logged once, by the listener; a line per call would bury it.)
            log.debug("Call %r to node %s: this process is not listening to the bus right now", op.name, node_id)
            raise unavailable()
        call = Call(id=secrets.token_hex(8), reply_to=self._keys.replies(me.node_id), guild_id=guild_id, op=op.name,
                    args=op.encode_args(args), deadline=utc_now() + timedelta(seconds=timeout_s))
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._pending[call.id] = future
        try:
            await self._send(self._keys.calls(node_id), encode(call))
            answer = await asyncio.wait_for(future, timeout_s)
        except BusUnreachableError as err:
            log.debug("Call %r to node %s: %s", op.name, node_id, err)
            raise unavailable() from err
        except TimeoutError as err:
            log.warning("Node %s did not answer %r within %.1f s", node_id, op.name, timeout_s)
            raise unavailable() from err
        except _Stopped as err:
            raise unavailable() from err
        finally:
            self._pending.pop(call.id, None)
        if answer.error is not None:
            if answer.error.kind == NOT_OWNER:
                raise unavailable()
            raise self._errors.rebuild(answer.error)
        try:
            return op.decode_result(answer.value)
        except msgspec.DecodeError as err:
            log.warning("The answer of node %s to %r does not match its result type: %s", node_id, op.name, err)
            raise self._errors.rebuild(ErrorInfo(BAD_ANSWER, VERSION_SKEW_MESSAGE)) from err

    async def _send(self, channel: str, data: bytes) -> None:
        """Publish ``data``, or hand it straight to this process when the channel is its own."""
        node = self._node
        if node is not None:
            mine = {self._keys.replies(node.node_id): self._on_answer, self._keys.calls(node.node_id): self._on_call}
            deliver = mine.get(channel)
            if deliver is not None:
                asyncio.get_running_loop().call_soon(deliver, data)
                return
        await self._transport.publish(channel, data)

    def _on_answer(self, data: bytes) -> None:
        answer = decode(data, Answer, self._keys.replies(self._node.node_id if self._node else "?"))
        if answer is None:
            return
        future = self._pending.get(answer.id)
        if future is None or future.done():
            log.debug("An answer came after its caller stopped waiting (%s)", answer.id)
            return
        future.set_result(answer)

    # -- serving ----------------------------------------------------------------------------------

    async def serve(self, handlers: Mapping[str, Handler]) -> None:
        """Answer calls to this node with ``handlers`` (by operation name; ``ops.Handlers`` checks each
        against its operation), until ``stop``. Call it before ``start``, so the node is announced
        only once it can answer. Each call runs in a task of its own."""
        if self._serves:
            raise RuntimeError("serve() was already called")
        self._server = Server(self._ops, self._errors, handlers)
        self._serves = True
        if self._node is not None:
            await self._transport.subscribe(self._keys.calls(self._node.node_id), self._on_call)

    def _on_call(self, data: bytes) -> None:
        node = self._node
        if node is None or self._stopping:
            return
        call = decode(data, Call, self._keys.calls(node.node_id))
        if call is None:
            return
        task = asyncio.create_task(self._answer(call, node), name=f"musicbot-call:{call.op}:{call.id}")
        self._serving.add(task)
        task.add_done_callback(self._serving.discard)

    async def _answer(self, call: Call, node: NodeInfo) -> None:
        answer = await self._server.answer(call, node)
        if answer is None:
            return
        try:
            await self._send(call.reply_to, encode(answer))
        except BusUnreachableError as err:
            log.warning("Could not answer %r to %s: %s", call.op, call.reply_to, err)

    # -- news -------------------------------------------------------------------------------------

    async def publish_changed(self, change: GuildChanged) -> None:
        """Tell every process watching (``watch_changes``) that a guild's player changed. Lost in an
        outage (logged): watchers refresh on their own timer as well."""
        if self._telling(f"the change of guild {change.guild_id}"):
            await self._changes.publish(change)

    async def watch_changes(self, callback: ChangeCallback) -> Callable[[], None]:
        """Call ``callback`` (on the event loop; it must not block) with every ``GuildChanged`` any
        process publishes, this one's included. Returns the function that stops it."""
        unwatch = self._changes.add(callback)
        if self._node is not None and self._changes.wanted:
            await self._changes.listen()
        return unwatch

    async def put_guild_list(self, shard: int, guilds: GuildList) -> None:
        """Replace ``shard``'s list of guilds (kept without expiry). In an outage it is held back and
        written when the bus is reachable again (logged)."""
        if self._telling(f"the guild list of shard {shard}"):
            await self._guild_lists.put(shard, guilds)

    async def guild_lists(self) -> dict[int, GuildList]:
        """Every shard's last list, by shard, alive or not. ``BusUnreachableError`` in an outage."""
        self._started()
        return await self._guild_lists.all()


class LocalBus(TransportBus):
    """The bus inside one process (no ``REDIS_URL``). Buses given the same ``hub`` see each other, as
    processes on one Redis do (tests play a cluster so)."""

    def __init__(self, hub: LocalHub | None = None, *, ops: Ops, errors: ErrorKinds | None = None,
                 heartbeat_s: float = HEARTBEAT_S, expiry_s: float | None = None) -> None:
        super().__init__(LocalTransport(hub), ops=ops, errors=errors, heartbeat_s=heartbeat_s, expiry_s=expiry_s)


class RedisBus(TransportBus):
    """The bus over Redis at ``url`` (``REDIS_URL``); every key and channel starts with ``prefix``."""

    def __init__(self, url: str, *, ops: Ops, errors: ErrorKinds | None = None, prefix: str = "musicbot:",
                 heartbeat_s: float = HEARTBEAT_S, expiry_s: float | None = None) -> None:
        from musicbot.cluster.redis_transport import RedisTransport  # redis is imported only when scaled out

        self.transport = RedisTransport(url, Keys(prefix))
        super().__init__(self.transport, ops=ops, errors=errors, heartbeat_s=heartbeat_s, expiry_s=expiry_s)
