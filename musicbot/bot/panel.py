"""The now-playing panel: one message per guild, posted when a track starts and edited in place.

Buttons and the filter menu form a persistent view (``PanelView``: ``timeout=None``, fixed custom
ids) registered once at start with ``bot.add_view`` and no message id. discord.py routes a click by
custom id alone, so clicks on a panel posted before a restart, or on a ``/nowplaying`` copy, reach
the same handlers (``cogs/nowplaying.py``). They keep no guild state: they take the guild from the
interaction, apply the slash commands' checks, act on the session and answer by updating the
clicked message (callback type 7) or with an ephemeral refusal.

Edits are debounced per guild (``PanelManager``): a burst of changes becomes at most one edit per
``interval_s``, made by one task per guild, so the panel never competes with itself for Discord's
per-channel limit (discord.py waits out any HTTP 429 itself; changes meanwhile are coalesced).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import discord

from musicbot.bot.actions import FILTERS_OFF
from musicbot.bot.embeds import NowPlaying, ended_embed, now_playing_embed, snapshot
from musicbot.bot.interaction import Interaction
from musicbot.bot.replies import NO_PINGS, refuse
from musicbot.bot.translator import CHOICE
from musicbot.bot.tree import UNEXPECTED
from musicbot.dsp.presets import EQ_PRESETS, FILTER_PRESETS
from musicbot.i18n import pgettext, tr, use_locale
from musicbot.queue import LoopMode

if TYPE_CHECKING:
    from musicbot.bot.services import BotServices

log = logging.getLogger(__name__)

PREV, PAUSE, SKIP, STOP = "np:prev", "np:pause", "np:skip", "np:stop"
LOOP, SHUFFLE, VOLUME_DOWN, VOLUME_UP = "np:loop", "np:shuffle", "np:vol_down", "np:vol_up"
FILTER = "np:filter"
VOLUME_STEP = 10  # percent per click
PANEL_LOOKBACK = 5  # how many of the channel's last messages may hold this bot's panel from before a restart
PanelChannel = discord.TextChannel | discord.VoiceChannel | discord.StageChannel | discord.Thread


class PanelControls(Protocol):
    """What a click does (``cogs/nowplaying.py``): ``action`` is the custom id, ``values`` the menu choice."""

    async def click(self, interaction: Interaction, action: str, values: Sequence[str] = ()) -> None: ...


# ---------------------------------------------------------------------------------------------- the view
class PanelView(discord.ui.View):
    """The panel's controls. ``state`` only picks labels (pause or resume, the loop mode); the copy
    registered at start (``state=None``) is the one that answers every click."""

    def __init__(self, controls: PanelControls, state: NowPlaying | None = None, *,
                 dashboard_url: str | None = None) -> None:
        super().__init__(timeout=None)
        paused = state is not None and state.paused
        loop = state.loop if state is not None else LoopMode.OFF
        gray, blue = discord.ButtonStyle.secondary, discord.ButtonStyle.primary
        # Labels in the current locale (the guild's for the channel's panel, the reader's for a /nowplaying copy).
        buttons: list[tuple[str, str, str, discord.ButtonStyle, int]] = [
            (PREV, "⏮️", tr("Back"), gray, 0),
            (PAUSE, "▶️" if paused else "⏸️", tr("Resume") if paused else tr("Pause"), blue, 0),
            (SKIP, "⏭️", tr("Skip"), gray, 0),
            (STOP, "⏹️", tr("Stop"), discord.ButtonStyle.danger, 0),
            (LOOP, "🔂" if loop is LoopMode.TRACK else "🔁", tr("Loop: {mode}", mode=pgettext(CHOICE, loop.value)),
             gray if loop is LoopMode.OFF else discord.ButtonStyle.success, 1),
            (SHUFFLE, "🔀", tr("Shuffle"), gray, 1),
            (VOLUME_DOWN, "🔉", f"−{VOLUME_STEP}", gray, 1),
            (VOLUME_UP, "🔊", f"+{VOLUME_STEP}", gray, 1),
        ]
        for custom_id, emoji, label, style, row in buttons:
            self.add_item(_Control(controls, custom_id, emoji=emoji, label=label, style=style, row=row))
        self.add_item(_FilterMenu(controls))
        if dashboard_url is not None:  # a link, not a control: nothing to answer, so no custom id
            self.add_item(discord.ui.Button(style=discord.ButtonStyle.link, label=tr("Dashboard"), emoji="🌐",
                                            url=dashboard_url, row=3))

    async def on_error(self, interaction: Interaction, error: Exception,  # type: ignore[override]
                       item: discord.ui.Item[PanelView]) -> None:
        log.error("now-playing control %s failed", getattr(item, "custom_id", "?"), exc_info=error)
        try:
            await refuse(interaction, tr(UNEXPECTED))
        except discord.HTTPException:
            log.warning("could not tell the user about a failed click", exc_info=True)


class _Control(discord.ui.Button[PanelView]):
    def __init__(self, controls: PanelControls, action: str, **options: object) -> None:
        super().__init__(custom_id=action, **options)  # type: ignore[arg-type]
        self.controls = controls
        self.action = action

    async def callback(self, interaction: Interaction) -> None:  # type: ignore[override]
        await self.controls.click(interaction, self.action)


class _FilterMenu(discord.ui.Select[PanelView]):
    def __init__(self, controls: PanelControls) -> None:
        options = [discord.SelectOption(label=tr("Off"), value=FILTERS_OFF, emoji="🚫",
                                        description=tr("Turn every filter off"))]
        options += [discord.SelectOption(label=name, value=name, description=tr("Adds to the filters on"))
                    for name in sorted(FILTER_PRESETS)]
        # Values must be unique (Discord refuses the whole message otherwise); a filter preset wins a name clash.
        options += [discord.SelectOption(label=tr("EQ {name}", name=name), value=name,
                                         description=tr("Replaces the equalizer"))
                    for name in sorted(EQ_PRESETS) if name not in FILTER_PRESETS]
        super().__init__(custom_id=FILTER, placeholder="🎛️ " + tr("Filter preset…"), options=options[:25], row=2)
        self.controls = controls

    async def callback(self, interaction: Interaction) -> None:  # type: ignore[override]
        # Read the choice from this interaction: the registered view is shared by every click at once.
        values: object = interaction.data.get("values") if interaction.data is not None else None
        await self.controls.click(interaction, FILTER, [str(v) for v in values] if isinstance(values, list) else [])


# ---------------------------------------------------------------------------------------------- the message
@dataclass
class _Panel:
    """One guild's panel. ``shown`` is what its message shows (None: not known, edit it)."""

    channel_id: int | None = None
    message_id: int | None = None
    shown: NowPlaying | None = None
    dirty: bool = False
    last_edit: float = float("-inf")  # event-loop time of the last request about this panel
    task: asyncio.Task[None] | None = None


