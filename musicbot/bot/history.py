"""Records a play in the history each time a track starts in a guild (what ``/history`` reads).

The client dispatches ``session_changed`` after every track start (and after many other
changes: queue edits, pause…). A new *player token* (every source handed to the player gets
one) with the queue's current entry marks a start. A new token for the same entry is a seek
unless playback is at the very beginning: then it is a replay or a loop of that track.

Writes are write-behind (``HistoryRecorder``: queued in memory, written by the outbox), so
nothing here awaits the database. Only starts are recorded: how a play ended (finished,
skipped) is not reported to the Discord layer, so ``outcome`` stays empty.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from discord.ext import commands

from musicbot.bot.cogs.base import MusicCog
from musicbot.storage import HistoryRecorder, StorageError

if TYPE_CHECKING:
    from musicbot.bot.client import MusicBotClient
    from musicbot.session import GuildSession

log = logging.getLogger(__name__)

# A new source for the same entry that starts before this many seconds in is a replay, not a seek.
REPLAY_WINDOW_S = 1.0


@dataclass(frozen=True)
class _Seen:
    session: weakref.ref[GuildSession]  # tokens count per session: a new session starts over
    token: int
    entry_id: int

    def same_source(self, session: GuildSession, token: int) -> bool:
        return self.session() is session and self.token == token


class PlayHistory(MusicCog):
    """A cog without commands: the ``on_session_changed`` listener that records plays."""

    def __init__(self, bot: MusicBotClient) -> None:
        super().__init__(bot)
        self._seen: dict[int, _Seen] = {}

    @commands.Cog.listener()
    async def on_session_changed(self, guild_id: int) -> None:
        self.observe(guild_id)

    def observe(self, guild_id: int) -> None:
        """Event loop: compare what plays now with what was seen last; record a start if it is new."""
        session = self.bot.sessions.get(guild_id)
        if session is None:
            self._seen.pop(guild_id, None)
            return
        token, entry = session.player.current_token, session.queue.current
        if token is None or entry is None:
            return  # nothing plays (yet): the start is seen when its source begins
        last = self._seen.get(guild_id)
        if last is not None and last.same_source(session, token):
            return
        self._seen[guild_id] = _Seen(weakref.ref(session), token, entry.entry_id)
        same_entry = last is not None and last.session() is session and last.entry_id == entry.entry_id
        if same_entry and session.position_s >= REPLAY_WINDOW_S:
            return  # the same track reopened further in: a seek
        try:
            HistoryRecorder(self.bot.db).started(guild_id, entry.requester_id, entry.track, autoplay=entry.autoplay)
        except StorageError:
            log.warning("history not recorded in guild %s: the database is not open", guild_id)
