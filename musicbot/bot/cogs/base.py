"""What every cog shares: the bot it belongs to."""

from __future__ import annotations

from typing import TYPE_CHECKING

from discord.ext import commands

from musicbot.bot.interaction import Interaction

if TYPE_CHECKING:
    from musicbot.bot.client import MusicBotClient

__all__ = ["Interaction", "MusicCog"]


class MusicCog(commands.Cog):
    def __init__(self, bot: MusicBotClient) -> None:
        self.bot = bot
