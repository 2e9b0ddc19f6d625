"""The bot as the dashboard sees it (``web/dashboard.py``, ``web/player_api.py``): the guilds, a
guild's player, and playback actions under the same rules as the slash commands.

A dashboard user acts as the guild member they are: the same checks (``checks.py``: in the bot's
voice channel, DJ role, requester, vote for a skip) and the same actions (``actions.py``: the same
refusals) as ``/pause``, ``/skip`` and the rest. The member comes from discord.py's cache, which
holds everyone in a voice channel (the voice-state intent): whoever is not in one could not control
the music from Discord either, and is told to join.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord

from musicbot.bot import actions
from musicbot.bot.checks import (
    is_dj,
    listeners,
    require_same_channel,
    session_member_controls,
    voice_channel_of,
)
from musicbot.bot.errors import (
    CommandRefusedError,
    NotConnectedError,
    NotDJError,
    NotInVoiceError,
    RateLimitedError,
    SkipNeedsVoteError,
    WrongVoiceChannelError,
)
from musicbot.bot.tree import MusicTree
from musicbot.dsp.settings import parse_filters, settings_to_json
from musicbot.lookups.sponsorblock import CATEGORY_LABELS
from musicbot.queue import LoopMode
from musicbot.storage import PlaylistShelf, PlaylistSummary
from musicbot.storage.guild_settings import FILTER_NAMES
from musicbot.storage.playlist_shelf import reference
from musicbot.track import format_duration
from musicbot.web.library_api import HistoryView, PlaylistView
from musicbot.web.player_api import (
    Action,
    EntryView,
    NotAllowedError,
    PlayerView,
    Right,
    RightsView,
    TooFastError,
    TrackView,
    UnknownGuildError,
)

if TYPE_CHECKING:
    from musicbot.bot.client import MusicBotClient
    from musicbot.queue import QueueEntry
    from musicbot.session import GuildSession
    from musicbot.track import Track

QUEUE_SHOWN = 100
HISTORY_SHOWN = 50
SEARCH_RESULTS = 10
COMMAND_OF = {"filters": "filter set", "preset": "filter preset", "skip": "forceskip"}  # the rest: same name
# The commands' refusals about who may act: the API answers them with 403.
WHO_MAY_NOT = (NotInVoiceError, WrongVoiceChannelError, NotDJError, SkipNeedsVoteError, NotConnectedError)


class WebControl:
    def __init__(self, client: MusicBotClient, rng: random.Random | None = None) -> None:
        self._client = client
        self._rng = rng or random.Random()

    async def player(self, guild_id: int) -> PlayerView:
        guild = self._client.get_guild(guild_id)
        if guild is None:
            raise UnknownGuildError()
        return _view(self._client.sessions.get(guild_id))

    async def rights(self, guild_id: int, user_id: int) -> RightsView:
        """What the user may do now: the same checks the actions make, asked ahead of time."""
        guild = self._client.get_guild(guild_id)
        if guild is None:
            raise UnknownGuildError()
        settings = await self._client.guild_settings(guild_id)
        member = guild.get_member(user_id)
        session = self._client.sessions.get(guild_id)
        current = session.queue.current if session is not None else None
        requester = current.requester_id if current is not None else None

        async def right(check: Callable[[discord.Member], Awaitable[object]]) -> Right:
            try:
                if member is None:
                    raise NotInVoiceError()
                await check(member)
            except (*WHO_MAY_NOT, NotAllowedError) as refusal:
                return Right(False, str(refusal))
            return Right(True, None)

        async def add(m: discord.Member) -> None:
            self._voice_member(guild_id, m.id)

        return RightsView(
            dj=member is not None and is_dj(member, settings),
            control=await right(lambda m: session_member_controls(self._client, guild, m)),
            add=await right(add),
            skip=await right(lambda m: session_member_controls(self._client, guild, m, requester_id=requester,
                                                               skip=True)),
            forbidden_filters=[key for key in FILTER_NAMES if not settings.filter_allowed(key)],
        )

    async def act(self, guild_id: int, user_id: int, action: Action) -> PlayerView:
        # The same buckets as the user's slash commands: the dashboard is no way around the limits.
        self._check_rate(user_id, COMMAND_OF.get(action.kind, action.kind))
        try:
            return await self._act(guild_id, user_id, action)
        except WHO_MAY_NOT as refusal:
            raise NotAllowedError(str(refusal)) from refusal

    async def play(self, guild_id: int, user_id: int, query: str,
                   play_next: bool) -> tuple[list[EntryView], PlayerView]:
        """As /play: the user in a voice channel (the bot's, if it is in one), the same resolver,
        guard and limits; the bot joins the user's channel when it is in none."""
        self._check_rate(user_id, "play")
        guild, member = self._voice_member(guild_id, user_id)
        session = await self._client.sessions.ensure(guild, None, starter=member)
        entries = await session.play(query, member, play_next=play_next)
        return [entry_view(e) for e in entries], _view(session)

    async def search(self, user_id: int, words: str) -> list[TrackView]:
        """As /search: search results to pick from (then played with ``play`` by their link)."""
        self._check_rate(user_id, "search")
        search = getattr(self._client.sessions.resolver, "search", None)
        if search is None:
            raise CommandRefusedError("Searching is not available on this bot.")
        tracks: list[Track] = await search(words, SEARCH_RESULTS)
        return [TrackView(t.title, t.artist, t.duration_s, t.url, t.thumbnail_url) for t in tracks]

    # ---------------------------------------------------------------- history and playlists
    async def history(self, guild_id: int) -> list[HistoryView]:
        if self._client.get_guild(guild_id) is None:
            raise UnknownGuildError()
        rows = await self._client.history.recent_by_guild(guild_id, limit=HISTORY_SHOWN)
        return [HistoryView(r.track.title, r.track.artist, r.track.url,
                            None if r.user_id is None else str(r.user_id), r.autoplay,
                            r.started_at.isoformat(), None if r.outcome is None else r.outcome.value) for r in rows]

    async def playlists(self, user_id: int) -> list[PlaylistView]:
        return [playlist_view(p, "yours") for p in await self._client.playlists.list_for(user_id)]

    async def server_playlists(self, guild_id: int, user_id: int) -> list[PlaylistView]:
        """As /playlist list's other two parts: the server's own playlists and those shared there."""
        if self._client.get_guild(guild_id) is None:
            raise UnknownGuildError()
        shelf = await PlaylistShelf(self._client.db).shelf(user_id, guild_id)
        return [playlist_view(p, "server") for p in shelf.server] + [playlist_view(p, "shared") for p in shelf.shared]

    async def save_playlist(self, guild_id: int, user_id: int, name: str, overwrite: bool) -> PlaylistView:
        """As /playlist save: the server's current track and queue, as the user's playlist."""
        self._check_rate(user_id, "playlist save")
        if self._client.get_guild(guild_id) is None:
            raise UnknownGuildError()
        session = self._client.sessions.get(guild_id)
        entries = [] if session is None else [e for e in (session.queue.current, *session.queue.upcoming) if e]
        saved = await self._client.playlists.save(user_id, name, [e.track for e in entries], overwrite=overwrite)
        return playlist_view(saved, "yours")

    async def load_playlist(self, guild_id: int, user_id: int, name: str,
                            play_next: bool) -> tuple[list[EntryView], PlayerView]:
        """As /playlist load: in a voice channel (the bot's, if it is in one); ``name`` as the command takes it
        (the user's own name first, a ``load_as`` reference, the server's, shared there)."""
        self._check_rate(user_id, "playlist load")
        guild, member = self._voice_member(guild_id, user_id)
        found = await PlaylistShelf(self._client.db).find(user_id, guild_id, name)
        saved = await self._client.playlists.load_by_id(found.id)
        session = await self._client.sessions.ensure(guild, None, starter=member)
        entries = await session.enqueue(saved.tracks, member, play_next=play_next)
        return [entry_view(e) for e in entries], _view(session)

    def _voice_member(self, guild_id: int, user_id: int) -> tuple[discord.Guild, discord.Member]:
        """The guild and the user as its member, if they may bring or queue music (/play's rule)."""
        guild = self._client.get_guild(guild_id)
        if guild is None:
            raise UnknownGuildError()
        member = guild.get_member(user_id)
        try:
            if member is None:
                raise NotInVoiceError()
            voice_channel_of(member)
            session = self._client.sessions.get(guild.id)
            if session is not None and session.voice is not None and session.voice.is_connected():
                require_same_channel(member, session.voice.channel)
        except WHO_MAY_NOT as refusal:
            raise NotAllowedError(str(refusal)) from refusal
        return guild, member

    def _check_rate(self, user_id: int, command: str) -> None:
        tree = self._client.tree
        assert isinstance(tree, MusicTree)
        wait = tree.rate_limiter.retry_after(user_id, command)
        if wait:
            raise TooFastError(str(RateLimitedError(wait, "requests")), wait)

    async def _act(self, guild_id: int, user_id: int, action: Action) -> PlayerView:
        guild = self._client.get_guild(guild_id)
        if guild is None:
            raise UnknownGuildError()
        member = guild.get_member(user_id)
        if member is None or member.voice is None:
            raise NotInVoiceError()
        existing = self._client.sessions.get(guild_id)
        current = existing.queue.current if existing is not None else None
        requester = current.requester_id if current is not None else None
        if action.kind == "skip":  # as the panel's skip button: DJ, requester or alone; else a vote in Discord
            session = await session_member_controls(self._client, guild, member, requester_id=requester, skip=True)
            await actions.skip(session)
        elif action.kind == "remove":  # as /remove: a DJ, or whoever asked for that track
            session = await session_member_controls(self._client, guild, member, dj=False)
            target = session.queue.entry_at(action.value)
            await session_member_controls(self._client, guild, member, requester_id=target.requester_id)
            if session.remove(target.entry_id) is None:
                raise CommandRefusedError("That track is no longer in the queue.")
        else:
            session = await session_member_controls(self._client, guild, member)
            await self._apply(session, action)
        return _view(session)

    async def _apply(self, session: GuildSession, action: Action) -> None:
        kind, value = action.kind, action.value
        if kind in _SIMPLE:
            _SIMPLE[kind](session)
        elif kind == "previous":
            await actions.previous(session)
        elif kind == "seek":
            await actions.seek(session, value)
        elif kind == "volume":
            actions.set_volume(session, value)
        elif kind == "loop":
            actions.set_loop(session, LoopMode(value))
        elif kind == "shuffle":
            actions.shuffle(session, self._rng)
        elif kind == "move":
            session.move(*value)
        elif kind == "filters":  # the whole filter set, as Lavalink's /filter: all or nothing, same messages
            before, after = session.filters, parse_filters(value)
            actions.check_filters_allowed(await self._client.guild_settings(session.guild.id), before, after)
            session.set_filters(after)
        elif kind == "preset":
            actions.apply_filter_preset(session, await self._client.guild_settings(session.guild.id), value)
        else:  # the API builds only the kinds above
            raise CommandRefusedError(f"Unknown action {kind!r}.")


_SIMPLE: dict[str, Callable[[GuildSession], object]] = {
    "pause": actions.pause, "resume": actions.resume, "stop": actions.stop, "clear": actions.clear,
}


def entry_view(entry: QueueEntry) -> EntryView:
    """A queue entry as the dashboard (and the Telegram bridge) see it."""
    track = entry.track
    return EntryView(entry.entry_id, track.title, track.artist, track.duration_s, track.url, track.thumbnail_url,
                     None if entry.requester_id is None else str(entry.requester_id), entry.autoplay,
                     entry.requester_name)


def _view(session: GuildSession | None) -> PlayerView:
    if session is None:
        return PlayerView(connected=False, channel_id=None, channel_name=None, current=None, position_s=0.0,
                          paused=False, volume=100, loop="off", autoplay=False, filters={}, crossfade_s=0.0,
                          listeners=[], queue=[], queue_length=0, as_of=time.time())
    voice = session.voice
    channel = voice.channel if voice is not None and voice.is_connected() else None
    current = session.queue.current
    upcoming = list(session.queue.upcoming)
    in_channel = listeners(channel) if channel is not None and hasattr(channel, "members") else []  # type: ignore[arg-type, unused-ignore]
    return PlayerView(
        connected=channel is not None,
        channel_id=None if channel is None else str(channel.id),
        channel_name=None if channel is None else getattr(channel, "name", None),
        current=None if current is None else entry_view(current),
        position_s=round(session.played_s, 2) if current is not None else 0.0,
        paused=session.paused,
        volume=round(session.volume * 100),
        loop=session.queue.loop.value,
        autoplay=session.autoplay is not None,
        filters=settings_to_json(session.filters),
        crossfade_s=session.settings.crossfade_s,
        listeners=[(str(m.id), m.display_name) for m in in_channel],
        queue=[entry_view(e) for e in upcoming[:QUEUE_SHOWN]],
        queue_length=len(upcoming),
        as_of=time.time(),
        length_s=None if current is None else session.length_s,
        lyric_line=None if (line := session.lyrics.line_now()) is None else (line.text or "♪"),
        skipped=_skipped(session),
    )


def _skipped(session: GuildSession) -> str | None:
    note, current = session.skips.last_skipped, session.queue.current
    if note is None or current is None or note.entry_id != current.entry_id:
        return None
    return f"{CATEGORY_LABELS.get(note.category, note.category)} ({format_duration(note.length_s)})"


def playlist_view(playlist: PlaylistSummary, whose: str) -> PlaylistView:
    load_as = playlist.name if whose == "yours" else reference(playlist)
    return PlaylistView(playlist.name, playlist.track_count, playlist.duration_s, playlist.updated_at.isoformat(),
                        whose, load_as)
