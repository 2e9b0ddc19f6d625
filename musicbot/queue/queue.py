"""The per-guild queue: the current entry, the upcoming list and a bounded history.

Pure logic, called from the event loop only (no locking). Positions users type are 1-based
and refer to the upcoming list as ``/queue`` shows it (1 = the next track).

How the pieces move:

* ``advance()`` is called when a track ends naturally. Loop OFF: the current entry goes to
  history and the next upcoming one starts. Loop TRACK: the same entry plays again. Loop QUEUE:
  the current entry goes to the end of the upcoming list (not to history), so after N tracks
  the same N come round again in the same order.
* ``skip()`` is a user's skip. It is ``advance()`` except in loop TRACK, where a skip moves on
  to the next track rather than repeating the one the user wanted gone (the loop mode stays).
* ``previous()`` steps back: the current entry returns to the front of the upcoming list and the
  last history entry plays, so ``previous()`` then ``skip()`` lands where you were. History is a
  stack, and this is its cursor. In loop QUEUE, finished entries live at the end of the upcoming
  list instead of in history, so ``previous()`` takes the last upcoming entry: the ring turns
  back one step, and never pulls an old history entry into the ring. (A track added while the
  queue loops goes at the end too, and so is what ``previous()`` would play.)
* ``replay()`` changes nothing here: it names the current entry, which the player restarts.

Every operation either applies entirely or raises a ``QueueError`` and changes nothing.
``add_many`` is the one bulk operation: each track is accepted or refused on its own, and the
result lists the refused ones with the reason.
"""

from __future__ import annotations

import itertools
import random
import time
from collections import deque
from collections.abc import Callable, Iterable

from musicbot.queue.entry import AddResult, LoopMode, QueueEntry, QueueLimits, Refusal
from musicbot.queue.errors import (
    DuplicateTrackError,
    FairOrderError,
    InvalidIndexError,
    NoPreviousTrackError,
    NothingPlayingError,
    QueueError,
    QueueFullError,
    TrackTooLongError,
)
from musicbot.queue.fair import fair_order
from musicbot.track import Track

# A restored entry: (track, requester_id, autoplay), or with the outside requester's name after them.
Restored = tuple[Track, int | None, bool] | tuple[Track, int | None, bool, str | None]


