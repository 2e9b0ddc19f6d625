"""``LyricsFollower``: the current track's lyrics and the line being sung now (event loop).

When a track becomes current its lyrics are looked up (LRCLIB, cached, beside playback). With
synced lyrics, ``line_now`` is the line at the position the listener hears: the player's position
in the track is on the track's own timeline whatever the filters (nightcore reads the source 1.25×
as fast, and the position moves 1.25× as fast with it), so the LRC times apply as they are. A timer
fires at the next line's start: its wall-clock distance is the track time left to it over the
tempo (``timescale``'s speed × rate), checked again at least every ``RECHECK_S`` (an underrun, a
seek or a tempo change moves it), and ``on_line`` is told only when the line really changed: the
now-playing panel and the dashboard follow without polling.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from musicbot.i18n import message_of
from musicbot.lookups import LrclibClient, LyricLine, Lyrics, ServiceDownError, line_index_at
from musicbot.queue import QueueEntry

if TYPE_CHECKING:
    from musicbot.session import GuildSession

log = logging.getLogger(__name__)

RECHECK_S = 1.0
EARLIEST_S = 0.02  # never a timer shorter than a packet


class LyricsStatus(enum.Enum):
    OFF = "off"  # turned off on this server, or no lyrics service
    LOOKING = "looking"
    FOUND = "found"
    NONE = "none"  # LRCLIB has none for this track
    UNAVAILABLE = "unavailable"  # LRCLIB did not answer


@dataclass(frozen=True)
class LyricsNow:
    """The current track's lyrics as far as known (``error``: the users' sentence when unavailable)."""

    status: LyricsStatus
    lyrics: Lyrics | None = None
    error: str | None = None  # a ``Text`` when translatable: shown in the reader's language


class LyricsFollower:
    def __init__(self, session: GuildSession, client: LrclibClient | None,
                 on_line: Callable[[], None] = lambda: None) -> None:
        self.session = session
        self.client = client
        self.on_line = on_line
        self.enabled = True
        self._entry_id: int | None = None
        self._now = LyricsNow(LyricsStatus.OFF)
        self._told: int | None = None  # the line index last told
        self._timer: asyncio.TimerHandle | None = None
        self._lookup: asyncio.Task[None] | None = None

    @property
    def now(self) -> LyricsNow:
        return self._now

    def line_now(self) -> LyricLine | None:
        """The synced line sung at the current position (None: none yet, or no synced lyrics)."""
        index = self._index()
        lyrics = self._now.lyrics
        return None if index is None or lyrics is None else lyrics.synced[index]

    async def fetch(self, entry: QueueEntry) -> LyricsNow:
        """``entry``'s lyrics for ``/lyrics``: the lookup in flight or done for it, else a new one."""
        if entry.entry_id == self._entry_id and self._lookup is not None:
            await asyncio.shield(self._lookup)
            return self._now
        return await self._find(entry)

    # ---------------------------------------------------------------- following the session
    def changed(self) -> None:
        """Anything changed (the session's ``_notify``): a new current track is looked up, and the
        timer is set again (paused, seeked, another tempo)."""
        entry = self.session.queue.current
        entry_id = entry.entry_id if entry is not None else None
        if entry_id != self._entry_id:
            self._entry_id, self._told = entry_id, None
            if self._lookup is not None:
                self._lookup.cancel()
            self._lookup = None
            self._now = LyricsNow(LyricsStatus.OFF)
            if entry is not None and self.enabled and self.client is not None:
                self._now = LyricsNow(LyricsStatus.LOOKING)
                self._lookup = asyncio.get_running_loop().create_task(self._follow(entry))
        self._schedule()

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        self._entry_id = -1  # look again (or stop) under the new setting
        self.changed()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._lookup is not None:
            self._lookup.cancel()

    async def _follow(self, entry: QueueEntry) -> None:
        now = await self._find(entry)
        if entry.entry_id == self._entry_id:
            self._now = now
            self._told = None
            self._schedule()
            if now.lyrics is not None and now.lyrics.synced:
                self._tick()

    async def _find(self, entry: QueueEntry) -> LyricsNow:
        if not self.enabled or self.client is None:
            return LyricsNow(LyricsStatus.OFF)
        try:
            found = await self.client.find(entry.track)
        except ServiceDownError as error:
            log.info("lyrics lookup failed: %s", error.detail)
            return LyricsNow(LyricsStatus.UNAVAILABLE, error=message_of(error))
        return LyricsNow(LyricsStatus.FOUND, found) if found is not None else LyricsNow(LyricsStatus.NONE)

    def _index(self) -> int | None:
        lyrics = self._now.lyrics
        if lyrics is None or not lyrics.synced or self.session.queue.current is None:
            return None
        return line_index_at(lyrics.synced, self.session.position_s)

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        lyrics = self._now.lyrics
        if lyrics is None or not lyrics.synced or self.session.paused or self.session.queue.current is None:
            return
        position = self.session.position_s
        index = self._index()
        upcoming = lyrics.synced[index + 1] if index is not None and index + 1 < len(lyrics.synced) else (
            lyrics.synced[0] if index is None else None)
        tempo = self.session.tempo
        wait = RECHECK_S if upcoming is None or tempo <= 0 else (upcoming.time_s - position) / tempo
        self._timer = asyncio.get_running_loop().call_later(min(RECHECK_S, max(EARLIEST_S, wait)), self._tick)

    def _tick(self) -> None:
        self._timer = None
        index = self._index()
        if index != self._told:
            self._told = index
            try:
                self.on_line()
            except Exception:  # a broken listener must never stop the lyrics (or playback)
                log.exception("lyric line listener failed")
        self._schedule()
