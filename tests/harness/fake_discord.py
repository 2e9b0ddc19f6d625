"""A local fake of Discord for offline tests: REST (/api/v10), main gateway, voice gateway websocket and voice UDP.

Everything binds to 127.0.0.1. Point discord.py at it with :meth:`FakeDiscord.start` (sets
``discord.http.Route.BASE``; :meth:`FakeDiscord.stop` restores it) and :func:`tests.harness.gateway.make_offline`,
or (a bot that really connects, e.g. ``musicbot run``) with ``DISCORD_API_BASE=fake.base_url`` and
``DISCORD_GATEWAY_URL=fake.main_gateway.url`` (:mod:`tests.harness.main_gateway`).

REST can be served under any prefix (``FakeDiscord(api_prefix="/proxy/api/v10")``), as a REST proxy such as
nirn-proxy would; only that prefix is served then, and a request anywhere else is recorded in ``unrouted``.
The voice websocket can also be served over TLS (:meth:`FakeDiscord.serve_voice_tls`), which discord.py's
hard-coded ``wss://`` voice URL needs when the bot cannot be patched.

Voice: every voice websocket gets its own SSRC and secret key at IDENTIFY; the SSRC is mapped to the guild
from IDENTIFY's ``server_id``, so many guilds can stream at once over the one UDP socket. A RESUME (op 7)
keeps the guild's session (same SSRC/key) and is answered with RESUMED (op 9). The UDP socket is served by
a dedicated thread that takes the kernel receive timestamp (``SO_TIMESTAMPNS``) of each datagram, converted
to the ``time.perf_counter()`` clock, so arrival times do not depend on how busy the event loop is.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import socket
import ssl
import struct
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import nacl.secret
from aiohttp import web
from discord.http import Route

from .main_gateway import MainGateway
from .payloads import (
    APP_INFO,
    BOT_USER,
    Options,
    Payload,
    autocomplete_payload,
    component_payload,
    message_payload,
    modal_submit_payload,
    next_snowflake,
    slash_payload,
)

VOICE_MODES = ["aead_aes256_gcm_rtpsize", "aead_xchacha20_poly1305_rtpsize"]
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux value; CPython does not export it


def json_response(obj: Any, status: int = 200) -> web.Response:
    """discord.http.json_or_text only parses JSON when Content-Type is *exactly* ``application/json``."""
    return web.Response(body=json.dumps(obj).encode(), status=status, headers={"Content-Type": "application/json"})


@dataclass(slots=True)
class RecordedRequest:
    method: str
    path: str  # without the /api/v10 prefix, e.g. '/channels/11/messages'
    query: dict[str, str]
    json: Any  # parsed JSON body (multipart: payload_json, plus '_files': [filenames]); None if no body
    t: float  # time.perf_counter() at receipt
    url_path: str = ""  # the path as requested, prefix included, e.g. '/proxy/api/v10/channels/11/messages'


@dataclass(slots=True)
class VoiceFrame:
    """One frame the bot sent on a voice websocket (``op`` -1 … for binary frames: ``d`` is the raw bytes)."""

    guild_id: int | None
    op: int
    d: Any
    t: float


@dataclass(slots=True, frozen=True)
class RtpPacket:
    guild_id: int | None  # None if the SSRC is unknown (never announced in a READY)
    seq: int
    timestamp: int
    ssrc: int
    opus: bytes  # decrypted payload (b'' if decryption failed)
    t_recv: float  # kernel receive time on the perf_counter clock (falls back to perf_counter at handling)
    t_handled: float = 0.0  # perf_counter when the receiver thread handled it


@dataclass(slots=True)
class VoiceSession:
    guild_id: int
    ssrc: int
    secret_key: bytes
    user_id: int
    session_id: str
    mode: str | None = None
    identified_at: float = field(default_factory=time.perf_counter)
    resumes: int = 0


RestHandler = Callable[[RecordedRequest, "re.Match[str]"], Awaitable[web.StreamResponse] | web.StreamResponse]


class FakeDiscord:
    """aiohttp server: REST under ``/api/v10`` (or ``api_prefix``), voice websocket at ``/``, the main gateway at
    ``/gateway`` (``main_gateway``), plus a UDP voice socket.

    Recorded state (read freely from tests):
      ``requests``      every REST call (:class:`RecordedRequest`), in order
      ``unrouted``      (method, path) of every HTTP request outside the REST prefix and the websockets
      ``messages``      message id → MESSAGE payload (created by callbacks, followups, channel sends; edits merged)
      ``commands``      scope (``'global'`` or guild id) → last bulk-overwritten command list (with ids)
      ``voice_frames``  every JSON frame any bot sent on any voice websocket (:class:`VoiceFrame`)
      ``rtp``           every RTP packet received, all guilds, in arrival order (:class:`RtpPacket`)
      ``sessions``      guild id → current :class:`VoiceSession`
    """

    def __init__(self, *, heartbeat_interval_ms: float = 5000.0, api_prefix: str = "/api/v10") -> None:
        if not api_prefix.startswith("/") or api_prefix.endswith("/"):
            raise ValueError(f"api_prefix must start with / and not end with one, got {api_prefix!r}")
        self.api_prefix = api_prefix
        self.requests: list[RecordedRequest] = []
        self.unrouted: list[tuple[str, str]] = []
        self.messages: dict[str, Payload] = {}
        self.deleted_messages: set[str] = set()
        self.commands: dict[str | int, list[Payload]] = {}
        self.voice_frames: list[VoiceFrame] = []
        self.rtp: list[RtpPacket] = []
        self.sessions: dict[int, VoiceSession] = {}
        self.udp_errors: list[str] = []
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.port = 0
        self.udp_port = 0
        self.voice_port: int | None = None  # the TLS site's port once serve_voice_tls() ran
        self._ssrcs = itertools.count(1001)
        self._ssrc_session: dict[int, VoiceSession] = {}
        self._interactions: dict[str, Payload] = {}  # token -> INTERACTION_CREATE payload
        self._handlers: list[tuple[str, re.Pattern[str], RestHandler]] = []
        self._voice_ws: dict[int, web.WebSocketResponse] = {}
        self._rtp_lock = threading.Lock()
        self._runner: web.AppRunner | None = None
        self._udp: _UdpReceiver | None = None
        self._old_base: str | None = None
        self._tls_site: web.TCPSite | None = None
        self.main_gateway = MainGateway(voice_endpoint=lambda: self.voice_endpoint)
        self.app = web.Application()
        self.app.router.add_get("/", self._voice_ws_handler)
        self.main_gateway.install(self.app)
        self.app.router.add_route("*", api_prefix + "/{tail:.*}", self._rest)
        self.app.router.add_route("*", "/{tail:.*}", self._unrouted)  # last: anything no route above took

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        self._runner = web.AppRunner(self.app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.main_gateway.port = self.port
        self._udp = _UdpReceiver(self)
        self._udp.start()
        self.udp_port = self._udp.port
        self._old_base = Route.BASE
        Route.BASE = self.base_url  # REST + webhooks + interaction callbacks

    async def stop(self) -> None:
        if self._old_base is not None:
            Route.BASE = self._old_base
            self._old_base = None
        for ws in list(self._voice_ws.values()):
            await ws.close()
        await self.main_gateway.close_all()
        if self._udp is not None:
            self._udp.stop()
            self._udp = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """What ``DISCORD_API_BASE`` / ``Route.BASE`` should say (the prefix included)."""
        return f"http://127.0.0.1:{self.port}{self.api_prefix}"

    @property
    def voice_endpoint(self) -> str:
        """What VOICE_SERVER_UPDATE's ``endpoint`` should say (the TLS port once :meth:`serve_voice_tls` ran)."""
        return f"127.0.0.1:{self.voice_port or self.port}"

    async def serve_voice_tls(self, context: ssl.SSLContext) -> int:
        """Serve this app (the voice websocket is what matters) over TLS too, on a port of its own, and hand
        that port out as the voice endpoint: discord.py then really speaks ``wss://``, trusting the certificate
        only if its TLS context does (a subprocess bot: ``SSL_CERT_FILE``). Build ``context`` with
        :func:`tests.harness.tls.server_context`. Returns the port."""
        if self._runner is None:
            raise RuntimeError("start() the fake first")
        self._tls_site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
        await self._tls_site.start()
        server = self._tls_site._server
        assert server is not None
        self.voice_port = int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
        return self.voice_port

    # ------------------------------------------------------------------ REST: queries
    def calls(self, method: str | None = None, pattern: str = "") -> list[RecordedRequest]:
        """Recorded REST calls filtered by method and a regex searched in the path."""
        return [r for r in self.requests if (method is None or r.method == method) and re.search(pattern, r.path)]

    def callbacks(self, interaction: Payload | None = None) -> list[Payload]:
        """JSON bodies of interaction callbacks (``{'type': 4, 'data': {...}}``), optionally for one interaction."""
        pat = (
            r"^/interactions/\d+/[^/]+/callback$"
            if interaction is None
            else (rf"^/interactions/{interaction['id']}/{re.escape(interaction['token'])}/callback$")
        )
        return [r.json for r in self.calls("POST", pat)]

    def followups(self, interaction: Payload | None = None) -> list[RecordedRequest]:
        """Webhook calls for interactions: followups (POST), ``@original``/message edits (PATCH), deletes."""
        tok = r"[^/]+" if interaction is None else re.escape(interaction["token"])
        return self.calls(None, rf"^/webhooks/\d+/{tok}(/|$)")

    def channel_messages(self, channel_id: int | str) -> list[Payload]:
        """Live (not deleted) messages in a channel, oldest first (includes interaction responses)."""
        return [m for m in self.messages.values() if m["channel_id"] == str(channel_id)]

    def last_message(self, channel_id: int | str | None = None) -> Payload:
        msgs = list(self.messages.values()) if channel_id is None else self.channel_messages(channel_id)
        if not msgs:
            raise LookupError("no messages recorded")
        return msgs[-1]

    async def wait_for_request(
        self, method: str | None = None, pattern: str = "", *, count: int = 1, timeout: float = 5.0
    ) -> list[RecordedRequest]:
        """Wait until at least ``count`` matching REST calls are recorded; returns them."""
        deadline = time.perf_counter() + timeout
        while True:
            found = self.calls(method, pattern)
            if len(found) >= count:
                return found
            if time.perf_counter() > deadline:
                seen = [(r.method, r.path) for r in self.requests]
                raise TimeoutError(f"{count} x {method} {pattern!r} not seen; got {seen}")
            await asyncio.sleep(0.005)

    def add_handler(self, method: str, pattern: str, handler: RestHandler) -> None:
        """Override a REST route: ``handler(request, match)`` for ``method`` + path regex (fullmatch), checked
        before the defaults, most recent first. Use it to inject errors, e.g. ``json_response({...}, 403)``."""
        self._handlers.insert(0, (method.upper(), re.compile(pattern), handler))

    def register_interaction(self, payload: Payload) -> Payload:
        """Make the fake know an INTERACTION_CREATE (for callbacks/followups on its token). Returns it."""
        self._interactions[payload["token"]] = payload
        return payload

    # ------------------------------------------------------------------ INTERACTION_CREATE builders (registered)
    def slash(self, name: str, options: Options = None, *, guild_id: int, channel_id: int, **kw: Any) -> Payload:
        """:func:`~tests.harness.payloads.slash_payload`, registered with the fake (see its keyword arguments)."""
        return self.register_interaction(slash_payload(name, options, guild_id=guild_id, channel_id=channel_id, **kw))

    def autocomplete(
        self, name: str, options: Options, *, focused: str, guild_id: int, channel_id: int, **kw: Any
    ) -> Payload:
        return self.register_interaction(
            autocomplete_payload(name, options, focused=focused, guild_id=guild_id, channel_id=channel_id, **kw)
        )

    def _resolve_message(self, message: Payload | str | int | None, channel_id: int | None) -> Payload:
        if isinstance(message, dict):
            return message
        if message is None:
            if channel_id is None:
                return self.last_message()
            return self.last_message(channel_id)
        return self.messages[str(message)]

    def click(
        self,
        custom_id: str,
        *,
        guild_id: int,
        message: Payload | str | int | None = None,
        channel_id: int | None = None,
        **kw: Any,
    ) -> Payload:
        """A button click on ``message`` (MESSAGE payload or recorded message id; default: the last message
        recorded in ``channel_id``/anywhere)."""
        msg = self._resolve_message(message, channel_id)
        return self.register_interaction(
            component_payload(custom_id, message=msg, guild_id=guild_id, channel_id=channel_id, **kw)
        )

    def select(
        self,
        custom_id: str,
        values: list[str],
        *,
        guild_id: int,
        message: Payload | str | int | None = None,
        channel_id: int | None = None,
        **kw: Any,
    ) -> Payload:
        """A string-select choice (component_type 3) on ``message`` (as in :meth:`click`)."""
        msg = self._resolve_message(message, channel_id)
        return self.register_interaction(
            component_payload(
                custom_id, message=msg, guild_id=guild_id, channel_id=channel_id, component_type=3, values=values, **kw
            )
        )

    def modal_submit(
        self, custom_id: str, values: dict[str, str], *, guild_id: int, channel_id: int, **kw: Any
    ) -> Payload:
        return self.register_interaction(
            modal_submit_payload(custom_id, values, guild_id=guild_id, channel_id=channel_id, **kw)
        )

    # ------------------------------------------------------------------ REST: server
    def _new_message(
        self, channel_id: int | str, body: Payload, mid: str | None = None, guild_id: str | None = None
    ) -> Payload:
        msg = message_payload(
            channel_id,
            content=body.get("content") or "",
            embeds=body.get("embeds") or [],
            components=body.get("components") or [],
            message_id=mid,
            flags=body.get("flags") or 0,
            guild_id=guild_id,
        )
        self.messages[msg["id"]] = msg
        return msg

    def _edit_message(self, mid: str, body: Payload, channel_id: int | str = 0) -> Payload:
        msg = self.messages.get(mid)
        if msg is None:
            msg = self._new_message(channel_id, {}, mid)
        for key in ("content", "embeds", "components", "flags", "attachments"):
            if key in body:
                msg[key] = body[key] if body[key] is not None else ([] if key != "content" else "")
        msg["edited_timestamp"] = "2026-01-01T00:00:01.000000+00:00"
        return msg

    def _delete_message(self, mid: str) -> None:
        self.messages.pop(mid, None)
        self.deleted_messages.add(mid)

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        body: Any = None
        if request.content_type == "application/json" and request.can_read_body:
            body = await request.json()
        elif request.content_type.startswith("multipart/"):
            form = await request.post()
            raw = form.get("payload_json")
            body = json.loads(raw) if isinstance(raw, str) else {}
            body["_files"] = [f.filename for f in form.values() if isinstance(f, web.FileField)]
        rec = RecordedRequest(request.method, path, dict(request.query), body, time.perf_counter(), request.path)
        self.requests.append(rec)
        for method, pattern, handler in self._handlers:
            if method in ("*", request.method) and (m := pattern.fullmatch(path)):
                res = handler(rec, m)
                return res if isinstance(res, web.StreamResponse) else await res
        return self._default_rest(request.method, path, body if isinstance(body, dict) else {}, body)

    async def _unrouted(self, request: web.Request) -> web.StreamResponse:
        self.unrouted.append((request.method, request.path))
        return json_response({"message": f"fake: nothing at {request.path} (REST is under {self.api_prefix})"}, 404)

    def _default_rest(self, m: str, path: str, body: Payload, raw: Any) -> web.StreamResponse:
        if m == "GET" and path == "/users/@me":
            return json_response(BOT_USER)
        if m == "GET" and path == "/oauth2/applications/@me":
            return json_response(APP_INFO)
        if m == "GET" and path == "/gateway":
            return json_response({"url": self.main_gateway.bot_gateway()["url"]})
        if m == "GET" and path == "/gateway/bot":
            return json_response(self.main_gateway.bot_gateway())
        if (r := re.fullmatch(r"/interactions/(\d+)/([^/]+)/callback", path)) and m == "POST":
            return json_response(self._interaction_callback(r.group(1), r.group(2), body))
        if r := re.fullmatch(r"/webhooks/(\d+)/([^/]+)(?:/messages/([^/]+))?", path):
            return self._webhook(m, r.group(2), r.group(3), body)
        if r := re.fullmatch(r"/channels/(\d+)/messages", path):
            if m == "POST":
                return json_response(self._new_message(r.group(1), body))
            if m == "GET":
                return json_response(list(reversed(self.channel_messages(r.group(1)))))
        if r := re.fullmatch(r"/channels/(\d+)/messages/(\d+)", path):
            mid = r.group(2)
            if m == "PATCH":
                return json_response(self._edit_message(mid, body, r.group(1)))
            if m == "DELETE":
                self._delete_message(mid)
                return web.Response(status=204)
            if m == "GET":
                if mid in self.messages:
                    return json_response(self.messages[mid])
                return json_response({"message": "Unknown Message", "code": 10008}, 404)
        if re.fullmatch(r"/channels/\d+/(typing|messages/\d+/reactions/.*)", path):
            return web.Response(status=204)
        if r := re.fullmatch(r"/applications/(\d+)(?:/guilds/(\d+))?/commands", path):
            scope: str | int = int(r.group(2)) if r.group(2) else "global"
            if m == "PUT":
                self.commands[scope] = [self._command(c, r.group(1), r.group(2)) for c in (raw or [])]
                return json_response(self.commands[scope])
            if m == "GET":
                return json_response(self.commands.get(scope, []))
        return json_response({"message": f"fake: unhandled {m} {path}", "code": 0}, 404)

    def _command(self, cmd: Payload, app_id: str, guild_id: str | None) -> Payload:
        out: Payload = {
            "id": next_snowflake(),
            "application_id": app_id,
            "version": next_snowflake(),
            "type": 1,
            "description": "",
            "options": [],
            "default_member_permissions": None,
            **cmd,
        }
        if guild_id is not None:
            out["guild_id"] = guild_id
        return out

    def _interaction_callback(self, interaction_id: str, token: str, body: Payload) -> Payload:
        inter = self._interactions.get(token, {})
        channel_id = inter.get("channel_id", "0")
        guild_id = inter.get("guild_id")
        itype, data = body.get("type"), body.get("data") or {}
        out: Payload = {
            "interaction": {
                "id": interaction_id,
                "type": inter.get("type", 2),
                "response_message_loading": itype == 5,
                "response_message_ephemeral": bool((data.get("flags") or 0) & 64),
            }
        }
        msg: Payload | None = None
        if itype in (4, 5):  # CHANNEL_MESSAGE_WITH_SOURCE, DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
            msg = self._new_message(channel_id, data if itype == 4 else {"flags": data.get("flags")}, guild_id=guild_id)
            inter["_original"] = msg["id"]
        elif itype in (6, 7) and "message" in inter:  # DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE
            mid = inter["message"]["id"]
            msg = self._edit_message(mid, data, channel_id) if itype == 7 else self.messages.get(mid, inter["message"])
            inter["_original"] = mid
        if msg is not None:
            out["interaction"]["response_message_id"] = msg["id"]
            out["resource"] = {"type": itype, "message": msg}
        elif itype is not None:
            out["resource"] = {"type": itype}
        return out

    def _webhook(self, m: str, token: str, mid: str | None, body: Payload) -> web.StreamResponse:
        inter = self._interactions.get(token, {})
        channel_id = inter.get("channel_id", "0")
        if mid == "@original":
            mid = inter.get("_original")
            if mid is None:  # editing the original response before any callback: Discord says 404
                return json_response({"message": "Unknown Message", "code": 10008}, 404)
        if m == "DELETE":
            if mid:
                self._delete_message(mid)
            return web.Response(status=204)
        if m == "GET":
            if mid and mid in self.messages:
                return json_response(self.messages[mid])
            return json_response({"message": "Unknown Message", "code": 10008}, 404)
        if m == "PATCH" and mid:
            return json_response(self._edit_message(mid, body, channel_id))
        if m == "POST":  # followup
            return json_response(self._new_message(channel_id, body, guild_id=inter.get("guild_id")))
        return json_response({"message": f"fake: unhandled webhook {m}", "code": 0}, 404)

    # ------------------------------------------------------------------ voice gateway (dave_protocol_version 0)
    def voice_frames_for(self, guild_id: int, op: int | None = None) -> list[VoiceFrame]:
        return [f for f in self.voice_frames if f.guild_id == guild_id and (op is None or f.op == op)]

    def speaking(self, guild_id: int) -> list[int]:
        """The ``speaking`` flags of every SPEAKING (op 5) frame the bot sent for a guild, in order."""
        return [int(f.d["speaking"]) for f in self.voice_frames_for(guild_id, 5)]

    async def close_voice(self, guild_id: int, code: int = 4015) -> None:
        """Close the guild's voice websocket from the server side (4015 = voice server crashed → bot resumes;
        4014 = disconnected/moved; 4006 = session invalid)."""
        ws = self._voice_ws.get(guild_id)
        if ws is not None:
            await ws.close(code=code)

    def _new_session(self, d: Payload) -> VoiceSession:
        sess = VoiceSession(
            guild_id=int(d["server_id"]),
            ssrc=next(self._ssrcs),
            secret_key=os.urandom(32),
            user_id=int(d.get("user_id") or 0),
            session_id=str(d.get("session_id")),
        )
        self.sessions[sess.guild_id] = sess
        self._ssrc_session[sess.ssrc] = sess
        return sess

    async def _voice_ws_handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=True)
        await ws.prepare(request)
        seq = itertools.count(1)
        sess: VoiceSession | None = None
        await ws.send_json({"op": 8, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})  # HELLO
        try:
            async for msg in ws:
                now = time.perf_counter()
                if msg.type is aiohttp.WSMsgType.BINARY:
                    raw: bytes = msg.data
                    self.voice_frames.append(
                        VoiceFrame(sess.guild_id if sess else None, raw[0] if raw else -1, raw, now)
                    )
                    continue
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    continue
                p = json.loads(msg.data)
                op, d = p["op"], p.get("d")
                if op == 0:  # IDENTIFY -> READY
                    sess = self._new_session(d)
                    self._voice_ws[sess.guild_id] = ws
                elif op == 7:  # RESUME -> RESUMED (same ssrc/key), or a fresh session if unknown
                    gid = int(d["server_id"])
                    sess = self.sessions.get(gid) or self._new_session(d)
                    sess.resumes += 1
                    self._voice_ws[gid] = ws
                self.voice_frames.append(VoiceFrame(sess.guild_id if sess else None, op, d, now))
                if op == 0 and sess is not None:
                    await ws.send_json(
                        {
                            "op": 2,
                            "seq": next(seq),
                            "d": {
                                "ssrc": sess.ssrc,
                                "ip": "127.0.0.1",
                                "port": self.udp_port,
                                "modes": VOICE_MODES,
                                "experiments": [],
                            },
                        }
                    )
                elif op == 7:
                    await ws.send_json({"op": 9, "seq": next(seq), "d": None})
                elif op == 1 and sess is not None:  # SELECT_PROTOCOL -> SESSION_DESCRIPTION
                    sess.mode = d["data"]["mode"]
                    await ws.send_json(
                        {
                            "op": 4,
                            "seq": next(seq),
                            "d": {
                                "mode": sess.mode,
                                "secret_key": list(sess.secret_key),
                                "dave_protocol_version": 0,
                                "audio_codec": "opus",
                                "media_session_id": "fake-media",
                            },
                        }
                    )
                elif op == 3:  # HEARTBEAT -> HEARTBEAT_ACK
                    await ws.send_json({"op": 6, "d": {"t": d["t"] if isinstance(d, dict) else d}})
        finally:
            if sess is not None and self._voice_ws.get(sess.guild_id) is ws:
                del self._voice_ws[sess.guild_id]
        return ws

    # ------------------------------------------------------------------ voice UDP (called from the receiver thread)
    def packets(self, guild_id: int | None = None) -> list[RtpPacket]:
        """RTP packets in arrival order, for one guild or all."""
        with self._rtp_lock:
            pk = list(self.rtp)
        return pk if guild_id is None else [p for p in pk if p.guild_id == guild_id]

    def _on_rtp(self, data: bytes, t_recv: float, t_handled: float) -> None:
        # aead_xchacha20_poly1305_rtpsize: header(12 [+4*CC] [+4 ext hdr]) | ciphertext+tag | nonce counter (4)
        cc = data[0] & 0x0F
        hlen = 12 + 4 * cc + (4 if data[0] & 0x10 else 0)
        seq, ts, ssrc = struct.unpack_from(">HII", data, 2)
        sess = self._ssrc_session.get(ssrc)
        opus = b""
        if sess is None:
            self.udp_errors.append(f"unknown ssrc {ssrc}")
        else:
            try:
                opus = nacl.secret.Aead(sess.secret_key).decrypt(data[hlen:-4], data[:hlen], data[-4:] + bytes(20))
            except Exception as exc:  # wrong key/mode
                self.udp_errors.append(f"decrypt ssrc {ssrc}: {exc!r}")
            if data[0] & 0x10 and opus:  # strip the (encrypted) extension body
                ext_words = struct.unpack_from(">H", data, 14 + 4 * cc)[0]
                opus = opus[4 * ext_words :]
        pkt = RtpPacket(sess.guild_id if sess else None, seq, ts, ssrc, opus, t_recv, t_handled)
        with self._rtp_lock:
            self.rtp.append(pkt)