class PanelManager:
    """Event loop. ``changed(guild_id)`` after anything the panel shows may have changed.

    The message id lives in memory only. Clicks don't need it (the view is matched by custom id, the
    guild comes from the interaction); it is what lets later changes edit the message instead of
    posting new ones. After a restart the first post looks for this bot's panel among the channel's
    last ``PANEL_LOOKBACK`` messages and edits that one, so a restart doesn't leave two live panels;
    a panel further up keeps working buttons and is simply no longer edited. A session resumed
    from its snapshot brings its panel's place along (``location``/``adopt``) and edits it directly.
    """

    def __init__(self, bot: BotServices, controls: PanelControls, *, interval_s: float = 2.0) -> None:
        self.bot = bot
        self.controls = controls
        self.interval_s = interval_s  # at most one edit per guild per this many seconds
        self._panels: dict[int, _Panel] = {}

    def message_id(self, guild_id: int) -> int | None:
        panel = self._panels.get(guild_id)
        return panel.message_id if panel is not None else None

    def location(self, guild_id: int) -> tuple[int, int] | None:
        """(channel id, message id) of the guild's live panel, if it has one."""
        panel = self._panels.get(guild_id)
        if panel is None or panel.channel_id is None or panel.message_id is None:
            return None
        return panel.channel_id, panel.message_id

    def adopt(self, guild_id: int, channel_id: int, message_id: int) -> None:
        """The panel an earlier run of the bot posted: later changes edit it in place."""
        panel = self._panels.setdefault(guild_id, _Panel())
        if panel.message_id is None:
            panel.channel_id, panel.message_id, panel.shown = channel_id, message_id, None

    def changed(self, guild_id: int) -> None:
        if self.bot.closing:
            return  # shutting down: leave the panels (and their buttons) for after the restart
        panel = self._panels.setdefault(guild_id, _Panel())
        panel.dirty = True
        if panel.task is None:
            panel.task = asyncio.get_running_loop().create_task(self._flush(guild_id, panel))

    def shown(self, guild_id: int, message_id: int, state: NowPlaying | None) -> None:
        """A click's answer updated message ``message_id`` to ``state`` (None: playback ended)."""
        panel = self._panels.get(guild_id)
        if panel is None or panel.message_id != message_id:
            return  # an older panel or a /nowplaying copy: the live panel follows by itself
        panel.shown = state
        if state is None:
            panel.message_id = panel.channel_id = None  # it said "ended" and dropped its buttons

    def controls_for(self, state: NowPlaying, guild_id: int) -> PanelView:
        """The buttons as ``state`` labels them, for a message; a link to the guild's page of the
        dashboard when it is on (``MUSICBOT_WEB_URL``)."""
        link = f"{self.bot.config.web_url}/?guild={guild_id}" if self.bot.config.dashboard_on else None
        view = PanelView(self.controls, state, dashboard_url=link)
        # Only the view registered at start answers clicks. Stopped, this copy is not stored by
        # discord.py under the message id (it would keep one entry per panel ever sent).
        view.stop()
        return view

    async def close(self) -> None:
        tasks = [p.task for p in self._panels.values() if p.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._panels.clear()

    async def _flush(self, guild_id: int, panel: _Panel) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                wait = panel.last_edit + self.interval_s - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not panel.dirty or self.bot.closing:
                    break
                panel.dirty = False
                try:
                    sent = await self._refresh(guild_id, panel)
                except Exception:
                    log.exception("now-playing panel update failed in guild %s", guild_id)
                    sent = True  # don't retry at once
                if sent:
                    panel.last_edit = loop.time()
        finally:
            panel.task = None
            if panel.message_id is None and not panel.dirty and self._panels.get(guild_id) is panel:
                del self._panels[guild_id]

    async def _refresh(self, guild_id: int, panel: _Panel) -> bool:
        """Bring the guild's panel up to date, in the guild's language; True when a request was made."""
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return False
        with use_locale(guild.preferred_locale):
            return await self._refresh_in(guild, panel)

    def _playing(self, guild_id: int) -> NowPlaying | None:
        """What the guild plays now (None: nothing)."""
        session = self.bot.sessions.get(guild_id)
        return snapshot(session) if session is not None else None

    async def _refresh_in(self, guild: discord.Guild, panel: _Panel) -> bool:
        state = self._playing(guild.id)
        where = (panel.channel_id, panel.message_id)
        if state is None:
            if panel.message_id is None:
                return False
            await self._edit(guild, where, ended_embed(), None)
            panel.message_id = panel.channel_id = None
            panel.shown = None
            return True
        if panel.message_id is not None:
            if panel.shown is not None and state.looks_like(panel.shown):
                return False
            if await self._edit(guild, where, now_playing_embed(state), self.controls_for(state, guild.id)):
                if panel.message_id is None:
                    # A click ended playback while this edit was on its way, and answered on the same
                    # message: if its answer came first, this edit put the stopped track's buttons back.
                    await self._edit(guild, where, ended_embed(), None)
                else:
                    panel.shown = state
                return True
            panel.message_id = panel.channel_id = None  # deleted by someone, or ended by a click meanwhile
        return await self._post(guild, panel)

    async def _edit(self, guild: discord.Guild, where: tuple[int | None, int | None], embed: discord.Embed,
                    view: PanelView | None) -> bool:
        """Edit message ``where`` (channel id, message id); False when it no longer exists."""
        channel_id, message_id = where
        channel = guild.get_channel_or_thread(channel_id) if channel_id else None
        if not isinstance(channel, PanelChannel) or message_id is None:
            return False
        try:
            await channel.get_partial_message(message_id).edit(embed=embed, view=view, allowed_mentions=NO_PINGS)
        except discord.NotFound:
            return False
        except discord.HTTPException:
            log.warning("could not edit the now-playing panel in guild %s", guild.id, exc_info=True)
        return True

    async def _post(self, guild: discord.Guild, panel: _Panel) -> bool:
        """In the announce channel if set, else where music was asked for; True when a request was made."""
        settings = await self.bot.guild_settings(guild.id)
        channel_id = settings.announce_channel_id or self.bot.sessions.text_channel_id(guild.id)
        channel = guild.get_channel_or_thread(channel_id) if channel_id else None
        if not isinstance(channel, PanelChannel):
            return False
        old = await self._find_old_panel(channel)
        # What plays now, after those awaits: a Stop clicked meanwhile has ended the panel, and a
        # state read before it would bring the stopped track's buttons back.
        state = self._playing(guild.id)
        if state is None:
            return False
        embed, view = now_playing_embed(state), self.controls_for(state, guild.id)
        try:
            if old is not None:
                await channel.get_partial_message(old).edit(embed=embed, view=view, allowed_mentions=NO_PINGS)
                message_id = old
            else:
                message_id = (await channel.send(embed=embed, view=view, allowed_mentions=NO_PINGS)).id
        except discord.HTTPException:
            log.warning("could not post the now-playing panel in guild %s", guild.id, exc_info=True)
            return True
        panel.channel_id, panel.message_id, panel.shown = channel.id, message_id, state
        return True

    async def _find_old_panel(self, channel: PanelChannel) -> int | None:
        """This bot's live panel among the channel's last messages (left there by an earlier run)."""
        me = self.bot.user
        if me is None:
            return None
        try:
            seen = 0
            async for message in channel.history(limit=PANEL_LOOKBACK):
                seen += 1
                if message.author.id == me.id and not message.flags.ephemeral and _has_panel_controls(message):
                    return message.id
                if seen >= PANEL_LOOKBACK:
                    break
        except discord.HTTPException:
            log.debug("cannot read the history of channel %s", channel.id, exc_info=True)
        return None


def _has_panel_controls(message: discord.Message) -> bool:
    for row in message.components:
        for child in getattr(row, "children", ()):
            if getattr(child, "custom_id", None) == PAUSE:
                return True
    return False
