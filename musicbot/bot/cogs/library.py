"""``/playlist save|load|list|show|delete|rename`` and ``/history`` (SPEC §1 library group).

Playlists belong to a user (not a server): every answer about them is ephemeral except
``load``, which changes the music for everyone. Storage refusals (unknown name, name taken,
database down) are ``MusicBotError``s: the tree shows their message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import discord
from discord import app_commands
from discord.app_commands import Range

from musicbot.bot.checks import guild_and_member, require_same_channel, voice_channel_of
from musicbot.bot.cogs.base import Interaction, MusicCog
from musicbot.bot.format import format_duration, safe
from musicbot.bot.replies import OK_COLOUR, PRIVATE_ANSWERS, defer, reply
from musicbot.storage import HistoryEntry, PlayOutcome, StorageError
from musicbot.storage.playlists import MAX_NAME_LENGTH

log = logging.getLogger(__name__)

EMBED_TEXT_LIMIT = 3900  # Discord allows 4096 in a description; keep room for the "and N more" line
SHOW_TRACKS = 25
HISTORY_LIMIT = 15


def listing(lines: Iterable[str], total: int, limit: int = EMBED_TEXT_LIMIT) -> str:
    """``lines`` joined up to ``limit`` characters, then how many were left out of ``total``."""
    shown: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > limit:
            break
        shown.append(line)
        size += len(line) + 1
    if total > len(shown):
        shown.append(f"… and {total - len(shown)} more")
    return "\n".join(shown)


def history_line(entry: HistoryEntry) -> str:
    who = "autoplay" if entry.autoplay or entry.user_id is None else f"<@{entry.user_id}>"
    when = f"<t:{int(entry.started_at.timestamp())}:R>"
    # How it ended, when it did not simply play to the end (still playing, or the bot stopped: nothing).
    ending = "" if entry.outcome in (None, PlayOutcome.FINISHED) else f" · {entry.outcome.value}"
    return f"{when} {safe(entry.track.display_name, 70)} — {who}{ending}"


class LibraryCog(MusicCog):
    playlist = app_commands.Group(name="playlist", description="Your saved playlists", guild_only=True)

    @playlist.command(name="save", description="Save the current track and the queue as a playlist",
                      extras=PRIVATE_ANSWERS)
    @app_commands.describe(name="The playlist's name", overwrite="Replace your playlist of that name if there is one")
    async def save(self, interaction: Interaction, name: Range[str, 1, MAX_NAME_LENGTH],
                   overwrite: bool = False) -> None:
        guild, member = guild_and_member(interaction)
        session = self.bot.sessions.get(guild.id)
        entries = [] if session is None else [e for e in (session.queue.current, *session.queue.upcoming) if e]
        saved = await self.bot.playlists.save(member.id, name, [e.track for e in entries], overwrite=overwrite)
        await reply(interaction, f"💾 Saved “{safe(saved.name)}”: {_tracks(saved.track_count)} "
                                 f"({format_duration(saved.duration_s)}).", ephemeral=True)

    @playlist.command(name="load", description="Add one of your playlists to the queue")
    @app_commands.describe(name="One of your playlists", next="Put it at the front of the queue")
    async def load(self, interaction: Interaction, name: Range[str, 1, 100], next: bool = False) -> None:
        guild, member = guild_and_member(interaction)
        voice_channel_of(member)
        session = self.bot.sessions.get(guild.id)
        if session is not None and session.voice is not None and session.voice.is_connected():
            require_same_channel(member, session.voice.channel)
        saved = await self.bot.playlists.load(member.id, name)
        await defer(interaction)  # joining voice and opening the first track can take seconds
        session = await self.bot.sessions.ensure(guild, interaction.channel_id, starter=member)
        entries = await session.enqueue(saved.tracks, member, play_next=next)
        text = f"📂 Queued {_tracks(len(entries))} from “{safe(saved.name)}”"
        text += f" ({format_duration(sum(e.track.duration_s or 0.0 for e in entries))})."
        refused = len(saved.tracks) - len(entries)
        if refused:
            text += f" {refused} could not be added (queue full, too long or already queued)."
        await reply(interaction, text)

    @playlist.command(name="list", description="Your playlists",
                      extras=PRIVATE_ANSWERS)
    async def list_(self, interaction: Interaction) -> None:
        _, member = guild_and_member(interaction)
        playlists = await self.bot.playlists.list_for(member.id)
        if not playlists:
            await reply(interaction, "You have no playlists yet. Save the queue with /playlist save.", ephemeral=True)
            return
        lines = (f"**{safe(p.name)}** — {_tracks(p.track_count)}, {format_duration(p.duration_s)}" for p in playlists)
        embed = discord.Embed(title="Your playlists", colour=OK_COLOUR, description=listing(lines, len(playlists)))
        await reply(interaction, embed=embed, ephemeral=True)

    @playlist.command(name="show", description="The tracks of one of your playlists",
                      extras=PRIVATE_ANSWERS)
    @app_commands.describe(name="One of your playlists")
    async def show(self, interaction: Interaction, name: Range[str, 1, 100]) -> None:
        _, member = guild_and_member(interaction)
        saved = await self.bot.playlists.load(member.id, name)
        lines = (
            f"`{i}.` {safe(t.display_name, 70)} ({'live' if t.duration_s is None else format_duration(t.duration_s)})"
            for i, t in enumerate(saved.tracks[:SHOW_TRACKS], 1)
        )
        embed = discord.Embed(title=f"📂 {safe(saved.name)}", colour=OK_COLOUR,
                              description=listing(lines, len(saved.tracks)))
        embed.set_footer(text=f"{_tracks(len(saved.tracks))} · {format_duration(saved.duration_s)}")
        await reply(interaction, embed=embed, ephemeral=True)

    @playlist.command(name="delete", description="Delete one of your playlists",
                      extras=PRIVATE_ANSWERS)
    @app_commands.describe(name="One of your playlists")
    async def delete(self, interaction: Interaction, name: Range[str, 1, 100]) -> None:
        _, member = guild_and_member(interaction)
        summary = await self.bot.playlists.show(member.id, name)
        await self.bot.playlists.delete(member.id, summary.name)
        await reply(interaction, f"🗑️ Deleted “{safe(summary.name)}”.", ephemeral=True)

    @playlist.command(name="rename", description="Rename one of your playlists",
                      extras=PRIVATE_ANSWERS)
    @app_commands.describe(name="One of your playlists", new_name="Its new name")
    async def rename(self, interaction: Interaction, name: Range[str, 1, 100],
                     new_name: Range[str, 1, MAX_NAME_LENGTH]) -> None:
        _, member = guild_and_member(interaction)
        old = await self.bot.playlists.show(member.id, name)
        renamed = await self.bot.playlists.rename(member.id, old.name, new_name)
        await reply(interaction, f"✏️ Renamed “{safe(old.name)}” to “{safe(renamed.name)}”.", ephemeral=True)

    @load.autocomplete("name")
    @show.autocomplete("name")
    @delete.autocomplete("name")
    @rename.autocomplete("name")
    async def playlist_names(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        try:
            playlists = await self.bot.playlists.list_for(interaction.user.id)
        except StorageError:
            return []  # typing must never fail; the command itself reports the outage
        typed = current.strip().casefold()
        return [app_commands.Choice(name=f"{p.name} ({_tracks(p.track_count)})"[:100], value=p.name)
                for p in playlists if typed in p.name.casefold()][:25]

    @app_commands.command(name="history", description="What was played here recently, or by one member",
                          extras=PRIVATE_ANSWERS)
    @app_commands.describe(user="Only what this member played")
    @app_commands.guild_only()
    async def history(self, interaction: Interaction, user: discord.User | None = None) -> None:
        guild, _ = guild_and_member(interaction)
        if user is None:
            entries = await self.bot.history.recent_by_guild(guild.id, limit=HISTORY_LIMIT)
            title, empty = "Recently played", "Nothing has been played here yet."
        else:
            entries = await self.bot.history.recent_by_user(user.id, guild_id=guild.id, limit=HISTORY_LIMIT)
            # A user Discord sent without its details (left the server) is still named by a mention.
            name = safe(user.display_name, 40) if isinstance(user, discord.abc.User) else f"<@{user.id}>"
            title, empty = f"Recently played by {name}", f"{name} has not played anything here yet."
        if not entries:
            await reply(interaction, empty, ephemeral=True)
            return
        embed = discord.Embed(title=title, colour=OK_COLOUR,
                              description=listing((history_line(e) for e in entries), len(entries)))
        await reply(interaction, embed=embed, ephemeral=True)


def _tracks(count: int) -> str:
    return f"{count} track" if count == 1 else f"{count} tracks"