class _UdpReceiver(threading.Thread):
    """Blocking UDP server on its own thread; kernel receive timestamps via SO_TIMESTAMPNS."""

    def __init__(self, fake: FakeDiscord) -> None:
        super().__init__(name="fake-discord-udp", daemon=True)
        self.fake = fake
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            self._kernel_ts = True
        except OSError:
            self._kernel_ts = False
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port: int = self.sock.getsockname()[1]
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()
        self.join(2)
        self.sock.close()

    def run(self) -> None:
        while not self._stopped.is_set():
            try:
                data, anc, _flags, addr = self.sock.recvmsg(65536, 256)
            except TimeoutError:
                continue
            except OSError:
                return
            perf = time.perf_counter()
            t_recv = perf
            if anc:
                real_ns = time.time_ns()
                for level, kind, cdata in anc:
                    if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(cdata) >= 16:
                        sec, nsec = struct.unpack_from("qq", cdata)
                        t_recv = perf - max(0, real_ns - (sec * 1_000_000_000 + nsec)) / 1e9
            try:
                self._handle(data, addr, t_recv, perf)
            except Exception as exc:  # never let the thread die
                self.fake.udp_errors.append(repr(exc))

    def _handle(self, data: bytes, addr: tuple[str, int], t_recv: float, perf: float) -> None:
        if len(data) == 74 and data[:2] == b"\x00\x01":  # IP discovery request -> response
            resp = bytearray(74)
            struct.pack_into(">HHI", resp, 0, 2, 70, struct.unpack_from(">I", data, 4)[0])
            ip = addr[0].encode()
            resp[8 : 8 + len(ip)] = ip
            struct.pack_into(">H", resp, 72, addr[1])
            self.sock.sendto(bytes(resp), addr)
        elif len(data) > 16 and data[0] & 0xC0 == 0x80 and data[1] & 0x7F == 0x78:  # RTP, payload type 120
            self.fake._on_rtp(data, t_recv, perf)
        else:
            self.fake.udp_errors.append(f"unexpected datagram of {len(data)} bytes")


__all__ = [
    "FakeDiscord",
    "RecordedRequest",
    "RtpPacket",
    "VoiceFrame",
    "VoiceSession",
    "json_response",
]
