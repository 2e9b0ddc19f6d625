"""Property-based tests: random sequences of queue operations against a model of what must hold."""

from __future__ import annotations

import contextlib
import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from musicbot.queue import (
    InvalidIndexError,
    LoopMode,
    MusicQueue,
    QueueEntry,
    QueueError,
    QueueLimits,
    Track,
    fair_order,
    is_fair,
)
from tests.queue.factories import make_track

MAX_LENGTH = 8
# A pool with two over-long tracks (limit 300 s) and one live stream (never refused for length).
POOL = [make_track(i, duration_s=900.0 if i in (3, 7) else None if i == 5 else 120.0 + i) for i in range(10)]

indices = st.integers(min_value=-1, max_value=MAX_LENGTH + 2)
requesters = st.integers(min_value=1, max_value=4)
tracks = st.sampled_from(POOL)


def _snapshot(q: MusicQueue) -> tuple[object, ...]:
    return (q.current, q.upcoming, q.history, q.loop, q.fair)


class QueueMachine(RuleBasedStateMachine):
    """Drives a ``MusicQueue`` with random operations and keeps a model of which entries exist."""

    def __init__(self) -> None:
        super().__init__()
        self.q = MusicQueue()
        self.alive: set[int] = set()  # entry ids added and not removed, cleared or aged out

    @initialize(
        dedupe=st.booleans(),
        history_size=st.sampled_from([2, 100]),
        fair=st.booleans(),
        loop=st.sampled_from(list(LoopMode)),
        prefill=st.lists(st.tuples(tracks, requesters), max_size=MAX_LENGTH),
    )
    def setup(
        self, dedupe: bool, history_size: int, fair: bool, loop: LoopMode, prefill: list[tuple[Track, int]]
    ) -> None:
        limits = QueueLimits(MAX_LENGTH, max_track_s=300.0, dedupe=dedupe, history_size=history_size)
        self.q = MusicQueue(limits, loop=loop, fair=fair, clock=lambda: 0.0)
        # Start from a populated queue so that the loop rules see long queues often.
        for track, requester in prefill:
            self._attempt(lambda t=track, r=requester: self.q.add(t, r), adds=True)

    # -- helpers ---------------------------------------------------------------------------

    def _all_entries(self) -> list[QueueEntry]:
        current = [self.q.current] if self.q.current is not None else []
        return [*current, *self.q.upcoming, *self.q.history]

    def _attempt(
        self,
        op: object,
        *args: object,
        adds: bool = False,
        removes: bool = False,
        passes: set[int] | None = None,
    ) -> object:
        """Run ``op``; if it refuses, nothing at all may have changed. Then check the model.

        ``passes`` are entries the operation sends to history, which may age out of it at once.
        """
        before = _snapshot(self.q)
        history_before = {e.entry_id for e in self.q.history} | (passes or set())
        try:
            result = op(*args)  # type: ignore[operator]
        except QueueError:
            assert _snapshot(self.q) == before
            result = None
        if adds and isinstance(result, QueueEntry):
            self.alive.add(result.entry_id)
        if removes and isinstance(result, QueueEntry):
            self.alive.discard(result.entry_id)
        self._account(history_before)
        return result

    def _account(self, history_before: set[int]) -> None:
        ids = [e.entry_id for e in self._all_entries()]
        assert len(ids) == len(set(ids)), "an entry is in two places at once"
        present = set(ids)
        missing = self.alive - present
        # The only way an entry disappears without being removed is ageing out of full history.
        assert missing <= history_before, f"lost entries {missing}"
        if missing:
            assert len(self.q.history) == self.q.limits.history_size
        self.alive -= missing
        assert present <= self.alive, "an entry appeared that was never added"

    # -- adding and editing --------------------------------------------------------------------

    def _active_track_ids(self) -> set[str]:
        current = [self.q.current] if self.q.current is not None else []
        return {e.track.id for e in (*current, *self.q.upcoming)}

    @rule(track=tracks, requester=requesters, play_next=st.booleans())
    def add(self, track: Track, requester: int, play_next: bool) -> None:
        duplicate = track.id in self._active_track_ids()
        entry = self._attempt(
            lambda: self.q.add(track, requester, play_next=play_next),
            adds=True,
        )
        if isinstance(entry, QueueEntry):
            assert self.q.position_of(entry.entry_id) is not None
            assert not (duplicate and self.q.limits.dedupe)
        else:
            refused_for_a_reason = (
                (duplicate and self.q.limits.dedupe) or len(self.q) >= MAX_LENGTH or track.duration_s == 900.0
            )
            assert refused_for_a_reason

    @rule(batch=st.lists(tracks, max_size=6), requester=requesters, play_next=st.booleans())
    def add_many(self, batch: list[Track], requester: int, play_next: bool) -> None:
        before = len(self.q)
        active = self._active_track_ids()
        result = self.q.add_many(batch, requester, play_next=play_next)
        assert len(result.added) + len(result.refused) == len(batch)
        assert len(self.q) == before + len(result.added) <= max(MAX_LENGTH, before)
        self.alive |= {e.entry_id for e in result.added}
        if self.q.limits.dedupe:
            added_ids = [e.track.id for e in result.added]
            assert len(added_ids) == len(set(added_ids)) and active.isdisjoint(added_ids)
        self._account(set())

    @rule(index=indices)
    def remove(self, index: int) -> None:
        size = len(self.q)
        removed = self._attempt(self.q.remove, index, removes=True)
        assert (removed is not None) == (1 <= index <= size)
        if isinstance(removed, QueueEntry):
            assert removed.entry_id not in {e.entry_id for e in self._all_entries()}

    @rule(source=indices, destination=indices)
    def move(self, source: int, destination: int) -> None:
        before = list(self.q.upcoming)
        moved = self._attempt(self.q.move, source, destination)
        if isinstance(moved, QueueEntry):
            assert self.q.entry_at(destination) == moved
            expected = before[: source - 1] + before[source:]
            expected.insert(destination - 1, moved)
            assert list(self.q.upcoming) == expected

    @rule(a=indices, b=indices)
    def swap(self, a: int, b: int) -> None:
        before = list(self.q.upcoming)
        if self._attempt(self.q.swap, a, b) is not None:
            assert self.q.entry_at(a) == before[b - 1] and self.q.entry_at(b) == before[a - 1]

    @rule(seed=st.integers(0, 2**16))
    def shuffle(self, seed: int) -> None:
        before = Counter(e.entry_id for e in self.q.upcoming)
        self.q.shuffle(random.Random(seed))
        assert Counter(e.entry_id for e in self.q.upcoming) == before

    @rule()
    def clear(self) -> None:
        removed = self.q.clear()
        self.alive -= {e.entry_id for e in removed}
        assert len(self.q) == 0

    @rule()
    def stop(self) -> None:
        history_before = {e.entry_id for e in self.q.history}
        removed = self.q.stop()
        self.alive -= {e.entry_id for e in removed}
        assert self.q.current is None and len(self.q) == 0
        self._account(history_before)

    @rule(mode=st.sampled_from(list(LoopMode)))
    def set_loop(self, mode: LoopMode) -> None:
        self.q.loop = mode

    @rule(on=st.booleans())
    def set_fair(self, on: bool) -> None:
        before = Counter(e.entry_id for e in self.q.upcoming)
        self.q.fair = on
        assert Counter(e.entry_id for e in self.q.upcoming) == before

    # -- playing ---------------------------------------------------------------------------

    @rule()
    def advance(self) -> None:
        current, upcoming = self.q.current, list(self.q.upcoming)
        self._attempt(self.q.advance)
        if current is not None and self.q.loop is LoopMode.TRACK:
            assert self.q.current == current and list(self.q.upcoming) == upcoming
        elif self.q.loop is LoopMode.OFF:
            assert self.q.current == (upcoming[0] if upcoming else None)
            assert list(self.q.upcoming) == upcoming[1:]
            if current is not None:
                assert self.q.history[-1] == current
        elif current is not None and not self.q.fair:  # QUEUE: the finished entry goes round again
            assert list(self.q.upcoming) == [*upcoming, current][1:]

    @rule()
    def skip(self) -> None:
        current, upcoming = self.q.current, list(self.q.upcoming)
        self._attempt(self.q.skip)
        if upcoming or self.q.loop is not LoopMode.QUEUE:
            assert self.q.current == (upcoming[0] if upcoming else None)
        else:  # loop QUEUE with nothing else queued: the ring of one goes round
            assert self.q.current == current

    @rule(index=indices)
    def skip_to(self, index: int) -> None:
        target = self.q.entry_at(index) if 1 <= index <= len(self.q) else None
        passed = {e.entry_id for e in self._all_entries()}
        self._attempt(self.q.skip_to, index, passes=passed)
        if target is not None:
            assert self.q.current == target

    @rule()
    def previous(self) -> None:
        self._attempt(self.q.previous)

    @precondition(lambda self: self.q.current is not None)
    @rule()
    def previous_then_skip_returns(self) -> None:
        current, upcoming = self.q.current, list(self.q.upcoming)
        if self._attempt(self.q.previous) is None:
            return
        history_before = {e.entry_id for e in self.q.history}
        self.q.skip()
        self._account(history_before)
        assert self.q.current == current
        if not self.q.fair:
            assert list(self.q.upcoming) == upcoming

    @precondition(lambda self: self.q.current and self.q.loop is LoopMode.QUEUE and not self.q.fair)
    @rule()
    def queue_loop_comes_round(self) -> None:
        current, upcoming = self.q.current, self.q.upcoming
        for _ in range(len(upcoming) + 1):
            self.q.advance()
        assert (self.q.current, self.q.upcoming) == (current, upcoming)
        self._account(set())

    @precondition(lambda self: self.q.loop is LoopMode.OFF)
    @rule()
    def off_loop_drains(self) -> None:
        history_before = {e.entry_id for e in self._all_entries()}
        for _ in range(len(self.q.upcoming) + 1):
            self.q.advance()
        assert self.q.current is None and len(self.q) == 0
        self._account(history_before)

    # -- invariants --------------------------------------------------------------------------

    @invariant()
    def indices_are_valid(self) -> None:
        for position, entry in enumerate(self.q.upcoming, start=1):
            assert self.q.entry_at(position) == entry
            assert self.q.position_of(entry.entry_id) == position
        for bad in (0, len(self.q) + 1):
            try:
                self.q.entry_at(bad)
            except InvalidIndexError as error:
                assert f"{len(self.q)} track" in str(error) or "empty" in str(error)
            else:
                raise AssertionError(f"index {bad} was accepted")
        assert len(self.q.history) <= self.q.limits.history_size

    @invariant()
    def fair_mode_alternates(self) -> None:
        # After every operation, /previous included (it keeps the rounds, the track stepped back from next).
        if self.q.fair:
            assert is_fair(self.q.upcoming)



