"""``/play``, ``/search``, ``/join``, ``/leave`` (SPEC §1 play group)."""

from __future__ import annotations

import asyncio
import logging

import discord
from discord import app_commands

from musicbot.bot.checks import controlling_session, guild_and_member, require_same_channel, voice_channel_of
from musicbot.bot.cogs.base import Interaction, MusicCog
from musicbot.bot.components import SEARCH_MENU, custom_id
from musicbot.bot.errors import CommandRefusedError
from musicbot.bot.format import format_duration, safe, track_title
from musicbot.bot.replies import defer, reply
from musicbot.errors import MusicBotError
from musicbot.i18n import localized, ngettext, set_locale, tr
from musicbot.queue import QueueEntry
from musicbot.sources.models import ResolvedKind
from musicbot.track import Track

log = logging.getLogger(__name__)

AUTOCOMPLETE_TIMEOUT_S = 2.0  # Discord drops autocomplete answers after 3 s
MAX_QUERY_CHARS = 500


def queued_message(entries: list[QueueEntry], *, started: bool, play_next: bool) -> str:
    if len(entries) == 1:
        track = entries[0].track
        length = tr("live") if track.duration_s is None else format_duration(track.duration_s)
        title = track_title(track)
        if started:
            return "🎵 " + tr("Playing: {title} ({length})", title=title, length=length)
        if play_next:
            return "🎵 " + tr("Up next: {title} ({length})", title=title, length=length)
        return "🎵 " + tr("Queued: {title} ({length})", title=title, length=length)
    total = sum(e.track.duration_s or 0.0 for e in entries)
    return "🎵 " + ngettext("Queued {n} track ({length}).", "Queued {n} tracks ({length}).", len(entries),
                           n=len(entries), length=format_duration(total))


def choice_label(track: Track) -> str:
    length = tr("live") if track.duration_s is None else format_duration(track.duration_s)
    label = f"{track.display_name} ({length})"
    return label if len(label) <= 100 else label[:99] + "…"


