"""Records a play in the history each time a track starts in a guild, and how it ended (what
``/history`` reads).

The client dispatches ``session_changed`` after every track start (and after many other
changes: queue edits, pause…). A new *player token* (every source handed to the player gets
one) with the queue's current entry marks a start. A new token for the same entry is a seek
unless playback is at the very beginning: then it is a replay or a loop of that track.

The session dispatches ``session_play_ended`` once per play (finished, skipped, stopped or
failed); it is recorded against the play started last for that entry in the guild.

Writes are write-behind (``HistoryRecorder``: queued in memory, written by the outbox), so
nothing here awaits the database.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from discord.ext import commands

from musicbot.bot.cogs.base import MusicCog
from musicbot.storage import HistoryRecorder, PlayOutcome, StorageError

if TYPE_CHECKING:
    from musicbot.bot.services import BotServices
    from musicbot.session import GuildSession

log = logging.getLogger(__name__)

# A new source for the same entry that starts before this many seconds in is a replay, not a seek.
REPLAY_WINDOW_S = 1.0


@dataclass(frozen=True)
class _Seen:
    session: weakref.ref[GuildSession]  # tokens count per session: a new session starts over
    token: int
    entry_id: int
    play_id: str | None  # the recorded play this source belongs to (None: not recorded, or ended)

    def same_source(self, session: GuildSession, token: int) -> bool:
        return self.session() is session and self.token == token


class PlayHistory(MusicCog):
    """A cog without commands: the ``on_session_changed`` listener that records plays."""

    def __init__(self, bot: BotServices) -> None:
        super().__init__(bot)
        self._seen: dict[int, _Seen] = {}

    @commands.Cog.listener()
    async def on_session_changed(self, guild_id: int) -> None:
        self.observe(guild_id)

    @commands.Cog.listener()
    async def on_session_play_ended(self, guild_id: int, entry_id: int, outcome: PlayOutcome,
                                    reason: str | None) -> None:
        self.ended(guild_id, entry_id, outcome, reason)

    def ended(self, guild_id: int, entry_id: int, outcome: PlayOutcome, reason: str | None) -> None:
        """Event loop: record how the guild's open play of ``entry_id`` ended (once)."""
        seen = self._seen.get(guild_id)
        if seen is None or seen.play_id is None or seen.entry_id != entry_id:
            return  # not recorded (the database was closed), or already ended
        self._seen[guild_id] = replace(seen, play_id=None)
        try:
            HistoryRecorder(self.bot.db).ended(seen.play_id, outcome, reason=reason)
        except StorageError:
            log.warning("the end of a play not recorded in guild %s: the database is not open", guild_id)

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
        same_entry = last is not None and last.session() is session and last.entry_id == entry.entry_id
        if last is not None and same_entry and session.position_s >= REPLAY_WINDOW_S:
            # The same track reopened further in: a seek, still the same play.
            self._seen[guild_id] = replace(last, token=token)
            return
        play_id: str | None = None
        try:
            play_id = HistoryRecorder(self.bot.db).started(guild_id, entry.requester_id, entry.track,
                                                           autoplay=entry.autoplay)
        except StorageError:
            log.warning("history not recorded in guild %s: the database is not open", guild_id)
        self._seen[guild_id] = _Seen(weakref.ref(session), token, entry.entry_id, play_id)