QueueMachine.TestCase.settings = settings(max_examples=250, stateful_step_count=30, deadline=None)
TestQueueMachine = QueueMachine.TestCase


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=4), max_size=30), st.none() | st.integers(0, 4))
def test_fair_order_is_a_fair_stable_permutation(requester_ids: list[int], playing: int | None) -> None:
    track = make_track(0)
    entries = [QueueEntry(i, track, r, 0.0) for i, r in enumerate(requester_ids)]
    result = fair_order(entries, playing)
    assert sorted(e.entry_id for e in result) == list(range(len(entries)))
    for r in set(requester_ids):
        assert [e for e in result if e.requester_id == r] == [e for e in entries if e.requester_id == r]
    assert is_fair(result)
    assert fair_order(result, playing) == result
    if playing is not None and len(set(requester_ids)) > 1 and result:
        assert result[0].requester_id != playing


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 4), st.booleans()), max_size=25))
def test_fair_adds_interleave_requesters(adds: list[tuple[int, bool]]) -> None:
    q = MusicQueue(QueueLimits(max_length=50), fair=True)
    mine: dict[int, list[int]] = {}
    for n, (requester, play_next) in enumerate(adds):
        entry = q.add(make_track(n), requester, play_next=play_next)
        own = mine.setdefault(requester, [])
        own.insert(0, entry.entry_id) if play_next else own.append(entry.entry_id)
        assert is_fair(q.upcoming)
        for r, ids in mine.items():
            assert [e.entry_id for e in q.upcoming if e.requester_id == r] == ids


def test_fair_rounds_survive_previous_twice() -> None:
    """The example Hypothesis found (loop off): two users queue → advance ×3 → previous → advance → add →
    previous ×2 → a refused skip_to(0). The second previous used to leave "2, 2, 1" behind the playing track."""
    q = MusicQueue(QueueLimits(MAX_LENGTH, max_track_s=300.0, history_size=2), fair=True, clock=lambda: 0.0)
    for track, requester in [(POOL[0], 1), (POOL[1], 2), (POOL[2], 2)]:
        q.add(track, requester)
    for _ in range(3):
        q.advance()
    q.previous()
    q.advance()
    q.add(POOL[8], 1)
    q.previous()
    assert q.current is not None and q.current.track.id == POOL[1].id
    q.previous()
    with contextlib.suppress(InvalidIndexError):
        q.skip_to(0)
    assert q.current is not None and q.current.track.id == POOL[0].id
    assert is_fair(q.upcoming), [(e.track.id, e.requester_id) for e in q.upcoming]
    # The track stepped back from is still next: previous then skip lands where you were.
    assert q.upcoming[0].track.id == POOL[1].id
    assert [e.requester_id for e in q.upcoming] == [2, 1, 2]