class PlayCog(MusicCog):
    @app_commands.command(name="play", description="Play a song or playlist: a link or search words")
    @app_commands.describe(query="A link (YouTube, Spotify, SoundCloud, radio…) or search words",
                           next="Put it at the front of the queue")
    @app_commands.guild_only()
    async def play(self, interaction: Interaction, query: app_commands.Range[str, 1, MAX_QUERY_CHARS],
                   next: bool = False) -> None:
        guild, member = guild_and_member(interaction)
        channel = voice_channel_of(member)
        session = self.bot.sessions.get(guild.id)
        if session is not None and session.voice is not None and session.voice.is_connected():
            require_same_channel(member, session.voice.channel)
        await defer(interaction)
        session = await self.bot.sessions.ensure(guild, interaction.channel_id, starter=member)
        was_idle = session.queue.current is None
        entries = await session.play(query, member, play_next=next)
        started = was_idle and len(entries) == 1 and session.queue.current == entries[0]
        log.info("guild %s: /play %d track(s) in %s", guild.id, len(entries), channel.id)
        await reply(interaction, queued_message(entries, started=started, play_next=next))

    @play.autocomplete("query")
    async def play_suggestions(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await self._suggest(current)

    async def _suggest(self, current: str, *, as_links: bool = True) -> list[app_commands.Choice[str]]:
        """Search results as choices (the resolver caches searches, so typing costs one lookup per prefix)."""
        words = current.strip()
        if len(words) < 2 or "://" in words:
            return []  # links play as they are; one letter is not worth a search
        search = getattr(self.bot.sessions.resolver, "search", None)
        if search is None:
            return []
        try:
            tracks: list[Track] = await asyncio.wait_for(search(words, 5), AUTOCOMPLETE_TIMEOUT_S)
        except (TimeoutError, MusicBotError):
            return []
        if not as_links:
            return [app_commands.Choice(name=choice_label(t), value=t.display_name[:100]) for t in tracks][:25]
        return [app_commands.Choice(name=choice_label(t), value=t.url) for t in tracks if len(t.url) <= 100][:25]

    @app_commands.command(name="join", description="Join your voice channel")
    @app_commands.guild_only()
    async def join(self, interaction: Interaction) -> None:
        guild, member = guild_and_member(interaction)
        channel = voice_channel_of(member)
        session = await self.bot.sessions.ensure(guild, interaction.channel_id, starter=member)
        if session.voice is not None and session.voice.is_connected():
            if session.voice.channel is not None and session.voice.channel.id == channel.id:
                await reply(interaction, tr("I'm already in {channel}.", channel=channel.mention), ephemeral=True)
                return
            require_same_channel(member, session.voice.channel)
        await defer(interaction)
        await session.connect(member)
        await reply(interaction, "👋 " + tr("Joined {channel}.", channel=channel.mention))

    @app_commands.command(name="leave", description="Stop the music and leave the voice channel")
    @app_commands.guild_only()
    async def leave(self, interaction: Interaction) -> None:
        session, _ = await controlling_session(interaction)
        await session.disconnect()
        await reply(interaction, "👋 " + tr("Left the voice channel and cleared the queue."))

    @app_commands.command(name="search", description="Search and pick one of the top results")
    @app_commands.describe(query="Search words")
    @app_commands.guild_only()
    async def search(self, interaction: Interaction, query: app_commands.Range[str, 1, MAX_QUERY_CHARS]) -> None:
        _, member = guild_and_member(interaction)
        voice_channel_of(member)
        await defer(interaction, ephemeral=True)
        resolved = await self.bot.sessions.resolver.resolve(query)
        tracks = list(resolved.tracks[:10]) if resolved.kind is ResolvedKind.SEARCH else list(resolved.tracks[:1])
        view = SearchPicker(self, tracks, member.id)
        lines = [f"`{i}.` {safe(choice_label(t), 90)}" for i, t in enumerate(tracks, 1)]
        await reply(interaction, tr("Pick one:") + "\n" + "\n".join(lines), ephemeral=True, view=view)

    @search.autocomplete("query")
    async def search_suggestions(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        # /search takes words: suggest titles to search for, not the links /play would take.
        return await self._suggest(current, as_links=False)


class SearchPicker(discord.ui.View):
    """The select menu under ``/search`` results; only the user who searched may pick."""

    def __init__(self, cog: PlayCog, tracks: list[Track], user_id: int) -> None:
        super().__init__(timeout=120)
        self.cog = cog
        self.tracks = tracks
        self.user_id = user_id
        options = [discord.SelectOption(label=choice_label(t)[:100], value=str(i)) for i, t in enumerate(tracks)]
        # A known id (bot/components.py): a pick after a restart is answered "expired", not dropped.
        self.picker: discord.ui.Select[SearchPicker] = discord.ui.Select(
            placeholder=tr("Choose a track"), options=options, custom_id=custom_id(SEARCH_MENU, "pick"))
        self.picker.callback = self._picked  # type: ignore[method-assign, assignment]
        self.add_item(self.picker)

    async def interaction_check(self, interaction: Interaction) -> bool:  # type: ignore[override]
        set_locale(interaction.locale)  # the click's task answers in the clicker's language
        if interaction.user.id != self.user_id:
            await reply(interaction, tr("This menu belongs to someone else's search."), ephemeral=True)
            return False
        return True

    async def _picked(self, interaction: Interaction) -> None:
        try:
            track = self.tracks[int(self.picker.values[0])]
            guild, member = guild_and_member(interaction)
            voice_channel_of(member)
            playing = self.cog.bot.sessions.get(guild.id)
            if playing is not None and playing.voice is not None and playing.voice.is_connected():
                require_same_channel(member, playing.voice.channel)  # as /play: only from the bot's channel
            await defer(interaction)
            session = await self.cog.bot.sessions.ensure(guild, interaction.channel_id, starter=member)
            was_idle = session.queue.current is None
            entries = await session.enqueue([track], member)
            await reply(interaction, queued_message(entries, started=was_idle, play_next=False))
        except (MusicBotError, ValueError, IndexError) as error:
            message = localized(error) if isinstance(error, MusicBotError) else \
                tr("That choice is no longer available.")
            await reply(interaction, f"⚠️ {message}", ephemeral=True)

    async def on_error(self, interaction: Interaction, error: Exception,  # type: ignore[override]
                       item: discord.ui.Item[SearchPicker]) -> None:
        log.error("search picker failed", exc_info=error)
        if isinstance(error, CommandRefusedError):
            await reply(interaction, f"⚠️ {localized(error)}", ephemeral=True)
