"""``/lyrics``: the current track's lyrics (LRCLIB), in pages like ``/queue``.

With synced lyrics the first page shown is the one with the line being sung, marked ▶; the ◀ ▶
buttons re-render from the session as it is then. Lyrics are looked up beside playback (and cached),
so the answer is usually at once; a slow LRCLIB defers it, a dead one gets one sentence, and the
music never waits for either. Off on a server whose admins turned lyrics off (``/settings lyrics``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from musicbot.bot.actions import MAX_INDEX, NothingPlayingRefusal, current_entry, soon
from musicbot.bot.checks import guild_and_member
from musicbot.bot.cogs.base import Interaction, MusicCog
from musicbot.bot.components import LYRICS_PAGER
from musicbot.bot.errors import CommandRefusedError
from musicbot.bot.format import safe, track_title
from musicbot.bot.pager import Pager
from musicbot.bot.replies import OK_COLOUR, reply
from musicbot.i18n import lazy, lazy_plural, tr
from musicbot.lookups import Lyrics
from musicbot.session_lyrics import LyricsStatus

if TYPE_CHECKING:
    from musicbot.queue import QueueEntry
    from musicbot.session import GuildSession

LINES_PER_PAGE = 20
PAGE_CHARS = 3500  # a page's text stays under Discord's 4096 per embed description


def lyric_lines(lyrics: Lyrics) -> list[str]:
    return [line.text for line in lyrics.synced] if lyrics.synced else lyrics.plain.splitlines()


def pages_of(lines: list[str]) -> list[tuple[int, int]]:
    """(first, end) line indices of each page: ``LINES_PER_PAGE`` lines, fewer when they are long."""
    pages: list[tuple[int, int]] = []
    start = 0
    while start < len(lines) or not pages:
        end, size = start, 0
        while end < len(lines) and end - start < LINES_PER_PAGE and size + len(lines[end]) + 8 <= PAGE_CHARS:
            size += len(lines[end]) + 8
            end += 1
        end = max(end, min(start + 1, len(lines)))
        pages.append((start, end))
        start = end
    return pages


def lyrics_embed(entry: QueueEntry, lyrics: Lyrics, page: int, sung: int | None) -> discord.Embed:
    """Page ``page`` (1-based) of ``lyrics``; the line ``sung`` (its index) marked ▶ and bold."""
    lines = lyric_lines(lyrics)
    pages = pages_of(lines)
    first, end = pages[min(page, len(pages)) - 1]
    shown = [(f"▶ **{safe(text, 300)}**" if i == sung else safe(text, 300)) or "\u200b" for i, text in
             enumerate(lines[first:end], first)]
    embed = discord.Embed(title=f"🎤 {safe(entry.track.title or entry.track.display_name, 200)}",
                          description="\n".join(shown) or tr("(no words)"), colour=OK_COLOUR)
    shown_page, count = min(page, len(pages)), len(pages)
    if lyrics.synced:
        footer = tr("Page {page}/{pages} · lyrics from LRCLIB (synced)", page=shown_page, pages=count)
    else:
        footer = tr("Page {page}/{pages} · lyrics from LRCLIB (not synced)", page=shown_page, pages=count)
    return embed.set_footer(text=footer)


def page_of_line(lyrics: Lyrics, index: int | None) -> int:
    if index is None:
        return 1
    return next((n for n, (first, end) in enumerate(pages_of(lyric_lines(lyrics)), 1) if first <= index < end), 1)


class LyricsPager(Pager):
    """◀ ▶ under ``/lyrics``: each click re-renders the page asked for (the sung line as it is then)."""

    def __init__(self, cog: LyricsCog, guild_id: int, entry_id: int, lyrics: Lyrics, page: int) -> None:
        super().__init__(LYRICS_PAGER, page)
        self.cog, self.guild_id, self.entry_id, self.lyrics = cog, guild_id, entry_id, lyrics
        self.update(len(pages_of(lyric_lines(lyrics))))

    async def show(self, interaction: Interaction, page: int) -> None:
        session = self.cog.bot.sessions.get(self.guild_id)
        entry = session.queue.current if session is not None else None
        if session is None or entry is None or entry.entry_id != self.entry_id:
            self.stop()
            await interaction.response.edit_message(content=tr("That track is over: run /lyrics again."),
                                                    embed=None, view=None)
            return
        self.page = page
        self.update(len(pages_of(lyric_lines(self.lyrics))))
        embed = lyrics_embed(entry, self.lyrics, self.page, _sung_index(session))
        await interaction.response.edit_message(embed=embed, view=self)


def _sung_index(session: GuildSession) -> int | None:
    line = session.lyrics.line_now()
    lyrics = session.lyrics.now.lyrics
    if line is None or lyrics is None:
        return None
    return next((i for i, candidate in enumerate(lyrics.synced) if candidate is line), None)


class LyricsCog(MusicCog):
    @app_commands.command(name="lyrics", description="The lyrics of the track playing now")
    @app_commands.describe(page="Page of the lyrics (the one being sung, if left out)")
    @app_commands.guild_only()
    async def lyrics(self, interaction: Interaction, page: app_commands.Range[int, 1, MAX_INDEX] | None = None) -> None:
        guild, _ = guild_and_member(interaction)
        session = self.bot.sessions.get(guild.id)
        if session is None:
            raise NothingPlayingRefusal()
        entry = current_entry(session)
        if not session.lyrics.enabled:
            raise CommandRefusedError(lazy("Lyrics are turned off on this server (an admin can turn them on with "
                                           "/settings lyrics)."))
        now = await soon(interaction, session.lyrics.fetch(entry))
        if now.status is LyricsStatus.UNAVAILABLE:
            raise CommandRefusedError(now.error or lazy("The lyrics service is not answering right now."))
        found = now.lyrics
        if found is None or not (found.plain or found.synced):
            if found is not None and found.instrumental:
                raise CommandRefusedError(lazy("{title} is instrumental: no words to show.",
                                               title=track_title(entry.track)))
            raise CommandRefusedError(lazy("No lyrics found for {title}.", title=track_title(entry.track)))
        sung = _sung_index(session) if session.queue.current is entry else None
        pages = len(pages_of(lyric_lines(found)))
        if page is not None and page > pages:
            raise CommandRefusedError(lazy_plural("There is no page {page}; these lyrics have {n} page.",
                                                  "There is no page {page}; these lyrics have {n} pages.", pages,
                                                  page=page, n=pages))
        shown = page if page is not None else page_of_line(found, sung)
        embed = lyrics_embed(entry, found, shown, sung)
        if pages == 1:
            await reply(interaction, embed=embed)
            return
        view = LyricsPager(self, guild.id, entry.entry_id, found, shown)
        await reply(interaction, embed=embed, view=view)
        view.origin = interaction

