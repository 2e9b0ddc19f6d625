"""The dashboard's login and REST API (``/auth/*``, ``/api/v1/*``) on the bot's own HTTP server.

This first part: Discord login (``web/oauth.py``, sessions in ``web/logins.py``), who is logged in,
the guilds they share with the bot, and the API's OpenAPI 3.1 description (``web/openapi.py``).
Off until ``MUSICBOT_WEB_URL``, ``DISCORD_CLIENT_ID`` and ``DISCORD_CLIENT_SECRET`` are set: every
route then says so. Errors are JSON ``{"error": "..."}`` with a sentence a user can act on.

The routes exist from the server's start (aiohttp freezes its routes then, and the server starts
before the bot, ``bot/lifecycle.py``); the bot is bound once it exists (``bind``).
"""

from __future__ import annotations

import hmac
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, Generic, Protocol, TypeVar

import aiohttp
from aiohttp import web

from musicbot.cluster import ClusterError
from musicbot.errors import FilterConfigError, MusicBotError
from musicbot.web import library_api
from musicbot.web.dashboard_ops import NotReadyError
from musicbot.web.events import GuildEvents
from musicbot.web.logins import LOGIN_COOKIE, LOGIN_MAX_AGE_S, SESSION_COOKIE, SESSION_MAX_AGE_S, Login, Logins
from musicbot.web.oauth import DEFAULT_API_BASE, LoginError, OAuthClient
from musicbot.web.openapi import document
from musicbot.web.page import render
from musicbot.web.player_api import (
    BadActionError,
    NotAllowedError,
    PlayerBot,
    PlayerView,
    TooFastError,
    UnknownGuildError,
    parse_action,
    parse_play,
    parse_search,
)

OFF = ("The dashboard is off: set MUSICBOT_WEB_URL, DISCORD_CLIENT_ID and DISCORD_CLIENT_SECRET "
       "(README: Dashboard).")
NOT_LOGGED_IN = "Log in with Discord first: /auth/login"
STARTING = "The bot is still starting; try again in a few seconds."
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class GuildSummary:
    id: int
    name: str
    icon: str | None
    playing: bool
    available: bool = True  # False: the process that runs its shard is down (scaled out: issue 17)


class DashboardBot(PlayerBot, library_api.LibraryBot, Protocol):
    """What the dashboard reads of the bot, and asks it to do (``bot/web_control.py``)."""

    async def dashboard_guilds(self) -> list[GuildSummary]: ...


@dataclass(frozen=True)
class DashboardSettings:
    web_url: str  # the public address, no trailing slash
    client_id: str
    client_secret: str
    api_base: str = DEFAULT_API_BASE


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
T = TypeVar("T")


