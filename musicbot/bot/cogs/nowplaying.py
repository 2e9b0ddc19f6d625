"""``/nowplaying`` and the now-playing panel's controls (SPEC §1).

The cog owns the guild panels (``musicbot/bot/panel.py``): it registers the persistent view once,
feeds ``session_changed`` events to the debounced panel manager, and decides what each click does,
with the same checks and refusals as the slash commands the buttons stand for.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING

from discord import app_commands
from discord.ext import commands

from musicbot.bot import actions
from musicbot.bot.actions import DEFER_AFTER_S, NothingPlayingRefusal
from musicbot.bot.checks import controlling_session, guild_and_member
from musicbot.bot.cogs.base import Interaction, MusicCog
from musicbot.bot.embeds import ended_embed, now_playing_embed, snapshot
from musicbot.bot.errors import CommandRefusedError, NotDJError, RateLimitedError, RestartingError
from musicbot.bot.panel import (
    FILTER,
    LOOP,
    PAUSE,
    PREV,
    SHUFFLE,
    SKIP,
    STOP,
    VOLUME_DOWN,
    VOLUME_STEP,
    VOLUME_UP,
    PanelManager,
    PanelView,
)
from musicbot.bot.replies import NO_PINGS, refuse, reply
from musicbot.bot.tree import MusicTree
from musicbot.errors import MusicBotError
from musicbot.i18n import lazy, localized, set_locale, use_locale

if TYPE_CHECKING:
    from musicbot.bot.services import BotServices
    from musicbot.session import GuildSession

# Clicks share the user's command budget (tree.py); these also count against the command they stand for.
CLICK_COMMANDS = {SHUFFLE: "shuffle"}


class NowPlayingCog(MusicCog):
    def __init__(self, bot: BotServices) -> None:
        super().__init__(bot)
        self.panels = PanelManager(bot, self)
        self.rng = random.Random()

    async def cog_load(self) -> None:
        # Once per process and without a message id: discord.py then routes every click on any
        # panel, including those posted before a restart, to this view by custom id.
        self.bot.add_view(PanelView(self))

    async def cog_unload(self) -> None:
        await self.panels.close()

    @commands.Cog.listener()
    async def on_session_changed(self, guild_id: int) -> None:
        self.panels.changed(guild_id)

    @commands.Cog.listener()
    async def on_lyric_line_changed(self, guild_id: int) -> None:
        """The synced line sung now changed: the panel shows it (at most one edit per interval)."""
        self.panels.changed(guild_id)

    @app_commands.command(name="nowplaying", description="Show what is playing, with the controls")
    @app_commands.guild_only()
    async def nowplaying(self, interaction: Interaction) -> None:
        # Ephemeral: the public panel in the channel is already kept up to date; a public copy per
        # request would bury it under stale duplicates. This copy has the same working controls.
        guild, _ = guild_and_member(interaction)
        session = self.bot.sessions.get(guild.id)
        state = snapshot(session) if session is not None else None
        if state is None:
            raise NothingPlayingRefusal()
        await reply(interaction, embed=now_playing_embed(state), view=self.panels.controls_for(state, guild.id),
                    ephemeral=True)

    # ---------------------------------------------------------------- clicks (panel.PanelControls)
    async def click(self, interaction: Interaction, action: str, values: Sequence[str] = ()) -> None:
        """Act, then answer by updating the clicked message to the session as it is now (type 7), or
        refuse ephemerally (in the clicker's language)."""
        set_locale(interaction.locale)
        try:
            if self.bot.closing:
                raise RestartingError()
            tree = self.bot.tree
            wait = tree.rate_limiter.retry_after(interaction.user.id, CLICK_COMMANDS.get(action)) \
                if isinstance(tree, MusicTree) else 0.0
            if wait:
                raise RateLimitedError(wait, "clicks")
            session = await self._authorize(interaction, action)
            await self._soon(interaction, self._apply(session, action, values))
            await self._show(interaction, session)
        except MusicBotError as error:
            await refuse(interaction, localized(error))

    async def _authorize(self, interaction: Interaction, action: str) -> GuildSession:
        """The slash commands' checks: in the bot's voice channel, and the DJ rule (the requester
        of the current track may skip it)."""
        guild, _ = guild_and_member(interaction)
        requester = None
        if action == SKIP:
            session = self.bot.sessions.get(guild.id)
            current = session.queue.current if session is not None else None
            requester = current.requester_id if current is not None else None
        try:
            session, _ = await controlling_session(interaction, requester_id=requester, skip=action == SKIP)
        except NotDJError as error:
            if action != SKIP:
                raise
            raise CommandRefusedError(lazy("{refusal} Or vote with /skip.", refusal=error)) from None
        return session

    async def _apply(self, session: GuildSession, action: str, values: Sequence[str]) -> None:
        """The rule of the command each button stands for (``bot/actions.py``)."""
        if action == PREV:
            await actions.previous(session)
        elif action == PAUSE:
            actions.toggle_pause(session)
        elif action == SKIP:
            await actions.skip(session)
        elif action == STOP:
            actions.stop(session)
        elif action == LOOP:
            actions.cycle_loop(session)
        elif action == SHUFFLE:
            actions.shuffle(session, self.rng)
        elif action in (VOLUME_DOWN, VOLUME_UP):
            actions.step_volume(session, VOLUME_STEP if action == VOLUME_UP else -VOLUME_STEP)
        elif action == FILTER:
            settings = await self.bot.guild_settings(session.guild.id)
            actions.apply_filter_preset(session, settings, values[0] if values else "")

    @staticmethod
    async def _soon(interaction: Interaction, work: Awaitable[None]) -> None:
        """Await ``work``; if it still runs after ``DEFER_AFTER_S`` (opening a track), acknowledge the
        click first (type 6): the clicked message is then edited when the work is done."""
        task = asyncio.ensure_future(work)
        done, _ = await asyncio.wait({task}, timeout=DEFER_AFTER_S)
        if not done and not interaction.response.is_done():
            await interaction.response.defer()
        await task

    async def _show(self, interaction: Interaction, session: GuildSession) -> None:
        # The channel's panel speaks the server's language; a /nowplaying copy, its reader's.
        private = interaction.message is not None and interaction.message.flags.ephemeral
        with use_locale(interaction.locale if private else session.guild.preferred_locale):
            state = snapshot(session)
            embed = now_playing_embed(state) if state is not None else ended_embed()
            # ended: no buttons
            view = self.panels.controls_for(state, session.guild.id) if state is not None else None
        if not interaction.response.is_done():
            await interaction.response.edit_message(embed=embed, view=view, allowed_mentions=NO_PINGS)
        else:
            await interaction.edit_original_response(embed=embed, view=view, allowed_mentions=NO_PINGS)
        if interaction.message is not None:
            self.panels.shown(session.guild.id, interaction.message.id, state)
