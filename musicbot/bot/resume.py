"""Sessions outlive the process: snapshots while playing, and resume after a restart.

Each guild's session is snapshotted (``GuildSession.snapshot`` plus where its text channel and
now-playing panel are) on every change the session reports and every ``interval_s`` while a
track plays, through ``SnapshotWriter`` (write-behind, coalesced per guild: playback never waits
for the database). Shutdown writes a last one per guild. A session with nothing left to carry on
(left voice, stopped with an empty queue outside 24/7) has its snapshot deleted.

At start (``resume_all``, once, when discord.py is ready) every snapshot of a guild this process
owns (its shards) is resumed: the session rejoins its voice channel and plays the same track
from the saved position, paused if it was. A channel with nobody in it waits up to
``listener_wait_s`` for a listener (24/7 guilds rejoin at once); snapshots older than
``max_age_s`` are dropped.

Event loop only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import discord

from musicbot.i18n import lazy
from musicbot.queue import AutoplayEngine, AutoplayMode
from musicbot.session import GuildSession
from musicbot.storage import SessionSnapshot, SnapshotRepo, SnapshotWriter, StorageError
from musicbot.storage.columns import utcnow

if TYPE_CHECKING:
    from musicbot.bot.client import MusicBotClient
    from musicbot.bot.panel import PanelManager

log = logging.getLogger(__name__)


class SessionKeeper:
    """Writes every session's snapshot and resumes them at start. Event loop."""

    def __init__(self, bot: MusicBotClient, *, interval_s: float, max_age_s: float,
                 listener_wait_s: float) -> None:
        self.bot = bot
        self.interval_s = interval_s
        self.max_age_s = max_age_s
        self.listener_wait_s = listener_wait_s
        self._stored: set[int] = set()  # guilds whose snapshot may be in the database
        self._waiting: dict[int, SessionSnapshot] = {}  # resumes that wait for a listener
        # Resumes under way: their session exists before its queue and voice are back, and the stored
        # snapshot is all there is of them until it plays (a shutdown meanwhile must keep it).
        self._restoring: set[int] = set()
        self._resumed = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._ticker: asyncio.Task[None] | None = None

    # ---------------------------------------------------------------- writing
    def start(self) -> None:
        """Begin the periodic snapshots of playing sessions (their position moves)."""
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick())

    def changed(self, guild_id: int) -> None:
        """The session reported a change (track, queue, pause, filters, volume…)."""
        if self.bot.closing:
            return  # shutdown wrote the last snapshots; leaving voice now must not erase them
        self._save(guild_id)

    def save_all(self) -> int:
        """Shutdown: queue the last snapshot of every session (written when the database closes).
        Returns how many sessions will resume."""
        saved = 0
        for session in self.bot.sessions.all():
            saved += self._save(session.guild.id)
        return saved

    async def stop(self) -> None:
        tasks = [t for t in (self._ticker, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._ticker = None

    def capture(self, session: GuildSession) -> SessionSnapshot | None:
        snapshot = session.snapshot()
        if snapshot is None:
            return None
        panel = self._panels()
        where = panel.location(session.guild.id) if panel is not None else None
        return replace(
            snapshot,
            text_channel_id=self.bot.sessions.text_channel_id(session.guild.id),
            panel_channel_id=where[0] if where else None,
            panel_message_id=where[1] if where else None,
        )

    def _save(self, guild_id: int) -> bool:
        """Queue this guild's snapshot, or its deletion when there is nothing to carry on."""
        session = self.bot.sessions.get(guild_id)
        snapshot = self.capture(session) if session is not None else None
        if snapshot is None and session is not None and (session.queue.current or session.queue.upcoming):
            return False  # music but no voice connection: (re)connecting; the stored snapshot still holds
        if snapshot is None and guild_id in self._restoring:
            return False  # not back yet: the stored snapshot is what the next start resumes
        if snapshot is not None and snapshot.current is None and not snapshot.queue \
                and not (session is not None and session.settings.always_on):
            snapshot = None  # stopped with nothing queued: nothing to come back to
        try:
            writer = SnapshotWriter(self.bot.db)
            if snapshot is not None:
                writer.schedule(snapshot)
                self._stored.add(guild_id)
                self._waiting.pop(guild_id, None)  # music started here again: that one is newer
                return True
            if guild_id in self._stored:
                writer.schedule_delete(guild_id)
                self._stored.discard(guild_id)
        except StorageError:
            log.warning("session snapshot of guild %s not written: the database is not open", guild_id)
        return False

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            for session in self.bot.sessions.all():
                if session.queue.current is not None and not session.paused:
                    self.changed(session.guild.id)

    # ---------------------------------------------------------------- resuming
    async def resume_all(self) -> None:
        """At start, once: resume (or wait for a listener for) every snapshot of our guilds."""
        if self._resumed:
            return  # on_ready fires again after reconnects; the sessions are already here
        self._resumed = True
        repo = SnapshotRepo(self.bot.db)
        # Only our shards' guilds: on a shared database the others' snapshots are their processes' to
        # resume or drop, whether those run now or start later.
        shards = self.bot.shard_range
        try:
            dropped = await repo.delete_older_than(utcnow() - timedelta(seconds=self.max_age_s), shards)
            mine = await repo.load_all(shards)
        except StorageError as error:
            log.warning("sessions not resumed: the snapshots cannot be read (%s)", error)
            return
        if dropped:
            log.info("dropped %d session snapshots older than %.0f s", len(dropped), self.max_age_s)
        self._stored.update(s.guild_id for s in mine)
        await asyncio.gather(*(self._resume_or_wait(s) for s in mine))

    def on_voice_state_update(self, member: discord.Member, after: discord.VoiceState) -> None:
        """A listener joining the channel of a snapshot that waits for one resumes it."""
        waiting = self._waiting.get(member.guild.id)
        if waiting is None or member.bot or after.channel is None or after.channel.id != waiting.voice_channel_id:
            return
        del self._waiting[member.guild.id]
        self._spawn(self._resume(member.guild, after.channel, waiting))

    async def _resume_or_wait(self, snapshot: SessionSnapshot) -> None:
        guild = self.bot.get_guild(snapshot.guild_id)
        channel = guild.get_channel(snapshot.voice_channel_id) if guild is not None else None
        if guild is None or not isinstance(channel, discord.VoiceChannel | discord.StageChannel):
            log.info("not resuming guild %s: its voice channel %s is gone", snapshot.guild_id,
                     snapshot.voice_channel_id)
            self._forget(snapshot.guild_id)
            return
        settings = await self.bot.guild_settings(guild.id)
        if settings.stay_24_7 or _has_listeners(channel):
            await self._resume(guild, channel, snapshot)
            return
        log.info("guild %s resumes when someone joins %s (waiting %.0f s)", guild.id, channel.id,
                 self.listener_wait_s)
        self._waiting[guild.id] = snapshot
        self._spawn(self._expire(guild.id, snapshot))

    async def _expire(self, guild_id: int, snapshot: SessionSnapshot) -> None:
        await asyncio.sleep(self.listener_wait_s)
        if self._waiting.get(guild_id) is snapshot:
            del self._waiting[guild_id]
            log.info("guild %s not resumed: nobody joined its voice channel", guild_id)
            self._forget(guild_id)

    async def _resume(self, guild: discord.Guild, channel: discord.VoiceChannel | discord.StageChannel,
                      snapshot: SessionSnapshot) -> None:
        if self.bot.closing:
            return
        self._restoring.add(guild.id)
        try:
            await self._restore(guild, channel, snapshot)
        finally:
            self._restoring.discard(guild.id)

    async def _restore(self, guild: discord.Guild, channel: discord.VoiceChannel | discord.StageChannel,
                       snapshot: SessionSnapshot) -> None:
        session = await self.bot.sessions.ensure(guild, snapshot.text_channel_id)
        if session.queue.current is not None or (session.voice is not None and session.voice.is_connected()):
            return  # someone started music here before the resume: theirs wins
        engine = None
        if snapshot.autoplay:
            mode = AutoplayMode(snapshot.autoplay_mode or AutoplayMode.MIXED.value)
            engine = AutoplayEngine(self.bot.sessions.recommender, mode)
        session.set_autoplay(engine)
        panel = self._panels()
        if panel is not None and snapshot.panel_channel_id and snapshot.panel_message_id:
            panel.adopt(guild.id, snapshot.panel_channel_id, snapshot.panel_message_id)
        try:
            await session.restore(snapshot, channel)
        except Exception as error:  # a voice connection that fails must not stop the other guilds
            log.warning("could not resume guild %s in channel %s: %s", guild.id, channel.id, error)
            self.bot.sessions.announce(guild.id, lazy("I could not rejoin {channel} after a restart: {reason}",
                                                      channel=channel.mention, reason=error))
            return
        current = session.queue.current
        log.info("resumed guild %s in channel %s: %s at %.1f s%s", guild.id, channel.id,
                 current.track.display_name if current is not None else "nothing playing",
                 snapshot.position_s, " (paused)" if snapshot.paused else "")

    def _forget(self, guild_id: int) -> None:
        try:
            SnapshotWriter(self.bot.db).schedule_delete(guild_id)
        except StorageError:
            return
        self._stored.discard(guild_id)

    def _panels(self) -> PanelManager | None:
        from musicbot.bot.cogs.nowplaying import NowPlayingCog  # the cogs build on the client

        for cog in self.bot.cogs.values():
            if isinstance(cog, NowPlayingCog):
                return cog.panels
        return None

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _has_listeners(channel: discord.VoiceChannel | discord.StageChannel) -> bool:
    return any(not member.bot for member in channel.members)
