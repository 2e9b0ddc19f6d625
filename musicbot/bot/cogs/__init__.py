"""The slash commands, one cog per SPEC §1 group. ``COGS`` is what the client installs, in order."""

from __future__ import annotations

from discord.ext import commands

from musicbot.bot.cogs.play import PlayCog

COGS: list[type[commands.Cog]] = [PlayCog]
