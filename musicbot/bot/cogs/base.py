"""What every cog shares: the bot's services it belongs to (``bot/services.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from discord.ext import commands

from musicbot.bot.interaction import Interaction

if TYPE_CHECKING:
    from musicbot.bot.services import BotServices

__all__ = ["Interaction", "MusicCog"]


class MusicCog(commands.Cog):
    def __init__(self, bot: BotServices) -> None:
        self.bot = bot
