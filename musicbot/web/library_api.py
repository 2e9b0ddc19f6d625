"""History and playlists over the dashboard's API, as ``/history`` and ``/playlist`` do them:

- ``GET /api/v1/guilds/{id}/history``: what was played there lately;
- ``GET /api/v1/playlists``: your playlists;
- ``GET /api/v1/guilds/{id}/playlists``: the server's playlists and those its members shared there;
- ``POST /api/v1/guilds/{id}/playlists``: save the server's current track and queue as yours
  (``{"name", "overwrite"}``);
- ``POST /api/v1/guilds/{id}/playlists/load``: queue one (``{"name", "next"}``: a playlist's
  ``load_as``; the rules of ``/playlist load``: in a voice channel, the bot's if it is in one).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

from musicbot.web.player_api import BadActionError, EntryView, PlayerView

if TYPE_CHECKING:
    from musicbot.web.dashboard import Dashboard

MAX_NAME_LENGTH = 100  # storage/playlists.py's


@dataclass(frozen=True)
class HistoryView:
    title: str
    artist: str
    url: str
    user_id: str | None
    autoplay: bool
    started_at: str  # ISO 8601, UTC
    outcome: str | None  # finished, skipped, stopped, error…; None while it plays


@dataclass(frozen=True)
class PlaylistView:
    name: str
    track_count: int
    duration_s: float
    updated_at: str
    whose: str  # "yours", "server" (the server's own) or "shared" (a member's, shared with the server)
    load_as: str  # what to send as "name" to load it: the name for yours, "#<id>" for the others


class LibraryBot(Protocol):
    async def history(self, guild_id: int) -> list[HistoryView]: ...

    async def playlists(self, user_id: int) -> list[PlaylistView]: ...

    async def server_playlists(self, guild_id: int, user_id: int) -> list[PlaylistView]: ...

    async def save_playlist(self, guild_id: int, user_id: int, name: str, overwrite: bool) -> PlaylistView: ...

    async def load_playlist(self, guild_id: int, user_id: int, name: str,
                            play_next: bool) -> tuple[list[EntryView], PlayerView]: ...


def parse_name(body: Any, flag: str) -> tuple[str, bool]:
    """``{"name": …, flag: bool}``; ``BadActionError`` naming what is wrong."""
    name = body.get("name") if isinstance(body, dict) else None
    value = body.get(flag, False) if isinstance(body, dict) else False
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise BadActionError(f'Send the playlist as {{"name": 1 to {MAX_NAME_LENGTH} characters, '
                             f'"{flag}": true/false}}.')
    if not isinstance(value, bool):
        raise BadActionError(f'"{flag}" is true or false.')
    return name.strip(), value


Guard = Callable[[Callable[[web.Request], Awaitable[web.StreamResponse]]],
                 Callable[[web.Request], Awaitable[web.StreamResponse]]]


def install(app: web.Application, dashboard: Dashboard, guard: Guard) -> None:
    from musicbot.web.dashboard import NOT_LOGGED_IN, STARTING, error

    async def history(request: web.Request) -> web.StreamResponse:
        login, refusal = await dashboard.member_of(request)
        if login is None or dashboard.bot is None:
            return refusal or error(503, STARTING)
        return await dashboard.answer(dashboard.bot.history(int(request.match_info["guild_id"])),
                                      lambda rows: [asdict(r) for r in rows])

    async def playlists(request: web.Request) -> web.StreamResponse:
        login = dashboard.login_of(request)
        if login is None:
            return error(401, NOT_LOGGED_IN)
        if dashboard.bot is None:
            return error(503, STARTING)
        return await dashboard.answer(dashboard.bot.playlists(int(login.user.id)),
                                      lambda rows: [asdict(r) for r in rows])

    async def server_playlists(request: web.Request) -> web.StreamResponse:
        login, refusal = await dashboard.member_of(request)
        if login is None or dashboard.bot is None:
            return refusal or error(503, STARTING)
        return await dashboard.answer(
            dashboard.bot.server_playlists(int(request.match_info["guild_id"]), int(login.user.id)),
            lambda rows: [asdict(r) for r in rows])

    async def save(request: web.Request) -> web.StreamResponse:
        checked = await dashboard.command(request, lambda body: parse_name(body, "overwrite"))
        if isinstance(checked, web.Response):
            return checked
        name, overwrite = checked.value
        return await dashboard.answer(checked.bot.save_playlist(checked.guild_id, checked.user_id, name, overwrite),
                                      asdict)

    async def load(request: web.Request) -> web.StreamResponse:
        checked = await dashboard.command(request, lambda body: parse_name(body, "next"))
        if isinstance(checked, web.Response):
            return checked
        name, play_next = checked.value
        return await dashboard.answer(
            checked.bot.load_playlist(checked.guild_id, checked.user_id, name, play_next),
            lambda result: {"queued": [asdict(e) for e in result[0]], "player": result[1].as_json()})

    app.router.add_get("/api/v1/guilds/{guild_id}/history", guard(history))
    app.router.add_get("/api/v1/playlists", guard(playlists))
    app.router.add_get("/api/v1/guilds/{guild_id}/playlists", guard(server_playlists))
    app.router.add_post("/api/v1/guilds/{guild_id}/playlists", guard(save))
    app.router.add_post("/api/v1/guilds/{guild_id}/playlists/load", guard(load))
