"""The bus over Redis (``REDIS_URL``), with redis-py's asyncio client.

- Channels are Redis pub/sub channels: at most once, nothing kept for a process that is not
  listening; an answer that never comes is a call that times out, which the bus reports as the
  guild being unavailable.
- Presence: each node's announcement under a key that expires (``SET … PX``), plus a set of the node
  ids, so listing the nodes is two commands instead of a ``SCAN`` over the whole database. Ids whose
  key expired are pruned from the set by whoever lists them.
- Guild lists: one hash, shard number -> list, never expiring.

One connection carries commands (redis-py's pool), one more listens to the channels. The listener
reconnects by itself with backoff when Redis goes away and subscribes again to every channel; it
pings every ``PING_EVERY_S`` and reconnects when nothing came back for three of them, so a
connection that died without a word (a NAT or firewall forgetting it) is noticed too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import defaultdict
from collections.abc import Awaitable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError

from musicbot.cluster.errors import BusUnreachableError
from musicbot.cluster.transport import Deliver, Keys

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 2.0
COMMAND_TIMEOUT_S = 2.0  # a command that takes longer is an outage: callers answer "try again shortly"
SUBSCRIBE_TIMEOUT_S = 5.0
PING_EVERY_S = 5.0
SILENT_PINGS = 3  # pings without any answer before the listening connection counts as dead
RETRY_FIRST_S = 0.1
RETRY_MAX_S = 2.0

T = TypeVar("T")


def _text(value: bytes | str) -> str:
    # The client is made without decode_responses, so replies are bytes; redis-py types them as either.
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def redacted(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class RedisTransport:
    def __init__(self, url: str, keys: Keys | None = None) -> None:
        self.url = url
        self.keys = keys or Keys()
        self.client_name = ""  # set by open(): CLIENT LIST shows which node each connection is
        self._client: Redis | None = None
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._listening = False
        self._delivers: dict[str, Deliver] = {}
        self._confirmations: defaultdict[str, list[asyncio.Future[None]]] = defaultdict(list)
        # The reader's (re)connection and subscribe() both send SUBSCRIBE on the listening
        # connection; one at a time, so neither connects a second one or misses a channel.
        self._subscribing = asyncio.Lock()

    def _unreachable(self, err: object) -> BusUnreachableError:
        return BusUnreachableError(f"Redis at REDIS_URL ({redacted(self.url)}) is not reachable ({err})")

    async def open(self, name: str = "musicbot") -> None:
        self.client_name = re.sub(r"\s", "_", name)[:120]
        try:
            client = Redis.from_url(
                self.url, client_name=self.client_name,
                socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=COMMAND_TIMEOUT_S,
                # One quick retry on a fresh connection: after Redis restarts, each pooled connection
                # fails once before anything is wrong. More would only delay "try again shortly".
                retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 1))
        except ValueError as err:  # not a redis:// (rediss://, unix://) address
            raise BusUnreachableError(f"REDIS_URL is not a Redis address ({err}); "
                                      "write it as redis://host:6379/0") from err
        try:
            await client.ping()
        except (RedisError, OSError) as err:
            await client.aclose()
            raise BusUnreachableError(f"{self._unreachable(err)}. Start Redis or correct REDIS_URL; "
                                      "without REDIS_URL the bot runs as one process.") from err
        self._client = client

    @property
    def listening(self) -> bool:
        return self._listening

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        for waiters in self._confirmations.values():
            for waiter in waiters:
                waiter.cancel()
        self._confirmations.clear()
        self._delivers.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _do(self, command: Awaitable[T]) -> T:
        try:
            return await command
        except (RedisError, OSError) as err:
            raise self._unreachable(err) from err

    @property
    def _redis(self) -> Redis:
        if self._client is None:
            raise RuntimeError("The Redis transport is not open")
        return self._client

    async def publish(self, channel: str, data: bytes) -> None:
        await self._do(self._redis.publish(channel, data))

    async def set_presence(self, node_id: str, data: bytes, expiry_s: float) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(self.keys.node(node_id), data, px=max(1, round(expiry_s * 1000)))
        pipe.sadd(self.keys.nodes, node_id)
        await self._do(pipe.execute())

    async def drop_presence(self, node_id: str) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.delete(self.keys.node(node_id))
        pipe.srem(self.keys.nodes, node_id)
        await self._do(pipe.execute())

    async def presences(self) -> list[bytes]:
        members = await self._do(self._redis.smembers(self.keys.nodes))
        ids = sorted(_text(member) for member in members)
        if not ids:
            return []
        values = await self._do(self._redis.mget([self.keys.node(i) for i in ids]))
        gone = [node_id for node_id, value in zip(ids, values, strict=True) if value is None]
        if gone:  # expired: a process that stopped without saying so
            await self._do(self._redis.srem(self.keys.nodes, *gone))
        return [_bytes(value) for value in values if value is not None]

    async def put_guild_list(self, shard: int, data: bytes) -> None:
        await self._do(self._redis.hset(self.keys.guild_lists, str(shard), data))

    async def guild_lists(self) -> dict[str, bytes]:
        raw = await self._do(self._redis.hgetall(self.keys.guild_lists))
        return {_text(key): _bytes(value) for key, value in raw.items()}

    async def subscribe(self, channel: str, deliver: Deliver) -> None:
        self._delivers[channel] = deliver
        confirmed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._confirmations[channel].append(confirmed)
        try:
            if self._reader is None:
                self._reader = asyncio.create_task(self._listen(), name=f"redis-listener:{self.client_name}")
            else:
                async with self._subscribing:
                    if self._pubsub is not None:
                        with contextlib.suppress(RedisError, OSError):  # the reader reconnects and resubscribes
                            await self._pubsub.subscribe(channel)
            await asyncio.wait_for(asyncio.shield(confirmed), SUBSCRIBE_TIMEOUT_S)
        except TimeoutError as err:
            raise self._unreachable(f"no confirmation of SUBSCRIBE {channel} in {SUBSCRIBE_TIMEOUT_S:.0f} s") from err
        finally:
            with contextlib.suppress(ValueError):
                self._confirmations[channel].remove(confirmed)

    async def _listen(self) -> None:
        """The listening connection, for as long as the transport is open (its own task)."""
        delay_s = RETRY_FIRST_S
        lost = False
        while True:
            pubsub = self._redis.pubsub()
            try:
                async with self._subscribing:
                    self._pubsub = pubsub
                    await pubsub.subscribe(*self._delivers)
                self._listening = True
                if lost:
                    log.warning("Redis is reachable again: listening on %d channels", len(self._delivers))
                    lost, delay_s = False, RETRY_FIRST_S
                await self._read(pubsub)
            except (RedisError, OSError) as err:
                level = logging.DEBUG if lost else logging.WARNING  # once per outage, not once per retry
                log.log(level, "Lost the Redis connection (%s): bus messages wait until it is back; retrying in %.1f s",
                        err, delay_s)
                lost = True
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * 2, RETRY_MAX_S)
            finally:
                self._pubsub, self._listening = None, False
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()

    async def _read(self, pubsub: PubSub) -> None:
        loop = asyncio.get_running_loop()
        last_heard = last_ping = loop.time()
        while True:
            if loop.time() - last_ping >= PING_EVERY_S:
                await pubsub.ping()
                last_ping = loop.time()
            message = await pubsub.get_message(timeout=PING_EVERY_S)
            if message is not None:
                last_heard = loop.time()
                self._dispatch(message)
            elif loop.time() - last_heard > SILENT_PINGS * PING_EVERY_S:
                raise ConnectionError(f"no answer from Redis for {SILENT_PINGS * PING_EVERY_S:g} s")

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind, channel = message.get("type"), message.get("channel")
        name = channel.decode(errors="replace") if isinstance(channel, bytes) else str(channel)
        if kind == "subscribe":
            for waiter in self._confirmations.get(name, ()):
                if not waiter.done():
                    waiter.set_result(None)
        elif kind == "message":
            deliver = self._delivers.get(name)
            if deliver is not None:
                try:
                    deliver(message["data"])
                except Exception:  # a bug in the bus must not end the listening loop
                    log.exception("Delivering a message from %s failed", name)