class MusicQueue:
    """One guild's queue. ``clock`` returns seconds since the epoch and is injected for tests."""

    def __init__(
        self,
        limits: QueueLimits | None = None,
        *,
        loop: LoopMode = LoopMode.OFF,
        fair: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._limits = limits or QueueLimits()
        self._loop = loop
        self._fair = fair
        self._clock = clock
        self._ids = itertools.count(1)
        self._current: QueueEntry | None = None
        self._upcoming: list[QueueEntry] = []
        self._history: deque[QueueEntry] = deque()

    # -- reading ---------------------------------------------------------------------------

    @property
    def current(self) -> QueueEntry | None:
        """The entry playing now (or paused), None when the queue has run out."""
        return self._current

    @property
    def upcoming(self) -> tuple[QueueEntry, ...]:
        """What plays next, in order; ``upcoming[0]`` is position 1."""
        return tuple(self._upcoming)

    @property
    def history(self) -> tuple[QueueEntry, ...]:
        """Entries that have played, oldest first; the last one is what ``previous()`` returns to."""
        return tuple(self._history)

    def __len__(self) -> int:
        """The number of upcoming entries (the current one is not counted)."""
        return len(self._upcoming)

    def entry_at(self, index: int) -> QueueEntry:
        """The upcoming entry at 1-based ``index``."""
        return self._upcoming[self._check_index(index)]

    def position_of(self, entry_id: int) -> int | None:
        """The 1-based position of an upcoming entry, or None if it is not upcoming."""
        for i, entry in enumerate(self._upcoming):
            if entry.entry_id == entry_id:
                return i + 1
        return None

    # -- settings --------------------------------------------------------------------------

    @property
    def limits(self) -> QueueLimits:
        return self._limits

    @limits.setter
    def limits(self, limits: QueueLimits) -> None:
        """New limits apply to later adds; what is queued already stays (history is trimmed)."""
        self._limits = limits
        self._trim_history()

    @property
    def loop(self) -> LoopMode:
        return self._loop

    @loop.setter
    def loop(self, mode: LoopMode) -> None:
        self._loop = mode
        # An edit like any other: in fair mode the rounds come back (after /previous broke them,
        # an advance in loop TRACK would otherwise keep the unfair order indefinitely).
        self._refair()

    @property
    def fair(self) -> bool:
        """Fair mode: the upcoming list interleaves requesters round-robin (see ``fair.py``)."""
        return self._fair

    @fair.setter
    def fair(self, on: bool) -> None:
        self._fair = on
        self._refair()

    # -- adding ----------------------------------------------------------------------------

    def add(
        self, track: Track, requester_id: int | None, *, play_next: bool = False, autoplay: bool = False,
        requester_name: str | None = None,
    ) -> QueueEntry:
        """Queue one track at the end (or next) and return its entry; raise a ``QueueError`` if refused.

        In fair mode the entry goes where the round-robin puts it; ``play_next`` then makes it
        the requester's own next track rather than everybody's.
        """
        self._check_can_add(track, (), 0)
        entry = self._new_entry(track, requester_id, autoplay, requester_name)
        self._insert([entry], play_next)
        return entry

    def add_many(
        self,
        tracks: Iterable[Track],
        requester_id: int | None,
        *,
        play_next: bool = False,
        autoplay: bool = False,
        requester_name: str | None = None,
    ) -> AddResult:
        """Queue a playlist: every track the limits allow, in order, and a list of those refused.

        Refusals (too long, duplicate, queue full) are per track and never raise: a playlist
        with one over-long track still loads. With ``play_next`` the batch goes to the front,
        keeping its own order.
        """
        added: list[QueueEntry] = []
        refused: list[Refusal] = []
        for track in tracks:
            try:
                self._check_can_add(track, added, len(added))
            except QueueError as error:
                refused.append(Refusal(track, error))
                continue
            added.append(self._new_entry(track, requester_id, autoplay, requester_name))
        self._insert(added, play_next)
        return AddResult(tuple(added), tuple(refused))

    # -- editing ---------------------------------------------------------------------------

    def remove(self, index: int) -> QueueEntry:
        """Remove and return the upcoming entry at 1-based ``index``."""
        entry = self._upcoming.pop(self._check_index(index))
        self._refair()
        return entry

    def move(self, source: int, destination: int) -> QueueEntry:
        """Move the entry at ``source`` so that it ends up at ``destination`` (both 1-based)."""
        src, dst = self._check_index(source), self._check_index(destination)
        self._refuse_in_fair_mode()
        entry = self._upcoming.pop(src)
        self._upcoming.insert(dst, entry)
        return entry

    def swap(self, first: int, second: int) -> tuple[QueueEntry, QueueEntry]:
        """Exchange two upcoming entries (1-based); returns them in their new order of play."""
        a, b = self._check_index(first), self._check_index(second)
        self._refuse_in_fair_mode()
        self._upcoming[a], self._upcoming[b] = self._upcoming[b], self._upcoming[a]
        return self._upcoming[min(a, b)], self._upcoming[max(a, b)]

    def shuffle(self, rng: random.Random) -> None:
        """Shuffle the upcoming entries with ``rng`` (injected so tests are repeatable).

        In fair mode each requester's own entries are shuffled and the rounds rebuilt, so the
        queue stays fair.
        """
        rng.shuffle(self._upcoming)
        self._refair()

    def clear(self) -> list[QueueEntry]:
        """Remove every upcoming entry; the current one keeps playing. Returns what was removed."""
        removed, self._upcoming = self._upcoming, []
        return removed

    def stop(self) -> list[QueueEntry]:
        """``/stop``: clear the upcoming list and end the current entry (it goes to history)."""
        removed = self.clear()
        if self._current is not None:
            self._push_history(self._current)
            self._current = None
        return removed

    def restore(
        self,
        current: Restored | None,
        upcoming: Iterable[Restored],
        history: Iterable[Restored] = (),
    ) -> None:
        """Put back a queue saved before a restart: ``(track, requester_id, autoplay[, requester_name])`` each.

        Limits are not checked: these were accepted when they were added, and a restart must
        not lose them. Entries get new ids (ids are per queue object).
        """
        self._current = None if current is None else self._new_entry(*current)
        self._upcoming = [self._new_entry(*item) for item in upcoming]
        self._history = deque(self._new_entry(*item) for item in history)
        self._trim_history()

    # -- playing ---------------------------------------------------------------------------

    def advance(self) -> QueueEntry | None:
        """The current track ended naturally: return the entry to play now, or None if none is left."""
        if self._current is not None and self._loop is LoopMode.TRACK:
            return self._current
        return self._move_on()

    def skip(self) -> QueueEntry | None:
        """A user skipped: like ``advance()`` but never repeats the skipped entry in loop TRACK."""
        return self._move_on()

    def peek_next(self) -> QueueEntry | None:
        """What ``advance()`` would return, without moving (the session opens it ahead)."""
        if self._current is not None and self._loop is LoopMode.TRACK:
            return self._current
        if self._upcoming:
            return self._upcoming[0]
        return self._current if self._loop is LoopMode.QUEUE else None

    def skip_to(self, index: int) -> QueueEntry:
        """Jump to the upcoming entry at 1-based ``index``, as if every one before it were skipped.

        The skipped entries go to history (or, in loop QUEUE, to the end of the ring), so
        ``previous()`` can still reach them.
        """
        target = self._check_index(index)
        passed = ([self._current] if self._current is not None else []) + self._upcoming[:target]
        entry = self._upcoming[target]
        rest = self._upcoming[target + 1 :]
        if self._loop is LoopMode.QUEUE:
            self._upcoming = rest + passed
        else:
            self._upcoming = rest
            for done in passed:
                self._push_history(done)
        self._current = entry
        if self._loop is LoopMode.QUEUE:
            self._refair()
        return entry

    def previous(self) -> QueueEntry:
        """Step back to the entry that played before this one (see the module docstring)."""
        if self._loop is LoopMode.QUEUE and self._current is not None:
            if not self._upcoming:
                return self._current  # a ring of one: the previous track is this one
            entry = self._upcoming.pop()
        elif self._history:
            entry = self._history.pop()
        else:
            raise NoPreviousTrackError()
        back_to = self._current
        self._current = entry
        if back_to is None:
            self._refair()
            return entry
        # Fair mode: the track stepped back from stays next (what the user expects after
        # /previous), and the rest keep their rounds with its requester last in each, so the
        # order stays fair (a property test found /previous twice leaving "2, 2, 1").
        rest = fair_order(self._upcoming, back_to.requester_key) if self._fair else self._upcoming
        self._upcoming = [back_to, *rest]
        return entry

    def replay(self) -> QueueEntry:
        """The entry to restart from the beginning; the queue itself does not change."""
        if self._current is None:
            raise NothingPlayingError()
        return self._current

    # -- internals -------------------------------------------------------------------------

    def _new_entry(self, track: Track, requester_id: int | None, autoplay: bool,
                   requester_name: str | None = None) -> QueueEntry:
        return QueueEntry(next(self._ids), track, requester_id, self._clock(), autoplay, requester_name)

    def _check_index(self, index: int) -> int:
        if not 1 <= index <= len(self._upcoming):
            raise InvalidIndexError(index, len(self._upcoming))
        return index - 1

    def _check_can_add(self, track: Track, pending: Iterable[QueueEntry], pending_count: int) -> None:
        limits = self._limits
        too_long = limits.max_track_s is not None and (track.duration_s or 0.0) > limits.max_track_s
        if too_long and limits.max_track_s is not None:
            raise TrackTooLongError(track, limits.max_track_s)
        if limits.dedupe and any(
            e.track.id == track.id for e in itertools.chain(self._active(), pending)
        ):
            raise DuplicateTrackError(track)
        if len(self._upcoming) + pending_count >= limits.max_length:
            raise QueueFullError(limits.max_length)

    def _active(self) -> Iterable[QueueEntry]:
        if self._current is not None:
            yield self._current
        yield from self._upcoming

    def _insert(self, entries: list[QueueEntry], play_next: bool) -> None:
        if not entries:
            return
        if not play_next:
            self._upcoming.extend(entries)
        elif self._fair:
            # "Next" in fair mode means ahead of the requester's own other entries, not ahead of
            # everybody: insert just before their first one so the round order is unchanged.
            requester = entries[0].requester_key
            at = next(
                (i for i, e in enumerate(self._upcoming) if e.requester_key == requester),
                len(self._upcoming),
            )
            self._upcoming[at:at] = entries
        else:
            self._upcoming[:0] = entries
        self._refair()

    def _move_on(self) -> QueueEntry | None:
        finished = self._current
        self._current = self._upcoming.pop(0) if self._upcoming else None
        if finished is not None:
            if self._loop is LoopMode.QUEUE:
                self._upcoming.append(finished)
                if self._current is None:
                    self._current = self._upcoming.pop(0)
                self._refair()
            else:
                self._push_history(finished)
        return self._current

    def _push_history(self, entry: QueueEntry) -> None:
        self._history.append(entry)
        self._trim_history()

    def _trim_history(self) -> None:
        while len(self._history) > self._limits.history_size:
            self._history.popleft()

    def _refair(self) -> None:
        if self._fair:
            playing = self._current.requester_key if self._current is not None else None
            self._upcoming = fair_order(self._upcoming, playing)

    def _refuse_in_fair_mode(self) -> None:
        if self._fair:
            raise FairOrderError()
