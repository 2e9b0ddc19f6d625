"""``COGS``: every cog the client installs, in order."""

from __future__ import annotations

from discord.ext import commands

from musicbot.bot.cogs.control import ControlCog
from musicbot.bot.cogs.info import InfoCog
from musicbot.bot.cogs.library import LibraryCog
from musicbot.bot.cogs.lyrics import LyricsCog
from musicbot.bot.cogs.nowplaying import NowPlayingCog
from musicbot.bot.cogs.play import PlayCog
from musicbot.bot.cogs.queue import QueueCog
from musicbot.bot.cogs.settings import SettingsCog
from musicbot.bot.cogs.sound import SoundCog
from musicbot.bot.cogs.telegram import TelegramCog
from musicbot.bot.history import PlayHistory

COGS: list[type[commands.Cog]] = [
    PlayCog, ControlCog, QueueCog, SoundCog, LibraryCog, SettingsCog, InfoCog, PlayHistory, NowPlayingCog,
    TelegramCog, LyricsCog,
]
