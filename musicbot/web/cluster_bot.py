"""The dashboard's view of the bot through the cluster bus (``cluster/``): each guild's question goes
to the process that runs its shard (``web/dashboard_ops.py``), the guild list is every shard's last
written list, and a shard whose process is gone is listed as unavailable. The same class serves
one process (a ``LocalBus``), ``musicbot run --role all`` with ``REDIS_URL``, and ``musicbot web``.
"""

from __future__ import annotations

from musicbot.cluster import Bus, BusUnreachableError, GuildList, NodeUnavailableError
from musicbot.web.dashboard import Dashboard, GuildSummary
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
    SaveArgs,
    SearchArgs,
)
from musicbot.web.library_api import HistoryView, PlaylistView
from musicbot.web.player_api import Action, EntryView, PlayerView, RightsView, TrackView


class ClusterDashboardBot:
    def __init__(self, bus: Bus) -> None:
        self._bus = bus

    async def dashboard_guilds(self) -> list[GuildSummary]:
        """Every shard's guilds, from their last written lists; those of a shard no live process runs
        are unavailable (and not playing, as far as anyone can tell)."""
        lists = await self._bus.guild_lists()
        running = {(node.shard_count, shard) for node in await self._bus.nodes() if node.role == "bot"
                   for shard in node.shard_ids}
        newest: dict[int, tuple[GuildList, GuildSummary]] = {}
        for shard, listed in lists.items():
            available = (listed.shard_count, shard) in running
            for guild in listed.guilds:
                summary = GuildSummary(guild.id, guild.name, guild.icon, guild.playing and available, available)
                seen = newest.get(guild.id)
                # A list written under an older shard count may still name the guild: the newer wins.
                if seen is None or (available, listed.written_at) > (seen[1].available, seen[0].written_at):
                    newest[guild.id] = (listed, summary)
        return sorted((summary for _, summary in newest.values()), key=lambda g: g.name.casefold())

    async def player(self, guild_id: int) -> PlayerView:
        return await self._bus.call(guild_id, PLAYER, Nothing())

    async def rights(self, guild_id: int, user_id: int) -> RightsView:
        return await self._bus.call(guild_id, RIGHTS, ForUser(user_id))

    async def act(self, guild_id: int, user_id: int, action: Action) -> PlayerView:
        return await self._bus.call(guild_id, ACT, ActArgs(user_id, action.kind, action.value))

    async def play(self, guild_id: int, user_id: int, query: str,
                   play_next: bool) -> tuple[list[EntryView], PlayerView]:
        queued = await self._bus.call(guild_id, PLAY, PlayArgs(user_id, query, play_next))
        return queued.entries, queued.player

    async def search(self, guild_id: int, user_id: int, words: str) -> list[TrackView]:
        return await self._bus.call(guild_id, SEARCH, SearchArgs(user_id, words))

    async def history(self, guild_id: int) -> list[HistoryView]:
        return await self._bus.call(guild_id, HISTORY, Nothing())

    async def playlists(self, user_id: int) -> list[PlaylistView]:
        """The user's playlists are in the shared database: any running bot process reads them."""
        try:
            nodes = [node for node in await self._bus.nodes() if node.role == "bot"]
        except BusUnreachableError as err:
            raise NotReadyError() from err
        for node in nodes:
            try:
                return await self._bus.call_node(node.node_id, PLAYLISTS, ForUser(user_id))
            except NodeUnavailableError:
                continue  # gone since the list was read: the next one
        raise NotReadyError()

    async def server_playlists(self, guild_id: int, user_id: int) -> list[PlaylistView]:
        return await self._bus.call(guild_id, SERVER_PLAYLISTS, ForUser(user_id))

    async def save_playlist(self, guild_id: int, user_id: int, name: str, overwrite: bool) -> PlaylistView:
        return await self._bus.call(guild_id, SAVE_PLAYLIST, SaveArgs(user_id, name, overwrite))

    async def load_playlist(self, guild_id: int, user_id: int, name: str,
                            play_next: bool) -> tuple[list[EntryView], PlayerView]:
        queued = await self._bus.call(guild_id, LOAD_PLAYLIST, LoadArgs(user_id, name, play_next))
        return queued.entries, queued.player


async def serve_dashboard(dashboard: Dashboard, bus: Bus) -> None:
    """``dashboard`` answers through ``bus`` from now on, and its live pages hear of every change
    published on it (by whichever process runs the guild)."""
    dashboard.bind(ClusterDashboardBot(bus))
    await bus.watch_changes(lambda change: dashboard.events.changed(change.guild_id))
