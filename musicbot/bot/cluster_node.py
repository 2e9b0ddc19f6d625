"""This bot process on the cluster bus (``cluster/``): it answers the dashboard's operations for the
guilds of its shards (``web/dashboard_ops.py``, carried out by ``bot/web_control.py`` under the slash
commands' rules), tells dashboards of every change of a player (``GuildChanged``), and keeps its
shards' guild lists on the bus, so a web process can list them, as unavailable when this process is
gone.

Its node is announced before the login (``open``: a Redis that cannot be reached stops the start
with a message naming ``REDIS_URL``), and answers "still connecting" until discord.py is ready;
the guild lists are written once it is, and after joins, leaves and changes (at most once per
``LIST_EVERY_S`` per shard). Event loop only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import discord

from musicbot.cluster import Bus, GuildChanged, GuildEntry, GuildList, Handlers, NodeInfo
from musicbot.cluster.messages import utc_now
from musicbot.shards import shard_of
from musicbot.web.dashboard_ops import (
    ACT,
    HISTORY,
    LOAD_PLAYLIST,
    PLAY,
    PLAYER,
    PLAYLISTS,
    RIGHTS,
    SAVE_PLAYLIST,
    SEARCH,
    SERVER_PLAYLISTS,
    ActArgs,
    ForUser,
    LoadArgs,
    Nothing,
    NotReadyError,
    PlayArgs,
    Queued,
    SaveArgs,
    SearchArgs,
)
from musicbot.web.library_api import HistoryView, PlaylistView
from musicbot.web.player_api import Action, PlayerView, RightsView, TrackView

if TYPE_CHECKING:
    from musicbot.bot.client import MusicBotClient
    from musicbot.bot.web_control import WebControl

log = logging.getLogger(__name__)

LIST_EVERY_S = 1.0  # a burst of changes (a skip: end, start, queue) writes a shard's list once


class ClusterNode:
    """``serve_also``: more operations this node answers, each a function adding its handlers (the
    Telegram bridge's: ``bot/telegram_control.py`` for its guilds, ``telegram/bridge.py`` node-wide)."""

    def __init__(self, client: MusicBotClient, bus: Bus, control: WebControl,
                 serve_also: Sequence[Callable[[Handlers], Handlers]] = ()) -> None:
        self._client = client
        self.bus = bus
        self._control = control
        self.serve_also = list(serve_also)
        self._count = client.config.shard_count or 1  # no SHARD_COUNT: this process runs every guild
        self._ids = tuple(client.config.shard_ids or range(self._count))
        self._dirty: set[int] = set()  # shards whose list is to be written again
        self._writer: asyncio.Task[None] | None = None
        self._changed: set[int] = set()  # guilds whose change is yet to be published
        self._publisher: asyncio.Task[None] | None = None
        self.opened = False

        async def joined_or_left(guild: discord.Guild) -> None:
            self._mark(shard_of(guild.id, self._count))

        client.add_listener(joined_or_left, "on_guild_join")
        client.add_listener(joined_or_left, "on_guild_remove")

    async def open(self, http: str | None = None) -> None:
        """Serve, then announce this node (``BusUnreachableError`` when Redis cannot be reached)."""
        if self.opened:
            return
        await self.bus.serve(self._handlers())
        await self.bus.start(NodeInfo.new("bot", self._count, self._ids, http=http))
        self.opened = True

    async def close(self) -> None:
        for task in (self._writer, self._publisher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.opened:
            await self.bus.stop()

    # ---------------------------------------------------------------- what this node tells
    def ready(self) -> None:
        """discord.py is ready (again): every shard's list is written."""
        self._mark(*self._ids)

    def changed(self, guild_id: int) -> None:
        """A guild's player changed (the session's ``on_change``): dashboards are told, once per burst."""
        if not self.opened:
            return
        self._changed.add(guild_id)
        if self._publisher is None or self._publisher.done():
            self._publisher = asyncio.get_running_loop().create_task(self._publish())

    async def _publish(self) -> None:
        await asyncio.sleep(0)  # the rest of a burst made in the same turn of the loop joins it
        while self._changed:
            guilds, self._changed = self._changed, set()
            for guild_id in sorted(guilds):
                shard = shard_of(guild_id, self._count)
                await self.bus.publish_changed(GuildChanged(guild_id=guild_id, shard=shard, what="player"))
                self._mark(shard)  # "playing" in the list may have changed

    def _mark(self, *shards: int) -> None:
        if not self.opened or not self._client.is_ready():
            return
        self._dirty.update(shards)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_lists())

    async def _write_lists(self) -> None:
        while self._dirty:
            shards, self._dirty = self._dirty, set()
            for shard in sorted(shards):
                await self.bus.put_guild_list(shard, self._list(shard))
            await asyncio.sleep(LIST_EVERY_S)

    def _list(self, shard: int) -> GuildList:
        entries = []
        for guild in self._client.guilds:
            if shard_of(guild.id, self._count) != shard:
                continue
            session = self._client.sessions.get(guild.id)
            playing = session is not None and session.queue.current is not None and not session.paused
            entries.append(GuildEntry(id=guild.id, name=guild.name, icon=guild.icon.key if guild.icon else None,
                                      playing=playing))
        return GuildList(shard_count=self._count, guilds=entries, written_at=utc_now())

    # ---------------------------------------------------------------- what this node answers
    def _guild(self, guild_id: int | None) -> int:
        if not self._client.is_ready():
            raise NotReadyError()
        assert guild_id is not None  # guild operations are routed with their guild (cluster/bus.py)
        return guild_id

    def _handlers(self) -> Handlers:
        web = self._control

        async def player(guild_id: int | None, _: Nothing) -> PlayerView:
            return await web.player(self._guild(guild_id))

        async def rights(guild_id: int | None, args: ForUser) -> RightsView:
            return await web.rights(self._guild(guild_id), args.user_id)

        async def act(guild_id: int | None, args: ActArgs) -> PlayerView:
            return await web.act(self._guild(guild_id), args.user_id, Action(args.kind, args.value))

        async def play(guild_id: int | None, args: PlayArgs) -> Queued:
            entries, view = await web.play(self._guild(guild_id), args.user_id, args.query, args.play_next)
            return Queued(entries, view)

        async def search(guild_id: int | None, args: SearchArgs) -> list[TrackView]:
            self._guild(guild_id)
            return await web.search(args.user_id, args.words)

        async def history(guild_id: int | None, _: Nothing) -> list[HistoryView]:
            return await web.history(self._guild(guild_id))

        async def playlists(guild_id: int | None, args: ForUser) -> list[PlaylistView]:
            return await web.playlists(args.user_id)  # node-wide: the user's, from the shared database

        async def server_playlists(guild_id: int | None, args: ForUser) -> list[PlaylistView]:
            return await web.server_playlists(self._guild(guild_id), args.user_id)

        async def save(guild_id: int | None, args: SaveArgs) -> PlaylistView:
            return await web.save_playlist(self._guild(guild_id), args.user_id, args.name, args.overwrite)

        async def load(guild_id: int | None, args: LoadArgs) -> Queued:
            entries, view = await web.load_playlist(self._guild(guild_id), args.user_id, args.name, args.play_next)
            return Queued(entries, view)

        handlers = (Handlers().on(PLAYER, player).on(RIGHTS, rights).on(ACT, act).on(PLAY, play).on(SEARCH, search)
                    .on(HISTORY, history).on(PLAYLISTS, playlists).on(SERVER_PLAYLISTS, server_playlists)
                    .on(SAVE_PLAYLIST, save).on(LOAD_PLAYLIST, load))
        for add in self.serve_also:
            handlers = add(handlers)
        return handlers
