"""The fades of a ``Player`` (``voice/player.py``), on its render thread: the crossfade into the
next track and splices (a stretch of the current track left out, ``voice/splice.py``).

A mixin: ``Player`` owns the slots, the engine and the events; this part decides when a fade
begins (``splice.fade_due``), moves the slots along when the engine has handed over, and lets a
fade go when a command ends what it led into.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from musicbot.audio import Chunk, EndOfStream
from musicbot.voice.player_values import EndReason, EventKind, PlayerEvent, QueueSplice, Slot, TrackStream
from musicbot.voice.protocol import BeginCrossfade, CancelCrossfade
from musicbot.voice.render_client import RenderClient
from musicbot.voice.splice import SILENCE, FadeKind, FadeStart, fade_due, fade_possible


class PlayerFades:
    engine: RenderClient
    _current: Slot | None
    _next: Slot | None
    _splicing: Slot | None  # the current track's continuation, fading in
    _fade: FadeKind | None  # what the engine's fade in progress (or armed) leads into
    _fade_end_reason: EndReason
    _position_samples: int
    _current_token: int | None
    _underrunning: bool
    _dispose: Callable[[TrackStream], None]

    def _emit(self, event: PlayerEvent) -> None:
        raise NotImplementedError

    def _pull_slot(self, slot: Slot) -> Chunk | EndOfStream | None:
        raise NotImplementedError

    def _maybe_begin_fade(self) -> None:
        """Start a crossfade into the next track, or a splice, when one is due (``splice.fade_due``)."""
        current, upcoming = self._current, self._next
        if current is None or self.engine.crossfading:
            return
        if not fade_possible(splice=current.splice, crossfade_samples=self.engine.crossfade_samples,
                             has_next=upcoming is not None):
            return  # asked every packet: the position is not worked out for nothing
        position = self._position_samples - self.engine.unread_samples
        if current.splice is not None and current.splice.passed(position):
            self._drop_queued_splice(current)  # a seek went past the stretch
        # Decoder and ResilientStream know the length (container, else the track's metadata);
        # live streams and test doubles do not, and play gaplessly.
        due = fade_due(position=position, duration_s=getattr(current.source, "duration_s", None),
                       crossfade_samples=self.engine.crossfade_samples, splice=current.splice,
                       has_next=upcoming is not None)
        if due is None:
            return
        current.splice = None if due.until_sample is not None else current.splice
        if due.kind is FadeKind.SPLICE:
            self._begin_splice(current, due)
            return
        assert upcoming is not None
        self.engine.begin_crossfade(
            functools.partial(self._pull_slot, upcoming),
            BeginCrossfade(upcoming.source.packet_mode, due.length_samples, due.until_sample),
        )
        self._fade, self._fade_end_reason = FadeKind.TRACK, EndReason.FINISHED

    def _begin_splice(self, current: Slot, due: FadeStart) -> None:
        """Fade into the same track's continuation after the stretch (or into silence: its end)."""
        resume = due.resume if due.resume is not None else SILENCE
        self._splicing = Slot(resume, current.token, 0.0)
        self.engine.begin_crossfade(
            functools.partial(self._pull_slot, self._splicing),
            BeginCrossfade(resume.packet_mode, due.length_samples, due.until_sample, due.skip_samples),
        )
        self._fade = FadeKind.SPLICE

    def _finish_crossfade(self) -> None:
        """The engine has handed over to the next track (or the continuation): the slots follow."""
        if self._fade is FadeKind.SPLICE:
            self._finish_splice()
            return
        self._fade = None
        old, new = self._current, self._next
        assert old is not None and new is not None
        self._current, self._next = new, None
        self._current_token = new.token
        self._position_samples = new.position_samples
        self._underrunning = False
        self._dispose_slot(old)
        self._emit(PlayerEvent(EventKind.TRACK_END, old.token, reason=self._fade_end_reason))
        self._emit(PlayerEvent(EventKind.TRACK_START, new.token))

    def _finish_splice(self) -> None:
        """The continuation is the current source now; the same play goes on."""
        old, new = self._current, self._splicing
        assert old is not None and new is not None
        self._fade, self._splicing = None, None
        new.splice = old.splice  # one queued meanwhile for the next stretch
        old.splice = None
        self._current = new
        self._position_samples = new.position_samples
        self._underrunning = False
        self._dispose_slot(old)
        self._emit(PlayerEvent(EventKind.SEGMENT_SKIPPED, new.token))

    def _drop_splice(self) -> None:
        """A skip, play or stop while a splice is armed or fading: the continuation is let go."""
        if self._splicing is not None:
            slot, self._splicing, self._fade = self._splicing, None, None
            self.engine.cancel_crossfade(CancelCrossfade())
            self._dispose(slot.source)

    def _dispose_slot(self, slot: Slot) -> None:
        self._dispose(slot.source)
        self._drop_queued_splice(slot)

    def _drop_queued_splice(self, slot: Slot) -> None:
        if slot.splice is not None and slot.splice.resume is not None:
            self._dispose(slot.splice.resume)
        slot.splice = None

    def _drop_faded_in_next(self) -> None:
        """``play``/``stop`` during a fade: the next track was partly played and cannot restart
        from its beginning, so it is closed and reported (the session reopens it)."""
        self._drop_splice()
        if self._fade is FadeKind.TRACK and self.engine.crossfading and self._next is not None:
            slot, self._next, self._fade = self._next, None, None
            self.engine.cancel_crossfade(CancelCrossfade())
            self._dispose_slot(slot)
            self._emit(PlayerEvent(EventKind.TRACK_END, slot.token, reason=EndReason.REPLACED))

    def _take_splice(self, command: QueueSplice) -> None:
        slot = next((s for s in (self._current, self._next) if s is not None and s.token == command.token), None)
        if slot is None:
            if command.splice.resume is not None:
                self._dispose(command.splice.resume)  # that track is gone
            return
        self._drop_queued_splice(slot)
        slot.splice = command.splice
