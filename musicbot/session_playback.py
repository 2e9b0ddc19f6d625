"""``Playback``: a ``GuildSession`` following its player (event loop, except ``post_event``).

Every source handed to the player gets a fresh token. ``current`` is the token the session
believes is playing; a TRACK_START for a later token means the player moved on to the track
opened ahead by itself (gapless or crossfade), so the queue advances then. The track that plays
next (``MusicQueue.peek_next``, or autoplay's pick when the queue runs out) is opened as soon as
the current one starts.

``generation`` counts the moments at which an open in flight became stale (stop, a queue edit,
a rejoin): what such an open returns is closed, not played.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from musicbot.i18n import lazy
from musicbot.queue import QueueEntry, autoplay_into
from musicbot.session_sources import TrackOpener
from musicbot.session_state import PlayState
from musicbot.session_voice import JoinAbortedError
from musicbot.storage.history import PlayOutcome
from musicbot.voice.player import EndReason, EventKind, PlayerEvent, TrackStream

if TYPE_CHECKING:
    from musicbot.session import GuildSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Source:
    entry: QueueEntry
    continues: bool  # the same play goes on (a seek, a rejoin): no new play starts


class Playback:
    def __init__(self, session: GuildSession, opener: TrackOpener) -> None:
        self.session = session
        self.opener = opener
        self.generation = 0
        self.current: int | None = None
        self._tokens = itertools.count(1)
        self._sources: dict[int, _Source] = {}
        self._preopened: tuple[int, QueueEntry] | None = None
        self._preopen_task: asyncio.Task[None] | None = None
        self._last_end_error = False
        self._restarted: int | None = None  # the track player_stopped last restarted discord.py's player for
        self._loop = asyncio.get_running_loop()
        self._tasks: set[asyncio.Task[None]] = set()

    # ---------------------------------------------------------------- starting and stopping
    async def start(self, entry: QueueEntry | None, start_s: float = 0.0, *, continues: bool = False) -> None:
        """Open ``entry`` and play it now; entries that fail to open are skipped with a message."""
        queue = self.session.queue
        while entry is not None:
            try:
                stream = await self.opener.open(entry.track, start_s=start_s)
            except Exception as error:
                self.session.announce(lazy("Skipped {name}: {reason}", name=entry.track.display_name, reason=error))
                entry = queue.skip()
                start_s, continues = 0.0, False
                continue
            if queue.current is None or queue.current.entry_id != entry.entry_id:
                stream.close()  # the queue moved on while this one opened
                return
            self._hand_over(entry, stream, start_s, continues)
            return
        self.session.halt()

    async def reopen(self, entry: QueueEntry, start_s: float) -> None:
        """The same play from ``start_s`` (a seek)."""
        stream = await self.opener.open(entry.track, start_s=start_s)
        self._hand_over(entry, stream, start_s, continues=True)

    async def skip_to(self, entry: QueueEntry) -> None:
        """``entry`` is the queue's current one now: play it, from the source opened ahead if it is that."""
        if self._preopened is not None and self._preopened[1].entry_id == entry.entry_id:
            self.current, self._preopened = self._preopened[0], None
            self.session.player.skip()
            self.ensure_playing()
        else:
            await self.start(entry)

    def _hand_over(self, entry: QueueEntry, stream: TrackStream, start_s: float, continues: bool) -> None:
        token = next(self._tokens)
        self._sources[token] = _Source(entry, continues)
        self.current = token
        self.session.player.play(stream, token, start_s)
        self.session.skips.handed_over(token, entry, start_s)
        if self.session.state is PlayState.IDLE:
            self.session._become(PlayState.PLAYING)
        self.ensure_playing()

    def halt(self, *, stop_player: bool = True) -> None:
        self.current = None
        self._preopened = None
        self.generation += 1
        if stop_player:
            self.session.player.stop()

    def ensure_playing(self) -> None:
        if self.session.state is not PlayState.HELD:
            self.session.link.start_player()

    def player_stopped(self) -> None:
        """discord.py's player ended (event loop)."""
        session = self.session
        if session.link.lost and session.queue.current is not None:
            self.spawn(self._rejoin())
        elif session.player.has_pending:
            self.ensure_playing()
        elif session.state is PlayState.PLAYING and self.current is not None and self._restarted != self.current:
            # A track was handed over while the last run was still ending, and the render thread
            # already took its command: play it (once per track, so a player with nothing cannot spin).
            self._restarted = self.current
            self.ensure_playing()

    async def _rejoin(self) -> None:
        """discord.py gave up on a voice connection nobody closed (a resume after a voice server
        crash failed): join the channel again and go on from where the track was."""
        session, entry = self.session, self.session.queue.current
        if entry is None:
            return
        position = session.player.position_s
        try:
            if not await session.link.rejoin():
                return
        except JoinAbortedError:
            return  # the session left voice meanwhile (/leave, shutdown): nothing to say
        except Exception as error:
            session.announce(lazy("Lost the voice connection and could not rejoin: {reason}", reason=error))
            return
        self._preopened = None  # the player closed its sources when discord.py's player stopped
        self.generation += 1
        await self.start(entry, start_s=position, continues=True)

    # ---------------------------------------------------------------- the next track, opened ahead
    def next_may_have_changed(self) -> None:
        """A queue edit: a track opened ahead that is no longer next is withdrawn."""
        want = self.session.queue.peek_next()
        if self._preopened is not None:
            if want is not None and self._preopened[1].entry_id == want.entry_id:
                return
            self.session.player.queue_next(None)
            self._preopened = None
        if self._preopen_task is not None and not self._preopen_task.done():
            self.generation += 1
        if self.current is not None:
            self._spawn_preopen()

    async def _preopen_next(self) -> None:
        session, queue = self.session, self.session.queue
        if self._preopened is not None:
            return
        generation = self.generation
        entry = queue.peek_next()
        if entry is None and session.autoplay is not None and queue.current is not None:
            # Autoplay's pick is chosen now, while the current track plays, so it can follow
            # gaplessly or crossfade in like any queued track.
            added = await autoplay_into(queue, session.autoplay)
            if generation != self.generation:
                for stale in added:
                    session._drop(stale)
                return
            if added:
                session._notify()
            entry = queue.peek_next()
        if entry is None:
            if self.current is None and queue.current is not None:
                self._ran_out()  # the track ended while autoplay looked, and it found nothing
            return
        try:
            stream = await self.opener.open(entry.track)
        except Exception as error:
            if generation != self.generation:
                return
            position = queue.position_of(entry.entry_id)
            if position is not None:
                # Drop it now, so the track after it can still follow the current one gaplessly.
                queue.remove(position)
                session.announce(lazy("Skipped {name}: {reason}", name=entry.track.display_name, reason=error))
            if self.current is None:
                await self.start(queue.skip() if self._last_end_error else queue.advance())
            elif position is not None:
                await self._preopen_next()
            return
        if generation != self.generation or self._preopened is not None:
            stream.close()
            return
        token = next(self._tokens)
        self._sources[token] = _Source(entry, continues=False)
        self._preopened = (token, entry)
        session.player.queue_next(stream, token)
        session.skips.handed_over(token, entry, 0.0)
        self.ensure_playing()

    def _spawn_preopen(self) -> None:
        self._preopen_task = self.spawn(self._preopen_next())

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)  # keep a reference: the loop holds tasks only weakly
        task.add_done_callback(self._tasks.discard)
        return task

    # ---------------------------------------------------------------- plays
    def end_play(self, outcome: PlayOutcome, entry: QueueEntry | None = None) -> None:
        """A command ends what plays now (``entry``: the queue's current one unless given). Its
        source's own end (REPLACED, STOPPED) comes later and is not reported again."""
        entry = entry or self.session.queue.current
        if entry is not None and self.current is not None:
            self._report_end(entry, outcome)

    def _report_end(self, entry: QueueEntry, outcome: PlayOutcome, reason: str | None = None) -> None:
        try:
            self.session.on_play_end(entry, outcome, reason)
        except Exception:  # the history must never stop playback
            log.exception("play end listener failed")

    def _report_start(self, entry: QueueEntry) -> None:
        try:
            self.session.on_play_start(entry)
        except Exception:  # the history must never stop playback
            log.exception("play start listener failed")

    # ---------------------------------------------------------------- player events
    def post_event(self, event: PlayerEvent) -> None:
        """Player thread."""
        self._loop.call_soon_threadsafe(self._on_event, event)

    def _on_event(self, event: PlayerEvent) -> None:
        source = self._sources.get(event.token)
        if event.kind is EventKind.TRACK_ERROR:
            name = source.entry.track.display_name if source is not None else lazy("the track")
            error = event.error if event.error is not None and str(event.error) else None
            self.session.announce(lazy("Skipped {name}: {reason}", name=name, reason=error or event.message))
        elif event.kind is EventKind.TRACK_START:
            self._on_track_start(event.token)
        elif event.kind is EventKind.SEGMENT_SKIPPED:
            self.session.skips.segment_skipped(event.token)
        elif event.kind is EventKind.TRACK_END:
            self._sources.pop(event.token, None)
            self.session.skips.ended(event.token)
            if source is not None and event.reason is EndReason.FINISHED:
                self._report_end(source.entry, PlayOutcome.FINISHED)
            elif source is not None and event.reason is EndReason.ERROR:
                self._report_end(source.entry, PlayOutcome.FAILED, event.message)
            if self._preopened is not None and event.token == self._preopened[0]:
                # The player dropped the pre-opened track half faded in (play/seek/stop during a
                # crossfade): it cannot restart from its beginning, so open it again.
                self._preopened = None
                if self.current is not None:
                    self._spawn_preopen()
            if event.token == self.current and event.reason in (EndReason.FINISHED, EndReason.ERROR):
                self._on_track_finished(event.reason is EndReason.ERROR)

    def _on_track_start(self, token: int) -> None:
        session, queue = self.session, self.session.queue
        session._notify()
        if self.current is not None and token < self.current:
            return  # a source a later command already replaced (skip, then previous at once): stale
        if token != self.current:
            # The player promoted a pre-opened source by itself: the last track ended.
            expected = self._sources.get(token)
            if self._preopened is not None and self._preopened[0] == token:
                self._preopened = None
            self.current = token
            entry = queue.skip() if self._last_end_error else queue.advance()
            self._last_end_error = False
            if entry is None:
                session.halt()
                return
            if expected is None or expected.entry.entry_id != entry.entry_id:
                self.spawn(self.start(entry))  # the queue changed after the pre-open
                return
        source = self._sources.get(token)
        if source is not None and not source.continues:
            self._report_start(source.entry)
        self._spawn_preopen()

    def _on_track_finished(self, error: bool) -> None:
        self.current = None
        self._last_end_error = error
        if self._preopened is not None or (self._preopen_task is not None and not self._preopen_task.done()):
            return  # the pre-opened track takes over (TRACK_START follows), or autoplay still picks
        self._ran_out()

    def _ran_out(self) -> None:
        """The current track ended and nothing was opened ahead: go on with the queue."""
        queue = self.session.queue
        entry = queue.skip() if self._last_end_error else queue.advance()
        self._last_end_error = False
        if entry is not None:
            self.spawn(self.start(entry))
        elif self.session.autoplay is not None:
            self.session.halt(stop_player=False)
            self.spawn(self.session.continue_with_autoplay())
        else:
            self.session.halt(stop_player=False)  # the queue ran out: nothing plays now
