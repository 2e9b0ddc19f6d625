"""Live updates for the dashboard: ``GET /api/v1/guilds/{id}/events`` (a WebSocket) sends the guild's
player (``PlayerView``) when it connects, whenever it changes, and every ``POSITION_EVERY_S`` while
it plays (the progress bar), as ``{"type": "player", "player": {...}}``.

The bot tells ``GuildEvents.changed(guild_id)`` what the now-playing panel is told
(``session_changed``: track start and end, queue edits, pause, filters, volume). Changes that come
together (a skip: end, start, queue) are sent once, ``SETTLE_S`` after the first; so every browser
hears of a change well within 250 ms, and the bot does one snapshot per burst per guild.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiohttp import WSMsgType, web

from musicbot.errors import MusicBotError
from musicbot.web.player_api import PlayerView

SETTLE_S = 0.05
POSITION_EVERY_S = 5.0
SEND_TIMEOUT_S = 5.0  # a browser that does not read its socket for this long is dropped


class GuildEvents:
    """Who is watching which guild, and the nudge when it changed (event loop)."""

    def __init__(self) -> None:
        self._watchers: defaultdict[int, set[asyncio.Event]] = defaultdict(set)

    def changed(self, guild_id: int) -> None:
        for nudge in self._watchers.get(guild_id, ()):
            nudge.set()

    def watchers(self, guild_id: int) -> int:
        return len(self._watchers.get(guild_id, ()))

    async def stream(self, request: web.Request, guild_id: int,
                     view: Callable[[], Awaitable[PlayerView]]) -> web.WebSocketResponse:
        """Serve one browser's socket until it closes (login and membership already checked)."""
        socket = web.WebSocketResponse(heartbeat=30.0, max_msg_size=4096)
        await socket.prepare(request)
        nudge = asyncio.Event()
        self._watchers[guild_id].add(nudge)
        reader = asyncio.ensure_future(_drain(socket))  # answers pings, notices the close
        try:
            while not socket.closed and not reader.done():
                try:
                    message = {"type": "player", "player": (await view()).as_json()}
                except MusicBotError as unavailable:  # its process is down or restarting: said, then retried
                    message = {"type": "error", "error": str(unavailable)}
                await asyncio.wait_for(socket.send_json(message), SEND_TIMEOUT_S)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(_first(nudge.wait(), reader), POSITION_EVERY_S)
                    await asyncio.sleep(SETTLE_S)  # let the rest of a burst arrive: one message for it
                nudge.clear()
        except (ConnectionResetError, TimeoutError):
            pass
        finally:
            self._watchers[guild_id].discard(nudge)
            if not self._watchers[guild_id]:
                del self._watchers[guild_id]
            reader.cancel()
            await socket.close()
        return socket


async def _drain(socket: web.WebSocketResponse) -> None:
    """Read (and ignore) what the browser sends; returns when it closes."""
    async for message in socket:
        if message.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
            return


async def _first(wait: Coroutine[Any, Any, Any], reader: asyncio.Future[None]) -> None:
    """Until ``wait`` finishes (a change) or the reader does (the browser left)."""
    waiting = asyncio.ensure_future(wait)
    try:
        await asyncio.wait({waiting, reader}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()
