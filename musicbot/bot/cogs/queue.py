"""``/queue``, ``/remove``, ``/move``, ``/swap``, ``/shuffle``, ``/clear``, ``/loop``, ``/autoplay``
(SPEC §1 queue group).

Positions are 1-based as ``/queue`` shows them; the queue itself refuses bad ones with a message
(``InvalidIndexError``). Edits need the DJ rule; ``/remove`` also lets the requester of that entry.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING, Literal, TypeVar

import discord
from discord import app_commands

from musicbot.bot import actions
from musicbot.bot.actions import MAX_INDEX, now_playing_line, soon
from musicbot.bot.checks import controlling_session, guild_and_member
from musicbot.bot.cogs.base import Interaction, MusicCog
from musicbot.bot.components import QUEUE_PAGER
from musicbot.bot.errors import CommandRefusedError
from musicbot.bot.format import clock, format_duration, safe, track_line, track_title
from musicbot.bot.pager import Pager
from musicbot.bot.replies import OK_COLOUR, reply
from musicbot.bot.translator import CHOICE
from musicbot.i18n import N_, Listing, lazy, lazy_plural, ngettext, pgettext, tr
from musicbot.queue import AutoplayEngine, AutoplayMode, LoopMode

if TYPE_CHECKING:
    from musicbot.bot.services import BotServices
    from musicbot.session import GuildSession

E = TypeVar("E", LoopMode, AutoplayMode)

PAGE_SIZE = 10

LOOP_REPLIES = {
    LoopMode.OFF: ("➡️", N_("Loop off.")),
    LoopMode.TRACK: ("🔂", N_("Looping the current track.")),
    LoopMode.QUEUE: ("🔁", N_("Looping the whole queue.")),
}


class EmptyQueueRefusal(CommandRefusedError):
    def __init__(self) -> None:
        super().__init__(lazy("The queue is empty. Add music with /play."))


def page_count(session: GuildSession) -> int:
    return max(1, math.ceil(len(session.queue.upcoming) / PAGE_SIZE))


def queue_embed(session: GuildSession, page: int) -> discord.Embed:
    """Page ``page`` (1-based, within ``page_count``) of the queue: now playing, then the next ten."""
    queue = session.queue
    upcoming = queue.upcoming
    lines: list[str] = []
    if queue.current is not None:
        state = "⏸️ " + tr("Paused") if session.paused else "▶️ " + tr("Now playing")
        lines += [f"**{state}**", f"{track_line(queue.current)} · `{clock(session.played_s, session.length_s)}`", ""]
    start = (page - 1) * PAGE_SIZE
    if upcoming:
        lines.append("**" + tr("Up next") + "**")
        lines += [f"`{i}.` {track_line(e)}" for i, e in enumerate(upcoming[start:start + PAGE_SIZE], start + 1)]
    else:
        lines.append(tr("Nothing queued after this track."))
    total = format_duration(sum(e.track.duration_s or 0.0 for e in upcoming))
    if any(e.track.duration_s is None for e in upcoming):
        length = tr("{total} + live total", total=total)
    else:
        length = tr("{total} total", total=total)
    footer = " · ".join([
        tr("Page {page}/{pages}", page=page, pages=page_count(session)),
        ngettext("{n} track", "{n} tracks", len(upcoming), n=len(upcoming)),
        length,
        tr("Loop: {mode}", mode=pgettext(CHOICE, queue.loop.value)),
        tr("Autoplay: on") if session.autoplay is not None else tr("Autoplay: off"),
    ])
    embed = discord.Embed(title=tr("Queue"), description="\n".join(lines), colour=OK_COLOUR)
    return embed.set_footer(text=footer)


class QueuePager(Pager):
    """◀ ▶ under ``/queue``: each click re-renders the page it asks for from the queue as it is now."""

    def __init__(self, cog: QueueCog, guild_id: int, page: int) -> None:
        super().__init__(QUEUE_PAGER, page)
        self.cog = cog
        self.guild_id = guild_id

    async def show(self, interaction: Interaction, page: int) -> None:
        session = self.cog.bot.sessions.get(self.guild_id)
        if session is None or (session.queue.current is None and not session.queue.upcoming):
            self.stop()
            await interaction.response.edit_message(content=tr("The queue is empty now."), embed=None, view=None)
            return
        self.page = page
        self.update(page_count(session))  # the queue may have shrunk since the last page was drawn
        await interaction.response.edit_message(embed=queue_embed(session, self.page), view=self)


class QueueCog(MusicCog):
    def __init__(self, bot: BotServices) -> None:
        super().__init__(bot)
        self.rng = random.Random()  # replaced by a seeded one in tests

    @app_commands.command(name="queue", description="Show what is playing and what comes next")
    @app_commands.describe(page="Page of the queue (10 tracks each)")
    @app_commands.guild_only()
    async def queue(self, interaction: Interaction, page: app_commands.Range[int, 1, MAX_INDEX] = 1) -> None:
        guild, _ = guild_and_member(interaction)
        session = self.bot.sessions.get(guild.id)
        if session is None or (session.queue.current is None and not session.queue.upcoming):
            raise EmptyQueueRefusal()
        pages = page_count(session)
        if not 1 <= page <= pages:
            raise CommandRefusedError(lazy_plural("There is no page {page}; the queue has {n} page.",
                                                  "There is no page {page}; the queue has {n} pages.", pages,
                                                  page=page, n=pages))
        if pages == 1:
            await reply(interaction, embed=queue_embed(session, page))
            return
        view = QueuePager(self, guild.id, page)
        view.update(pages)
        await reply(interaction, embed=queue_embed(session, page), view=view)
        view.origin = interaction

    @app_commands.command(name="remove", description="Remove a track from the queue")
    @app_commands.describe(index="Its position in /queue")
    @app_commands.guild_only()
    async def remove(self, interaction: Interaction, index: app_commands.Range[int, 1, MAX_INDEX]) -> None:
        session, _ = await controlling_session(interaction, dj=False)
        entry = session.queue.entry_at(index)
        # The requester of this entry may remove it without DJ rights.
        await controlling_session(interaction, requester_id=entry.requester_id)
        if session.remove(entry.entry_id) is None:  # the queue may have moved meanwhile
            raise CommandRefusedError(lazy("That track is no longer in the queue."))
        await reply(interaction, "🗑️ " + tr("Removed {title}.", title=track_title(entry.track)))

    @app_commands.command(name="move", description="Move a track to another position in the queue")
    @app_commands.describe(from_="Its position in /queue now", to="The position it should have")
    @app_commands.rename(from_="from")
    @app_commands.guild_only()
    async def move(self, interaction: Interaction, from_: app_commands.Range[int, 1, MAX_INDEX],
                   to: app_commands.Range[int, 1, MAX_INDEX]) -> None:
        session, _ = await controlling_session(interaction)
        entry = session.move(from_, to)
        await reply(interaction, "↕️ " + tr("Moved {title} to position {position}.", title=track_title(entry.track),
                                            position=to))

    @app_commands.command(name="swap", description="Swap two tracks in the queue")
    @app_commands.describe(a="A position in /queue", b="Another position")
    @app_commands.guild_only()
    async def swap(self, interaction: Interaction, a: app_commands.Range[int, 1, MAX_INDEX],
                   b: app_commands.Range[int, 1, MAX_INDEX]) -> None:
        session, _ = await controlling_session(interaction)
        first, second = session.swap(a, b)
        await reply(interaction, "🔀 " + tr("Swapped {first} and {second}.", first=safe(first.track.display_name, 60),
                                            second=safe(second.track.display_name, 60)))

    @app_commands.command(name="shuffle", description="Shuffle the queue")
    @app_commands.guild_only()
    async def shuffle(self, interaction: Interaction) -> None:
        session, _ = await controlling_session(interaction)
        count = actions.shuffle(session, self.rng)
        await reply(interaction, "🔀 " + ngettext("Shuffled {n} track.", "Shuffled {n} tracks.", count, n=count))

    @app_commands.command(name="clear", description="Remove every upcoming track (the current one keeps playing)")
    @app_commands.guild_only()
    async def clear(self, interaction: Interaction) -> None:
        session, _ = await controlling_session(interaction)
        removed = actions.clear(session)
        count = len(removed)
        await reply(interaction, "🧹 " + ngettext("Cleared {n} track from the queue.",
                                                  "Cleared {n} tracks from the queue.", count, n=count))

    @app_commands.command(name="loop", description="Repeat nothing, the current track, or the whole queue")
    @app_commands.describe(mode="off, track or queue")
    @app_commands.guild_only()
    async def loop(self, interaction: Interaction, mode: Literal["off", "track", "queue"]) -> None:
        loop_mode = _choice(LoopMode, mode)
        session, _ = await controlling_session(interaction)
        actions.set_loop(session, loop_mode)
        icon, text = LOOP_REPLIES[loop_mode]
        await reply(interaction, f"{icon} {tr(text)}")

    @app_commands.command(name="autoplay", description="Keep playing related tracks when the queue runs out")
    @app_commands.describe(state="on or off", mode="How to pick: similar tracks, the same artist, genre, or mixed")
    @app_commands.guild_only()
    async def autoplay(self, interaction: Interaction, state: Literal["on", "off"],
                       mode: Literal["similar", "artist", "genre", "mixed"] | None = None) -> None:
        if state not in ("on", "off"):
            raise CommandRefusedError(lazy("Choose on or off."))
        picked = _choice(AutoplayMode, mode) if mode is not None else None
        session, _ = await controlling_session(interaction)
        if state == "off":
            session.set_autoplay(None)
            await reply(interaction, tr("Autoplay off: the music stops when the queue runs out."))
            return
        if picked is None:
            picked = (await self.bot.guild_settings(session.guild.id)).autoplay_mode
        session.set_autoplay(AutoplayEngine(self.bot.sessions.recommender, picked))
        text = "♾️ " + tr("Autoplay on ({mode}): when the queue runs out, I'll pick what comes next.",
                          mode=pgettext(CHOICE, picked.value))
        if session.queue.current is None:
            await soon(interaction, session.continue_with_autoplay())  # already ran out: start now
            if session.queue.current is not None:
                text += f"\n{now_playing_line(session)}"
        await reply(interaction, text)


def _choice(kind: type[E], value: str) -> E:
    """An enum member from a choice; clients can send values outside the choices Discord shows."""
    try:
        return kind(value)
    except ValueError:
        names = Listing(m.value for m in kind)  # the values themselves: what a client would have to send
        raise CommandRefusedError(lazy("“{value}” is not a choice here; use one of: {names}.",
                                       value=safe(str(value), 30), names=names)) from None
