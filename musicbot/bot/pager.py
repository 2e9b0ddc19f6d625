"""``Pager``: the ◀ ▶ buttons under a paged answer (``/queue``, ``/lyrics``). Each click redraws the
page it asks for from the state as it is then (``show``, the subclass's); the buttons go from the
message when the view times out, since buttons that no longer answer would read as broken.
"""

from __future__ import annotations

import contextlib

import discord

from musicbot.bot.components import custom_id
from musicbot.bot.interaction import Interaction
from musicbot.i18n import set_locale

PAGER_TIMEOUT_S = 300.0


class Pager(discord.ui.View):
    """``prefix``: the controls' id prefix (``bot/components.py``), so that a click after a restart is
    answered "expired", not dropped."""

    def __init__(self, prefix: str, page: int) -> None:
        super().__init__(timeout=PAGER_TIMEOUT_S)
        self.page = page
        self.origin: Interaction | None = None  # the command that posted it, to drop the buttons on timeout
        gray = discord.ButtonStyle.secondary
        self.back: discord.ui.Button[Pager] = discord.ui.Button(emoji="◀️", style=gray,
                                                                custom_id=custom_id(prefix, "back"))
        self.forward: discord.ui.Button[Pager] = discord.ui.Button(emoji="▶️", style=gray,
                                                                   custom_id=custom_id(prefix, "forward"))
        self.back.callback = self._back  # type: ignore[method-assign, assignment]
        self.forward.callback = self._forward  # type: ignore[method-assign, assignment]
        self.add_item(self.back)
        self.add_item(self.forward)

    def update(self, pages: int) -> None:
        """Keep the page within ``pages`` and the buttons enabled only where there is one to go to."""
        self.page = min(max(1, self.page), pages)
        self.back.disabled = self.page <= 1
        self.forward.disabled = self.page >= pages

    async def show(self, interaction: Interaction, page: int) -> None:
        """Redraw the message at ``page`` (or say why there is nothing to page through any more)."""
        raise NotImplementedError

    async def on_timeout(self) -> None:
        if self.origin is not None:
            with contextlib.suppress(discord.HTTPException):
                await self.origin.edit_original_response(view=None)

    async def interaction_check(self, interaction: Interaction) -> bool:  # type: ignore[override]
        set_locale(interaction.locale)  # the page redrawn for whoever clicks, in their language
        return True

    async def _back(self, interaction: Interaction) -> None:
        await self.show(interaction, self.page - 1)

    async def _forward(self, interaction: Interaction) -> None:
        await self.show(interaction, self.page + 1)
