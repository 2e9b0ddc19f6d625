"""One ``GuildSession`` per guild, created on first use with the guild's settings applied, and
freed when it leaves voice (``/leave``, idle, disconnected by someone): the next music starts a
new one, with the settings and the starter's ``/me`` preferences as they are then.

Announcements (skips, errors, "left the channel") go to the guild's announce channel if set,
else to the channel where music was last asked for.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import discord

from musicbot.bot.replies import NO_PINGS
from musicbot.i18n import localized, use_locale
from musicbot.lookups import Lookups
from musicbot.queue import AutoplayEngine, MusicQueue, QueueEntry, QueueLimits, Recommender, YtDlpRecommender
from musicbot.session import GuildSession, SessionSettings, TrackOpener, TrackResolver
from musicbot.storage import GuildSettings, PlayOutcome, StorageError, UserSettings
from musicbot.voice.render_client import EngineFactory

if TYPE_CHECKING:
    from musicbot.bot.client import MusicBotClient

log = logging.getLogger(__name__)

# At shutdown, how long announcements already on their way may still take.
ANNOUNCE_GRACE_S = 1.0


class SessionManager:
    """Event loop. ``on_change(guild_id)`` is told whenever a session's now-playing state may have changed."""

    def __init__(
        self,
        bot: MusicBotClient,
        *,
        resolver: TrackResolver,
        opener: TrackOpener,
        idle_leave_s: float = 120.0,
        on_change: Callable[[int], None] = lambda guild_id: None,
        engines: EngineFactory | None = None,
        lookups: Lookups | None = None,
        on_lyric_line: Callable[[int], None] = lambda guild_id: None,
    ) -> None:
        self.bot = bot
        self.engines = engines or EngineFactory()
        self.lookups = lookups or Lookups()  # LRCLIB and SponsorBlock, shared with their caches
        self.on_lyric_line = on_lyric_line
        self.resolver = resolver
        self.opener = opener
        self.idle_leave_s = idle_leave_s
        self.on_change = on_change
        # Where autoplay finds tracks (tests put an offline one here).
        self.recommender: Recommender = YtDlpRecommender()
        self._sessions: dict[int, GuildSession] = {}
        # Creating a session awaits the settings: two commands at once must not create two.
        self._creating: dict[int, asyncio.Lock] = {}
        self._text_channels: dict[int, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    def get(self, guild_id: int) -> GuildSession | None:
        return self._sessions.get(guild_id)

    def all(self) -> list[GuildSession]:
        return list(self._sessions.values())

    async def ensure(
        self, guild: discord.Guild, text_channel_id: int | None = None, *, starter: discord.abc.User | None = None
    ) -> GuildSession:
        """The guild's session, created with its settings on first use. ``starter`` (who asked for
        music) sets, where their ``/me`` says so, the volume and autoplay a new session begins with."""
        if text_channel_id is not None:
            self._text_channels[guild.id] = text_channel_id
        session = self._sessions.get(guild.id)
        if session is not None:
            return session
        async with self._creating.setdefault(guild.id, asyncio.Lock()):
            session = self._sessions.get(guild.id)
            if session is None:
                session = await self._create(guild, starter)
        return session

    async def _create(self, guild: discord.Guild, starter: discord.abc.User | None) -> GuildSession:
        settings = _with_preferences(await self.bot.guild_settings(guild.id), await self._preferences(starter))
        session = GuildSession(
            guild,
            resolver=self.resolver,
            opener=self.opener,
            announce=functools.partial(self.announce, guild.id),
            on_change=functools.partial(self.on_change, guild.id),
            on_play_start=functools.partial(self._play_started, guild.id),
            on_play_end=functools.partial(self._play_ended, guild.id),
            settings=SessionSettings(idle_leave_s=self.idle_leave_s),
            queue=MusicQueue(limits=queue_limits(settings)),
            engine=self.engines(),
            lookups=self.lookups,
            on_lyric_line=functools.partial(self.on_lyric_line, guild.id),
        )
        session.on_left = functools.partial(self._left, session)
        self._sessions[guild.id] = session
        self.apply_settings(session, settings)
        session.set_volume(settings.default_volume / 100)  # the server's, or the starter's /me volume
        if settings.autoplay_default:
            session.set_autoplay(AutoplayEngine(self.recommender, settings.autoplay_mode))
        return session

    def _left(self, session: GuildSession) -> None:
        """The session left voice for good: free it (and its engine's render-worker connection)."""
        if self._sessions.get(session.guild.id) is session:
            del self._sessions[session.guild.id]
        session.close()

    def _play_started(self, guild_id: int, entry: QueueEntry) -> None:
        """The history (``bot/history.py``) listens for this."""
        self.bot.dispatch("session_play_started", guild_id, entry)

    def _play_ended(self, guild_id: int, entry: QueueEntry, outcome: PlayOutcome, reason: str | None) -> None:
        """The history (``bot/history.py``) listens for this."""
        self.bot.dispatch("session_play_ended", guild_id, entry.entry_id, outcome, reason)

    async def _preferences(self, user: discord.abc.User | None) -> UserSettings | None:
        if user is None:
            return None
        try:
            return await self.bot.user_settings.get(user.id)
        except StorageError:  # the music starts anyway, with the server's defaults
            log.warning("user settings unavailable for %s; using the server's defaults", user.id)
            return None

    def apply_settings(self, session: GuildSession, settings: GuildSettings) -> None:
        """Guild settings that act on a live session (after ``/settings`` or at creation). The
        default volume is a new session's (``_create``): a live session keeps the volume set."""
        session.settings.always_on = settings.stay_24_7
        session.settings.ended_leave_s = settings.ended_leave_s
        session.settings.pause_when_alone = settings.pause_when_alone
        session.settings_changed()
        session.queue.limits = queue_limits(settings)
        session.queue.fair = settings.fair_queue  # turning it on re-orders what is queued into rounds
        session.set_normalization(settings.normalization, settings.target_lufs)
        if session.settings.crossfade_s != settings.crossfade_s:
            session.set_crossfade(settings.crossfade_s)
        if session.lyrics.enabled != settings.lyrics:
            session.lyrics.set_enabled(settings.lyrics)
        session.skips.categories = settings.sponsorblock_categories  # from the next track on

    def announce(self, guild_id: int, text: str) -> None:
        """Post ``text`` where the guild's music is announced; a ``Text`` (``musicbot.i18n.lazy``) in the guild's
        language (``preferred_locale``)."""
        if self._closing:
            return  # shutting down: the HTTP session closes before such a message could go out
        task = asyncio.get_running_loop().create_task(self._send(guild_id, text))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, guild_id: int, text: str) -> None:
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return
        with use_locale(guild.preferred_locale):
            content = localized(text)
        settings = await self.bot.guild_settings(guild_id)
        channel_id = settings.announce_channel_id or self._text_channels.get(guild_id)
        channel = guild.get_channel(channel_id) if channel_id else None
        if not isinstance(channel, discord.abc.Messageable):
            return
        try:
            await channel.send(content, allowed_mentions=NO_PINGS)
        except discord.HTTPException:
            log.warning("could not announce in guild %s", guild_id, exc_info=True)

    def text_channel_id(self, guild_id: int) -> int | None:
        return self._text_channels.get(guild_id)

    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        session = self._sessions.get(member.guild.id)
        if session is None:
            return
        me = self.bot.user
        session.on_voice_state_update(member, before, after)
        if me is not None and member.id == me.id and after.channel is None and session.voice is not None \
                and not session.voice.is_connected() and session.link.removed:
            # Disconnected from voice by someone: drop the playback state with it (and the session).
            await session.disconnect()

    async def close(self) -> None:
        """Shutdown: leave voice everywhere; announcements still on their way are given a moment
        to go out, then cancelled (the HTTP session closes next)."""
        for session in list(self._sessions.values()):
            try:
                await session.disconnect()
            except Exception:
                log.exception("could not leave voice cleanly")
        self._sessions.clear()
        self._closing = True
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=ANNOUNCE_GRACE_S)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)


def queue_limits(settings: GuildSettings) -> QueueLimits:
    return QueueLimits(max_length=settings.max_queue_length, max_track_s=settings.max_track_s,
                       dedupe=settings.reject_duplicates)


def _with_preferences(settings: GuildSettings, preferences: UserSettings | None) -> GuildSettings:
    """The guild's settings for a session started by a user with these ``/me`` preferences: theirs
    win where they set one (volume, autoplay); everything else is the server's."""
    if preferences is None:
        return settings
    if preferences.default_volume is not None:
        settings = replace(settings, default_volume=preferences.default_volume)
    if preferences.autoplay is not None:
        settings = replace(settings, autoplay_default=preferences.autoplay)
    return settings
