"""A local fake of Discord for offline tests: REST (/api/v10), main gateway, voice gateway websocket and voice UDP.

Everything binds to 127.0.0.1. Point discord.py at it with :meth:`FakeDiscord.start` (sets
``discord.http.Route.BASE``; :meth:`FakeDiscord.stop` restores it) and :func:`tests.harness.gateway.make_offline`,
or (a bot that really connects, e.g. ``musicbot run``) with ``DISCORD_API_BASE=fake.base_url`` and
``DISCORD_GATEWAY_URL=fake.main_gateway.url`` (:mod:`tests.harness.main_gateway`).

REST can be served under any prefix (``FakeDiscord(api_prefix="/proxy/api/v10")``), as a REST proxy such as
nirn-proxy would; only that prefix is served then, and a request anywhere else is recorded in ``unrouted``.
The voice websocket can also be served over TLS (:meth:`FakeDiscord.serve_voice_tls`), which discord.py's
hard-coded ``wss://`` voice URL needs when the bot cannot be patched.

Voice (websocket and UDP) is :class:`~tests.harness.voice_server.VoiceServer`, FakeDiscord's base class.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from discord.http import Route

from .fake_oauth import FakeOAuth
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
from .voice_server import RtpPacket, VoiceFrame, VoiceServer, VoiceSession


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


RestHandler = Callable[[RecordedRequest, "re.Match[str]"], Awaitable[web.StreamResponse] | web.StreamResponse]


@dataclass(slots=True)
class Upload:
    """A file the bot sent with a message (multipart ``files[n]``), as received."""

    path: str  # the REST path it was sent to, e.g. '/interactions/1/tok/callback'
    filename: str
    content_type: str
    data: bytes


@dataclass(slots=True)
class ServedAttachment:
    data: bytes
    gate: asyncio.Event | None  # the download waits for it (a test holds a slow upload back)


class FakeDiscord(VoiceServer):
    """aiohttp server: REST under ``/api/v10`` (or ``api_prefix``), voice websocket at ``/``, the main gateway at
    ``/gateway`` (``main_gateway``), plus a UDP voice socket.

    Recorded state (read freely from tests):
      ``requests``      every REST call (:class:`RecordedRequest`), in order
      ``unrouted``      (method, path) of every HTTP request outside the REST prefix and the websockets
      ``messages``      message id → MESSAGE payload (created by callbacks, followups, channel sends; edits merged)
      ``commands``      scope (``'global'`` or guild id) → last bulk-overwritten command list (with ids)
      ``uploads``       every file the bot sent with a message (:class:`Upload`: where to, name, bytes)
    Users' attachments (a command's file option) come from :meth:`FakeDiscord.attachment`, served at ``/attachments``.
      ``voice_frames``, ``rtp``, ``sessions``: voice, see :class:`~tests.harness.voice_server.VoiceServer`
    """

    def __init__(self, *, heartbeat_interval_ms: float = 5000.0, api_prefix: str = "/api/v10") -> None:
        if not api_prefix.startswith("/") or api_prefix.endswith("/"):
            raise ValueError(f"api_prefix must start with / and not end with one, got {api_prefix!r}")
        super().__init__(heartbeat_interval_ms=heartbeat_interval_ms)
        self.api_prefix = api_prefix
        self.requests: list[RecordedRequest] = []
        self.unrouted: list[tuple[str, str]] = []
        self.messages: dict[str, Payload] = {}
        self.deleted_messages: set[str] = set()
        self.commands: dict[str | int, list[Payload]] = {}
        self.port = 0
        self.voice_port: int | None = None  # the TLS site's port once serve_voice_tls() ran
        self._interactions: dict[str, Payload] = {}  # token -> INTERACTION_CREATE payload
        self._handlers: list[tuple[str, re.Pattern[str], RestHandler]] = []
        self.oauth: FakeOAuth | None = None  # set to serve the dashboard's Discord login
        self.uploads: list[Upload] = []  # every file the bot sent, with its bytes
        self._attachments: dict[str, ServedAttachment] = {}  # id -> what the fake's CDN serves for it
        self._runner: web.AppRunner | None = None
        self._old_base: str | None = None
        self._tls_site: web.TCPSite | None = None
        self.main_gateway = MainGateway(voice_endpoint=lambda: self.voice_endpoint)
        self.app = web.Application()
        self.app.router.add_get("/", self._voice_ws_handler)
        self.app.router.add_get("/attachments/{attachment_id}/{filename}", self._serve_attachment)  # the CDN
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
        self._start_udp()
        self._old_base = Route.BASE
        Route.BASE = self.base_url  # REST + webhooks + interaction callbacks

    async def stop(self) -> None:
        if self._old_base is not None:
            Route.BASE = self._old_base
            self._old_base = None
        await self._stop_voice()
        await self.main_gateway.close_all()
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

    def attachment(self, filename: str, data: bytes, *, gate: asyncio.Event | None = None,
                   content_type: str = "application/json") -> Payload:
        """A file a user attached to a command: the ATTACHMENT object for ``resolved.attachments`` (pass its
        ``id`` as the option's value). Its ``url`` is served by this fake, after ``gate`` is set if one is given;
        ``forget_attachment`` makes it answer 404, as Discord does for a deleted one."""
        attachment_id = next_snowflake()
        self._attachments[attachment_id] = ServedAttachment(data, gate)
        url = f"http://127.0.0.1:{self.port}/attachments/{attachment_id}/{filename}"
        return {"id": attachment_id, "filename": filename, "size": len(data), "url": url, "proxy_url": url,
                "content_type": content_type, "ephemeral": True}

    def forget_attachment(self, attachment_id: str) -> None:
        self._attachments.pop(attachment_id, None)

    async def _serve_attachment(self, request: web.Request) -> web.StreamResponse:
        served = self._attachments.get(request.match_info["attachment_id"])
        if served is None:
            return web.Response(status=404, text="Not Found")
        if served.gate is not None:
            await served.gate.wait()
        return web.Response(body=served.data, content_type="application/octet-stream")

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
        if self.oauth is not None and (answer := await self.oauth.handle(request, path)) is not None:
            return answer  # Discord login for the dashboard (tests/harness/fake_oauth.py)
        body: Any = None
        if request.content_type == "application/json" and request.can_read_body:
            body = await request.json()
        elif request.content_type.startswith("multipart/"):
            form = await request.post()
            raw = form.get("payload_json")
            body = json.loads(raw) if isinstance(raw, str) else {}
            files = [f for f in form.values() if isinstance(f, web.FileField)]
            body["_files"] = [f.filename for f in files]
            self.uploads += [Upload(path, f.filename, f.content_type, f.file.read()) for f in files]
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
        if re.fullmatch(r"/channels/\d+/voice-status", path) and m == "PUT":  # a voice channel's status
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


__all__ = [
    "FakeDiscord",
    "RecordedRequest",
    "RtpPacket",
    "Upload",
    "VoiceFrame",
    "VoiceSession",
    "json_response",
]
