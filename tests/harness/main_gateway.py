"""Discord's main gateway (v10, JSON text frames) on :class:`~tests.harness.fake_discord.FakeDiscord`, for a bot
that really connects: ``musicbot run`` as a subprocess, or any discord.py client given the URL.

Three paths of the fake serve the same websocket, so a test sees where a bot connected (``GatewayConnection.path``):
``/gateway`` is :attr:`MainGateway.url`, what ``DISCORD_GATEWAY_URL`` (a gateway proxy) should say;
``/discord-gateway`` is what ``GET /gateway/bot`` answers (Discord's own gateway); ``/resume-gateway`` is READY's
``resume_gateway_url``. A bot that honours ``DISCORD_GATEWAY_URL`` for every connection only ever uses the first.

The websocket speaks:
op 10 HELLO → op 2 IDENTIFY → READY (the shard's guilds unavailable) + one GUILD_CREATE per guild of the shard
(``(guild_id >> 22) % shard_count == shard_id``, with the members and the voice states the fake holds);
op 1 → op 11 heartbeat ack; op 6 RESUME → the missed events replayed + RESUMED (op 9 INVALID_SESSION for an
unknown session); op 4 voice state → VOICE_STATE_UPDATE for the bot (+ VOICE_SERVER_UPDATE with the fake's voice
endpoint when joining), delivered ``voice_delay`` s later like Discord (discord.py's ``connect()`` hangs when they
come synchronously, see ``gateway.py``).

discord.py asks for ``compress=zlib-stream`` in the URL query but reads text frames as plain JSON, so the fake
answers uncompressed (the query is recorded on each :class:`GatewayConnection`).

State survives bot processes: guilds, voice states (users' and the bot's: a bot killed in a channel is still
there in the next GUILD_CREATE, as on Discord shortly after a crash), and everything recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from .payloads import APP_ID, BOT_USER, Payload, member, member_voice_state

GATEWAY_PATH = "/gateway"  # the "gateway proxy": DISCORD_GATEWAY_URL
DISCORD_PATH = "/discord-gateway"  # GET /gateway/bot's url
RESUME_PATH = "/resume-gateway"  # READY's resume_gateway_url
# Close codes Discord uses that tests need: 4000 unknown error (discord.py resumes), 4004 authentication failed
# (discord.py gives up), 4009 session timed out (re-identify).
CLOSE_UNKNOWN_ERROR = 4000
CLOSE_AUTHENTICATION_FAILED = 4004

T = TypeVar("T")


@dataclass(slots=True)
class GatewaySession:
    """One gateway session (what IDENTIFY creates and RESUME continues)."""

    session_id: str
    shard_id: int
    shard_count: int
    seq: int = 0
    events: list[Payload] = field(default_factory=list)  # every dispatch sent, for replay at RESUME
    connection: GatewayConnection | None = None  # the live connection, if any


@dataclass(slots=True)
class GatewayConnection:
    """One websocket a bot opened. ``received`` holds every frame the bot sent on it, in order."""

    path: str  # GATEWAY_PATH, DISCORD_PATH (from GET /gateway/bot) or RESUME_PATH (READY's resume_gateway_url)
    query: dict[str, str]
    ws: web.WebSocketResponse
    opened_at: float
    session: GatewaySession | None = None
    identify: Payload | None = None  # IDENTIFY's ``d``
    resumed: bool = False
    received: list[Payload] = field(default_factory=list)
    close_code: int | None = None  # set once the connection ended

    @property
    def shard_id(self) -> int | None:
        return None if self.session is None else self.session.shard_id


@dataclass(slots=True, frozen=True)
class BotVoiceUpdate:
    """An op 4 the bot sent: joining/moving to ``channel_id``, or leaving voice when it is None."""

    guild_id: int
    channel_id: int | None
    self_mute: bool
    self_deaf: bool
    shard_id: int | None
    t: float  # time.perf_counter() at receipt


class MainGateway:
    """The fake main gateway. Configure guilds (before or while bots run), then drive and observe:

    - ``add_guild(guild_payload(...))``; ``await set_user_voice(guild_id, user, channel_id)``
    - ``await wait_identified(shard_id, count=n)`` (IDENTIFYs so far across all bot processes)
    - ``await dispatch(event, data)`` (shard chosen from ``data['guild_id']``), ``await interaction(payload)``
    - ``bot_voice_updates(guild_id)``, ``bot_channel(guild_id)``, ``await wait_bot_channel(guild_id, channel_id)``
    - ``await close(shard_id, code)``: close that shard's live connection from the server side
    """

    def __init__(self, *, voice_endpoint: Callable[[], str], heartbeat_interval_ms: float = 41_250.0) -> None:
        self._voice_endpoint = voice_endpoint  # () -> "host:port", read when a bot joins (the TLS port may change)
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.voice_delay = 0.01
        self.recommended_shards = 1  # GET /gateway/bot's ``shards`` (used when SHARD_COUNT is not set)
        self.token: str | None = None  # when set, IDENTIFY/RESUME with another token is closed with 4004
        self.port = 0
        self.guilds: dict[int, Payload] = {}
        self.voice_states: dict[int, dict[int, Payload]] = {}  # guild → user → VOICE_STATE_UPDATE payload
        self.connections: list[GatewayConnection] = []
        self.sessions: dict[str, GatewaySession] = {}
        self.voice_updates: list[BotVoiceUpdate] = []
        self._session_ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()

    def install(self, app: web.Application) -> None:
        for path in (GATEWAY_PATH, DISCORD_PATH, RESUME_PATH):
            app.router.add_get(path, self._handler)

    @property
    def url(self) -> str:
        """What ``DISCORD_GATEWAY_URL`` (or ``GET /gateway/bot``) should say."""
        return f"ws://127.0.0.1:{self.port}{GATEWAY_PATH}"

    def bot_gateway(self) -> Payload:
        """The ``GET /gateway/bot`` answer (``GET /gateway`` says the same ``url``)."""
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
        url = f"ws://127.0.0.1:{self.port}{DISCORD_PATH}"
        return {"url": url, "shards": self.recommended_shards, "session_start_limit": limit}

    # ------------------------------------------------------------------ configuration
    def add_guild(self, guild: Payload) -> None:
        """A guild the bot is in (a :func:`~tests.harness.payloads.guild_payload`); sent in GUILD_CREATE."""
        self.guilds[int(guild["id"])] = copy.deepcopy(guild)
        self.voice_states.setdefault(int(guild["id"]), {})

    async def set_user_voice(self, guild_id: int, usr: Payload, channel_id: int | None) -> None:
        """A user (USER or MEMBER payload) joins, moves (``channel_id``) or leaves (None) voice; dispatched to a
        connected shard and remembered for the next GUILD_CREATE."""
        state = member_voice_state(guild_id, channel_id, usr)
        self._remember_member(guild_id, state["member"])
        self._set_voice_state(guild_id, state)
        await self.dispatch("VOICE_STATE_UPDATE", state, guild_id=guild_id)

    def _remember_member(self, guild_id: int, mem: Payload) -> None:
        members: list[Payload] = self.guilds[guild_id]["members"]
        if not any(m["user"]["id"] == mem["user"]["id"] for m in members):
            members.append(mem)

    def _set_voice_state(self, guild_id: int, state: Payload) -> None:
        states = self.voice_states.setdefault(guild_id, {})
        if state["channel_id"] is None:
            states.pop(int(state["user_id"]), None)
        else:
            states[int(state["user_id"])] = state

    # ------------------------------------------------------------------ observing
    def identifies(self, shard_id: int | None = None) -> list[GatewayConnection]:
        """Connections that sent IDENTIFY (for one shard or all), oldest first."""
        return [c for c in self.connections if c.identify is not None and (shard_id is None or c.shard_id == shard_id)]

    def resumes(self, shard_id: int | None = None) -> list[GatewayConnection]:
        return [c for c in self.connections if c.resumed and (shard_id is None or c.shard_id == shard_id)]

    def live(self, shard_id: int) -> GatewayConnection | None:
        """The shard's open connection that identified or resumed, if any (the newest)."""
        for conn in reversed(self.connections):
            if conn.shard_id == shard_id and conn.close_code is None and not conn.ws.closed:
                return conn
        return None

    async def wait_identified(self, shard_id: int = 0, *, count: int = 1, timeout: float = 60.0) -> GatewaySession:
        """Wait until the shard has been identified ``count`` times in all (READY and GUILD_CREATEs sent)."""
        def identified() -> GatewaySession | None:
            done = self.identifies(shard_id)
            return done[-1].session if len(done) >= count else None

        return await _wait(identified, timeout,
                           lambda: f"shard {shard_id}: {len(self.identifies(shard_id))}/{count} IDENTIFYs")

    def bot_voice_updates(self, guild_id: int | None = None) -> list[BotVoiceUpdate]:
        return [u for u in self.voice_updates if guild_id is None or u.guild_id == guild_id]

    def bot_channel(self, guild_id: int) -> int | None:
        """The voice channel the bot last asked to be in (None: never joined, or left)."""
        updates = self.bot_voice_updates(guild_id)
        return updates[-1].channel_id if updates else None

    async def wait_bot_channel(
        self, guild_id: int, channel_id: int | None, *, after: int = 0, timeout: float = 30.0
    ) -> BotVoiceUpdate:
        """Wait until an op 4 for the guild, among those after the first ``after`` ones, asks for ``channel_id``
        (None = left voice). Returns it."""
        def match() -> BotVoiceUpdate | None:
            return next((u for u in self.bot_voice_updates(guild_id)[after:] if u.channel_id == channel_id), None)

        return await _wait(match, timeout, lambda: f"guild {guild_id}: bot voice updates "
                           f"{[u.channel_id for u in self.bot_voice_updates(guild_id)]}, none to {channel_id}")

    # ------------------------------------------------------------------ driving
    def shard_of(self, guild_id: int, shard_count: int) -> int:
        return (guild_id >> 22) % shard_count

    async def dispatch(
        self, event: str, data: Payload, *, guild_id: int | None = None, shard_id: int | None = None
    ) -> bool:
        """Send a dispatch (op 0) to the live connection of the shard that owns ``guild_id`` (default
        ``data['guild_id']``) or to ``shard_id``. False when no such shard is connected."""
        if shard_id is None:
            gid = guild_id if guild_id is not None else int(data["guild_id"])
            conn = next((c for c in self._live_all() if c.session and
                         self.shard_of(gid, c.session.shard_count) == c.session.shard_id), None)
        else:
            conn = self.live(shard_id)
        if conn is None or conn.session is None:
            return False
        await self._send_dispatch(conn.session, event, data)
        return True

    async def interaction(self, payload: Payload) -> None:
        """INTERACTION_CREATE for a payload made with the fake's builders (``fake.slash(...)``, registered there so
        its REST callbacks and followups are understood)."""
        if not await self.dispatch("INTERACTION_CREATE", payload):
            raise LookupError(f"no shard connected for guild {payload.get('guild_id')}")

    async def close(self, shard_id: int, code: int = CLOSE_UNKNOWN_ERROR) -> None:
        """Close the shard's live connection with ``code`` (4000: discord.py resumes; 4004: it gives up)."""
        conn = self.live(shard_id)
        if conn is None:
            raise LookupError(f"shard {shard_id} is not connected")
        conn.close_code = code
        await conn.ws.close(code=code)

    async def close_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for conn in self._live_all():
            await conn.ws.close(code=1001)

    def _live_all(self) -> list[GatewayConnection]:
        return [c for c in self.connections if c.close_code is None and not c.ws.closed]

    # ------------------------------------------------------------------ the websocket
    async def _handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        conn = GatewayConnection(request.path, dict(request.query), ws, time.perf_counter())
        self.connections.append(conn)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}, "s": None, "t": None})
        try:
            async for msg in ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                conn.received.append(frame)
                await self._on_frame(conn, frame["op"], frame.get("d"))
        finally:
            if conn.close_code is None:
                conn.close_code = ws.close_code if ws.close_code is not None else 1006
            if conn.session is not None and conn.session.connection is conn:
                conn.session.connection = None
        return ws

    async def _on_frame(self, conn: GatewayConnection, op: int, d: Any) -> None:
        if op == 1:  # HEARTBEAT
            await conn.ws.send_json({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            await self._identify(conn, d)
        elif op == 6:
            await self._resume(conn, d)
        elif op == 4 and conn.session is not None:
            self._voice_state(conn.session, d)
        # op 3 (presence) and op 8 (request members) are only recorded

    async def _identify(self, conn: GatewayConnection, d: Payload) -> None:
        if self.token is not None and d.get("token") != self.token:
            conn.close_code = CLOSE_AUTHENTICATION_FAILED
            await conn.ws.close(code=CLOSE_AUTHENTICATION_FAILED)
            return
        shard_id, shard_count = d.get("shard") or (0, 1)
        session = GatewaySession(f"fake-gateway-session-{next(self._session_ids)}", int(shard_id), int(shard_count))
        self.sessions[session.session_id] = session
        session.connection, conn.session = conn, session
        mine = [g for gid, g in self.guilds.items() if self.shard_of(gid, session.shard_count) == session.shard_id]
        await self._send_dispatch(session, "READY", {
            "v": 10,
            "user": BOT_USER,
            "session_id": session.session_id,
            "resume_gateway_url": f"ws://127.0.0.1:{self.port}{RESUME_PATH}",
            "shard": [session.shard_id, session.shard_count],
            "application": {"id": str(APP_ID), "flags": 0},
            "guilds": [{"id": g["id"], "unavailable": True} for g in mine],
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "geo_ordered_rtc_regions": [],
        })
        for guild in mine:
            await self._send_dispatch(session, "GUILD_CREATE", self._guild_create(int(guild["id"])))
        conn.identify = d  # last: wait_identified() returns once the guilds were sent

    def _guild_create(self, guild_id: int) -> Payload:
        data = copy.deepcopy(self.guilds[guild_id])
        data["voice_states"] = [
            {k: v for k, v in state.items() if k not in ("guild_id", "member")}
            for state in self.voice_states.get(guild_id, {}).values()
        ]
        return data

    async def _resume(self, conn: GatewayConnection, d: Payload) -> None:
        session = self.sessions.get(str(d.get("session_id")))
        if session is None or (self.token is not None and d.get("token") != self.token):
            await conn.ws.send_json({"op": 9, "d": False, "s": None, "t": None})  # INVALID_SESSION, not resumable
            return
        old = session.connection
        session.connection, conn.session, conn.resumed = conn, session, True
        if old is not None and not old.ws.closed:
            old.close_code = 4009  # Discord ends the previous connection of a resumed session
            await old.ws.close(code=4009)
        seq = int(d.get("seq") or 0)
        for frame in session.events:
            if frame["s"] > seq:
                await conn.ws.send_json(frame)
        await self._send_dispatch(session, "RESUMED", {})

    def _voice_state(self, session: GatewaySession, d: Payload) -> None:
        gid = int(d["guild_id"])
        cid = None if d.get("channel_id") is None else int(d["channel_id"])
        self.voice_updates.append(BotVoiceUpdate(gid, cid, bool(d.get("self_mute")), bool(d.get("self_deaf")),
                                                 session.shard_id, time.perf_counter()))
        state = member_voice_state(gid, cid, member(BOT_USER), session_id=session.session_id,
                                   self_mute=bool(d.get("self_mute")), self_deaf=bool(d.get("self_deaf")))
        if gid in self.guilds:
            self._set_voice_state(gid, state)
        self._spawn(self._deliver_voice(session, gid, cid, state))

    async def _deliver_voice(self, session: GatewaySession, guild_id: int, channel_id: int | None,
                             state: Payload) -> None:
        await asyncio.sleep(self.voice_delay)
        if session.connection is None:
            return
        await self._send_dispatch(session, "VOICE_STATE_UPDATE", state)
        if channel_id is not None:
            server = {"token": f"voice-token-{session.session_id}", "guild_id": str(guild_id),
                      "endpoint": self._voice_endpoint()}
            await self._send_dispatch(session, "VOICE_SERVER_UPDATE", server)

    async def _send_dispatch(self, session: GatewaySession, event: str, data: Payload) -> None:
        session.seq += 1
        frame = {"op": 0, "s": session.seq, "t": event, "d": data}
        session.events.append(frame)
        conn = session.connection
        if conn is not None and not conn.ws.closed:
            with contextlib.suppress(ConnectionError):  # the bot went away meanwhile; the event stays for a RESUME
                await conn.ws.send_json(frame)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _wait(check: Callable[[], T | None], timeout: float, describe: Callable[[], str]) -> T:
    deadline = time.perf_counter() + timeout
    while not (found := check()):
        if time.perf_counter() > deadline:
            raise TimeoutError(f"after {timeout}s: {describe()}")
        await asyncio.sleep(0.02)
    return found


__all__ = [
    "CLOSE_AUTHENTICATION_FAILED",
    "CLOSE_UNKNOWN_ERROR",
    "DISCORD_PATH",
    "GATEWAY_PATH",
    "RESUME_PATH",
    "BotVoiceUpdate",
    "GatewayConnection",
    "GatewaySession",
    "MainGateway",
]