@dataclass(frozen=True)
class Command(Generic[T]):
    """A state-changing request that passed ``Dashboard.command``'s checks."""

    bot: DashboardBot
    guild_id: int
    user_id: int
    value: T


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class Dashboard:
    def __init__(self, settings: DashboardSettings | None) -> None:
        self._settings = settings
        self._logins = Logins(settings.client_secret) if settings else None
        self._oauth = (OAuthClient(settings.client_id, settings.client_secret, f"{settings.web_url}/auth/callback",
                                   settings.api_base) if settings else None)
        self._bot: DashboardBot | None = None
        self._http: aiohttp.ClientSession | None = None
        self.events = GuildEvents()  # the bot tells it what changed (bot/web_control.py)

    def bind(self, bot: DashboardBot) -> None:
        self._bot = bot

    @property
    def bot(self) -> DashboardBot | None:
        return self._bot

    def install(self, app: web.Application) -> None:
        app.router.add_get("/", self._page)
        app.router.add_get("/auth/login", self._on(self._login))
        app.router.add_get("/auth/callback", self._on(self._callback))
        app.router.add_post("/auth/logout", self._on(self._logout))
        app.router.add_get("/api/v1/openapi.json", self._openapi)
        app.router.add_get("/api/v1/me", self._on(self._me))
        app.router.add_get("/api/v1/guilds", self._on(self._guilds))
        app.router.add_get("/api/v1/guilds/{guild_id}/player", self._on(self._player))
        app.router.add_get("/api/v1/guilds/{guild_id}/rights", self._on(self._rights))
        app.router.add_post("/api/v1/guilds/{guild_id}/player/{action}", self._on(self._act))
        app.router.add_get("/api/v1/guilds/{guild_id}/events", self._on(self._events))
        app.router.add_post("/api/v1/guilds/{guild_id}/queue", self._on(self._play))
        app.router.add_get("/api/v1/guilds/{guild_id}/search", self._on(self._search))
        library_api.install(app, self, self._on)
        app.on_cleanup.append(self._close_http)

    def _on(self, handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            if self._settings is None:
                return error(503, OFF)
            return await handler(request)

        return guarded

    # ---------------------------------------------------------------- the page
    async def _page(self, request: web.Request) -> web.StreamResponse:
        if self._settings is None:
            return web.Response(status=503, text=OFF, content_type="text/plain")
        if self.login_of(request) is None:
            return web.HTTPFound("/auth/login")
        nonce = secrets.token_urlsafe(16)
        policy = (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; img-src https: data:; "
                  "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
        return web.Response(text=render(nonce), content_type="text/html",
                            headers={"Content-Security-Policy": policy, "X-Content-Type-Options": "nosniff",
                                     "Referrer-Policy": "same-origin"})

    # ---------------------------------------------------------------- login
    async def _login(self, request: web.Request) -> web.StreamResponse:
        assert self._logins is not None and self._oauth is not None
        state, pkce, cookie = self._logins.start()
        response = web.HTTPFound(self._oauth.authorize_url(state, pkce))
        self._set_cookie(response, LOGIN_COOKIE, cookie, LOGIN_MAX_AGE_S, path="/auth")
        return response

    async def _callback(self, request: web.Request) -> web.StreamResponse:
        assert self._logins is not None and self._oauth is not None and self._settings is not None
        if "error" in request.query:
            return error(400, "The login was cancelled on Discord's page; start it again from the dashboard.")
        pkce = self._logins.finish(request.cookies.get(LOGIN_COOKIE), request.query.get("state"))
        code = request.query.get("code")
        if pkce is None or not code:
            return error(400, "This login link is not from a login this browser started (or it is older than "
                              "10 minutes); start again at /auth/login.")
        http = self._client()
        try:
            token = await self._oauth.exchange(http, code, pkce)
            user = await self._oauth.user(http, token)
            guilds = await self._oauth.guild_ids(http, token)
        except LoginError as failure:
            return error(502, str(failure))
        except (aiohttp.ClientError, TimeoutError):
            return error(502, "Discord could not be reached to finish the login; try again in a moment.")
        session = self._logins.open(Login(user, token, guilds))
        response = web.HTTPFound(f"{self._settings.web_url}/")
        self._set_cookie(response, SESSION_COOKIE, session, SESSION_MAX_AGE_S)
        response.del_cookie(LOGIN_COOKIE, path="/auth")
        return response

    async def _logout(self, request: web.Request) -> web.StreamResponse:
        assert self._logins is not None
        login = self._logins.find(request.cookies.get(SESSION_COOKIE))
        if login is not None:
            refusal = csrf_refusal(request, login)
            if refusal is not None:
                return refusal
            self._logins.close(request.cookies.get(SESSION_COOKIE))
        response = web.json_response({"logged_in": False})
        response.del_cookie(SESSION_COOKIE, path="/")
        return response

    # ---------------------------------------------------------------- API
    async def _openapi(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(document())

    async def _me(self, request: web.Request) -> web.StreamResponse:
        login = self.login_of(request)
        if login is None:
            return error(401, NOT_LOGGED_IN)
        user = login.user
        return web.json_response({"id": user.id, "name": user.name, "avatar": user.avatar, "csrf_token": login.csrf})

    async def _guilds(self, request: web.Request) -> web.StreamResponse:
        login = self.login_of(request)
        if login is None:
            return error(401, NOT_LOGGED_IN)
        if self._bot is None:
            return error(503, STARTING)
        refusal = await self._refresh_guilds(login)
        if refusal is not None:
            return refusal
        return await self.answer(self._bot.dashboard_guilds(), lambda guilds: [
            {"id": str(g.id), "name": g.name, "icon": g.icon, "playing": g.playing, "available": g.available}
            for g in guilds if g.id in login.guild_ids])

    async def _player(self, request: web.Request) -> web.StreamResponse:
        login, refusal = await self.member_of(request)
        if login is None or self._bot is None:
            return refusal or error(503, STARTING)
        return await self.answer(self._bot.player(int(request.match_info["guild_id"])), PlayerView.as_json)

    async def _rights(self, request: web.Request) -> web.StreamResponse:
        login, refusal = await self.member_of(request)
        if login is None or self._bot is None:
            return refusal or error(503, STARTING)
        return await self.answer(self._bot.rights(int(request.match_info["guild_id"]), int(login.user.id)), asdict)

    async def _act(self, request: web.Request) -> web.StreamResponse:
        checked = await self.command(request, lambda body: parse_action(request.match_info["action"], body))
        if isinstance(checked, web.Response):
            return checked
        return await self.answer(checked.bot.act(checked.guild_id, checked.user_id, checked.value), PlayerView.as_json)

    async def _play(self, request: web.Request) -> web.StreamResponse:
        checked = await self.command(request, parse_play)
        if isinstance(checked, web.Response):
            return checked
        query, play_next = checked.value
        return await self.answer(checked.bot.play(checked.guild_id, checked.user_id, query, play_next),
                                 lambda result: {"queued": [asdict(e) for e in result[0]],
                                                 "player": result[1].as_json()})

    async def command(self, request: web.Request, parse: Callable[[Any], T]) -> Command[T] | web.Response:
        """A state-changing request's checks, in order: logged in and a member of the guild, the
        CSRF header, a JSON body that ``parse`` accepts; else the refusal to answer with."""
        login, refusal = await self.member_of(request)
        if login is None or self._bot is None:
            return refusal or error(503, STARTING)
        if (refused := csrf_refusal(request, login)) is not None:
            return refused
        try:
            value = parse(await request.json() if request.can_read_body else None)
        except BadActionError as bad:
            return error(400, str(bad))
        except ValueError:
            return error(400, "The request body is not JSON.")
        return Command(self._bot, int(request.match_info["guild_id"]), int(login.user.id), value)

    async def _search(self, request: web.Request) -> web.StreamResponse:
        login, refusal = await self.member_of(request)
        if login is None or self._bot is None:
            return refusal or error(503, STARTING)
        try:
            words = parse_search(request.query.get("q"))
        except BadActionError as bad:
            return error(400, str(bad))
        return await self.answer(self._bot.search(int(request.match_info["guild_id"]), int(login.user.id), words),
                                  lambda tracks: [asdict(t) for t in tracks])

    async def answer(self, work: Awaitable[T], shape: Callable[[T], Any]) -> web.Response:
        """``work``'s result as JSON, or its refusal with the status it means."""
        try:
            return web.json_response(shape(await work))
        except (BadActionError, FilterConfigError) as bad:
            return error(400, str(bad))
        except UnknownGuildError as missing:
            return error(404, str(missing))
        except NotAllowedError as refused_here:
            return error(403, str(refused_here))
        except TooFastError as too_fast:
            answer = error(429, str(too_fast))
            answer.headers["Retry-After"] = str(max(1, math.ceil(too_fast.retry_after_s)))
            return answer
        except (NotReadyError, ClusterError) as unavailable:  # its shard's process is starting, or down
            answer = error(503, str(unavailable))
            answer.headers["Retry-After"] = "5"
            return answer
        except MusicBotError as cannot:
            return error(409, str(cannot))

    async def _events(self, request: web.Request) -> web.StreamResponse:
        login, refusal = await self.member_of(request)
        if login is None or self._bot is None:
            return refusal or error(503, STARTING)
        assert self._settings is not None
        origin = request.headers.get("Origin")
        if origin is not None and origin != _origin(self._settings.web_url):
            # A page of another site could open this socket with the user's cookie (WebSocket
            # handshakes are not held to the same-origin rule): only the dashboard's own pages may.
            return error(403, "Live updates are for the dashboard's own pages.")
        if not web.WebSocketResponse().can_prepare(request).ok:
            return error(400, "This address is a WebSocket: connect with a WebSocket client.")
        guild_id, bot = int(request.match_info["guild_id"]), self._bot
        refused = await self.answer(bot.player(guild_id), PlayerView.as_json)
        if refused.status != 200:
            return refused
        return await self.events.stream(request, guild_id, lambda: bot.player(guild_id))

    async def member_of(self, request: web.Request) -> tuple[Login | None, web.Response | None]:
        """The login, if it may see this guild: logged in, and a member of it (asked of Discord
        again after a minute); else the refusal."""
        login = self.login_of(request)
        if login is None:
            return None, error(401, NOT_LOGGED_IN)
        guild_id = request.match_info.get("guild_id", "")
        if not guild_id.isdigit():
            return None, error(404, str(UnknownGuildError()))
        if (refusal := await self._refresh_guilds(login)) is not None:
            return None, refusal
        if int(guild_id) not in login.guild_ids:
            return None, error(404, str(UnknownGuildError()))
        return login, None

    # ---------------------------------------------------------------- helpers
    def login_of(self, request: web.Request) -> Login | None:
        assert self._logins is not None
        return self._logins.find(request.cookies.get(SESSION_COOKIE))

    async def _refresh_guilds(self, login: Login) -> web.Response | None:
        """Ask Discord again which guilds the user is in, when the list is older than a minute."""
        assert self._oauth is not None
        if not login.guilds_stale:
            return None
        try:
            login.guild_ids = await self._oauth.guild_ids(self._client(), login.token)
        except LoginError as failure:
            return error(401, str(failure))
        except (aiohttp.ClientError, TimeoutError):
            return error(502, "Discord could not be reached to check your servers; try again in a moment.")
        login.guilds_at = time.monotonic()
        return None

    def _set_cookie(self, response: web.StreamResponse, name: str, value: str, max_age: int, *,
                    path: str = "/") -> None:
        assert self._settings is not None
        response.set_cookie(name, value, max_age=max_age, path=path, httponly=True, samesite="Lax",
                            secure=self._settings.web_url.startswith("https://"))

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession()
        return self._http

    async def _close_http(self, app: web.Application) -> None:
        if self._http is not None:
            await self._http.close()


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def csrf_refusal(request: web.Request, login: Login) -> web.Response | None:
    """A state-changing request must carry the session's CSRF token in ``X-CSRF-Token`` (from
    ``/api/v1/me``): another site can make the browser send the cookie, not read the token."""
    sent = request.headers.get(CSRF_HEADER, "")
    if hmac.compare_digest(sent, login.csrf):
        return None
    return error(403, f"Missing or wrong {CSRF_HEADER} header: reload the dashboard and try again.")


def settings_of(config: Any) -> DashboardSettings | None:
    """The dashboard's settings from the bot's ``Config``, or None when it is off."""
    if not config.dashboard_on:
        return None
    return DashboardSettings(config.web_url, config.discord_client_id, config.discord_client_secret,
                             config.discord_api_base or DEFAULT_API_BASE)
