"""Records a play in the history each time a track starts in a guild, and how it ended (what
``/history`` reads).

The session says both (``GuildSession.on_play_start`` / ``on_play_end``, dispatched by
``SessionManager`` as ``session_play_started`` and ``session_play_ended``), once per play: a seek
or a rejoin continues a play, a replay or a loop of the same track starts a new one. The end is
recorded against the open play of the same queue entry.

Writes are write-behind (``HistoryRecorder``: queued in memory, written by the outbox), so
nothing here awaits the database.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from discord.ext import commands

from musicbot.bot.cogs.base import MusicCog
from musicbot.queue import QueueEntry
from musicbot.storage import HistoryRecorder, PlayOutcome, StorageError

if TYPE_CHECKING:
    from musicbot.bot.services import BotServices

log = logging.getLogger(__name__)


class PlayHistory(MusicCog):
    """A cog without commands: the listeners that record plays."""

    def __init__(self, bot: BotServices) -> None:
        super().__init__(bot)
        # guild id → entry id → its recorded play still open (during a crossfade, two are)
        self._open: dict[int, dict[int, str]] = {}

    @commands.Cog.listener()
    async def on_session_play_started(self, guild_id: int, entry: QueueEntry) -> None:
        self.started(guild_id, entry)

    @commands.Cog.listener()
    async def on_session_play_ended(self, guild_id: int, entry_id: int, outcome: PlayOutcome,
                                    reason: str | None) -> None:
        self.ended(guild_id, entry_id, outcome, reason)

    def started(self, guild_id: int, entry: QueueEntry) -> None:
        """Event loop: record a play of ``entry`` starting now."""
        try:
            play_id = HistoryRecorder(self.bot.db).started(guild_id, entry.requester_id, entry.track,
                                                           autoplay=entry.autoplay,
                                                           requester_name=entry.requester_name)
        except StorageError:
            log.warning("history not recorded in guild %s: the database is not open", guild_id)
            return
        self._open.setdefault(guild_id, {})[entry.entry_id] = play_id

    def ended(self, guild_id: int, entry_id: int, outcome: PlayOutcome, reason: str | None) -> None:
        """Event loop: record how the guild's open play of ``entry_id`` ended (once)."""
        play_id = self._open.get(guild_id, {}).pop(entry_id, None)
        if play_id is None:
            return  # not recorded (the database was closed), or already ended
        try:
            HistoryRecorder(self.bot.db).ended(play_id, outcome, reason=reason)
        except StorageError:
            log.warning("the end of a play not recorded in guild %s: the database is not open", guild_id)
