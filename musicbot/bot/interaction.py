"""The interaction type every command and view receives: its ``client`` is our ``MusicBotClient``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

if TYPE_CHECKING:
    from musicbot.bot.client import MusicBotClient  # noqa: F401  (named in the string below)

# A runtime alias (not only for type checkers): discord.py inspects command signatures when it builds them.
Interaction = discord.Interaction["MusicBotClient"]
