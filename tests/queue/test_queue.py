"""Unit tests of queue operations, their refusals and the exact user-facing messages."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from musicbot.errors import MusicBotError
from musicbot.queue import (
    DuplicateTrackError,
    FairOrderError,
    InvalidIndexError,
    LoopMode,
    MusicQueue,
    NoPreviousTrackError,
    NothingPlayingError,
    QueueError,
    QueueFullError,
    QueueLimits,
    TrackTooLongError,
    format_duration,
)
from tests.queue.factories import make_track


def titles(q: MusicQueue) -> list[str]:
    return [e.track.title for e in q.upcoming]


def filled(n: int, **kwargs: object) -> MusicQueue:
    q = MusicQueue(QueueLimits(**kwargs), clock=lambda: 1234.5)  # type: ignore[arg-type]
    for i in range(1, n + 1):
        q.add(make_track(i), requester_id=10)
    return q


def test_errors_are_music_bot_errors() -> None:
    assert issubclass(QueueError, MusicBotError)


@pytest.mark.parametrize(
    ("size", "index", "message"),
    [
        (5, 7, "There is no track 7; the queue has 5 tracks (1–5)."),
        (5, 0, "There is no track 0; the queue has 5 tracks (1–5)."),
        (1, 2, "There is no track 2; the queue has 1 track (1)."),
        (0, 1, "There is no track 1; the queue is empty."),
    ],
)
def test_bad_index_message_names_the_range(size: int, index: int, message: str) -> None:
    q = filled(size)
    for op in (
        lambda: q.remove(index),
        lambda: q.move(index, 1),
        lambda: q.swap(1, index),
        lambda: q.skip_to(index),
    ):
        with pytest.raises(InvalidIndexError) as caught:
            op()
        assert str(caught.value) == message


def test_full_queue_is_refused_with_the_limit() -> None:
    q = filled(3, max_length=3)
    with pytest.raises(QueueFullError) as caught:
        q.add(make_track(99), 1)
    assert str(caught.value) == "The queue is full (3 tracks max on this server)."
    assert len(q) == 3


@pytest.mark.parametrize(
    ("duration_s", "limit_s", "shown"),
    [(754.0, 600.0, "“Song x” is 12:34 long; tracks on this server can be at most 10:00."),
     (3 * 3600 + 5.0, 3600.0, "“Song x” is 3:00:05 long; tracks on this server can be at most 1:00:00.")],
)
def test_too_long_track_names_the_limit(duration_s: float, limit_s: float, shown: str) -> None:
    q = MusicQueue(QueueLimits(max_track_s=limit_s))
    with pytest.raises(TrackTooLongError) as caught:
        q.add(make_track("x", duration_s=duration_s), 1)
    assert str(caught.value) == shown
    assert q.add(make_track("live", duration_s=None), 1).track.is_live  # live streams are not refused


def test_duplicates_are_refused_only_when_dedupe_is_on() -> None:
    q = filled(2, dedupe=True)
    with pytest.raises(DuplicateTrackError) as caught:
        q.add(make_track(2), 3)
    assert str(caught.value) == "“Song 2” is already in the queue."
    q.advance()
    with pytest.raises(DuplicateTrackError):
        q.add(make_track(1), 3)  # the playing track counts too
    filled(2).add(make_track(2), 3)  # no error with dedupe off


def test_format_duration() -> None:
    assert [format_duration(s) for s in (0, 5, 65, 599.9, 3600, 36000 + 61)] == [
        "0:00", "0:05", "1:05", "9:59", "1:00:00", "10:01:01"
    ]


def test_add_many_skips_refused_tracks_and_reports_them() -> None:
    q = MusicQueue(QueueLimits(max_length=4, max_track_s=300.0, dedupe=True))
    batch = [make_track(1), make_track(2, duration_s=400.0), make_track(1), make_track(3), make_track(4),
             make_track(5), make_track(6)]
    result = q.add_many(batch, requester_id=7)
    assert [e.track.id for e in result.added] == ["test:1", "test:3", "test:4", "test:5"]
    assert [(r.track.id, type(r.error)) for r in result.refused] == [
        ("test:2", TrackTooLongError), ("test:1", DuplicateTrackError), ("test:6", QueueFullError)
    ]
    assert result.refused[0].reason.startswith("“Song 2” is 6:40 long")
    assert result.summary == "Queued 4 tracks; 3 were refused (already queued, queue full, too long)."
    assert titles(q) == ["Song 1", "Song 3", "Song 4", "Song 5"]


def test_add_next_and_add_many_next_keep_their_order() -> None:
    q = filled(2)
    q.add(make_track("n"), 1, play_next=True)
    q.add_many([make_track("a"), make_track("b")], 1, play_next=True)
    assert titles(q) == ["Song a", "Song b", "Song n", "Song 1", "Song 2"]


def test_entries_carry_requester_time_and_unique_ids() -> None:
    q = filled(2)
    e = q.add(make_track(1), 42, autoplay=True)
    assert (e.requester_id, e.added_at, e.autoplay) == (42, 1234.5, True)
    assert len({x.entry_id for x in q.upcoming}) == 3


def test_remove_move_swap() -> None:
    q = filled(5)
    assert q.remove(2).track.title == "Song 2"
    assert titles(q) == ["Song 1", "Song 3", "Song 4", "Song 5"]
    assert q.move(4, 1).track.title == "Song 5"
    assert titles(q) == ["Song 5", "Song 1", "Song 3", "Song 4"]
    q.move(1, 3)
    assert titles(q) == ["Song 1", "Song 3", "Song 5", "Song 4"]
    a, b = q.swap(4, 1)
    assert (a.track.title, b.track.title) == ("Song 4", "Song 1")
    assert titles(q) == ["Song 4", "Song 3", "Song 5", "Song 1"]


def test_shuffle_uses_the_injected_random() -> None:
    q1, q2 = filled(8), filled(8)
    q1.shuffle(random.Random(3))
    q2.shuffle(random.Random(3))
    assert titles(q1) == titles(q2) != titles(filled(8))


def test_clear_and_stop() -> None:
    q = filled(3)
    q.advance()
    assert len(q.clear()) == 2 and q.current is not None
    q.add(make_track(9), 1)
    assert [e.track.title for e in q.stop()] == ["Song 9"]
    assert q.current is None and q.history[-1].track.title == "Song 1"


def test_loop_off_track_queue() -> None:
    q = filled(3)
    assert q.advance() is not None and q.current.track.title == "Song 1"  # type: ignore[union-attr]
    q.loop = LoopMode.TRACK
    assert q.advance().track.title == "Song 1"  # type: ignore[union-attr]
    assert q.skip().track.title == "Song 2"  # type: ignore[union-attr]  # a skip moves on even in TRACK
    q.loop = LoopMode.QUEUE
    seen = [q.advance().track.title for _ in range(6)]  # type: ignore[union-attr]
    assert seen == ["Song 3", "Song 2", "Song 3", "Song 2", "Song 3", "Song 2"]
    q.loop = LoopMode.OFF
    assert q.advance().track.title == "Song 3"  # type: ignore[union-attr]
    assert q.advance() is None and q.current is None
    assert LoopMode.OFF.cycled() is LoopMode.TRACK and LoopMode.QUEUE.cycled() is LoopMode.OFF


def test_previous_walks_back_through_history_and_forward_again() -> None:
    q = filled(4)
    for _ in range(3):
        q.advance()
    assert q.current.track.title == "Song 3"  # type: ignore[union-attr]
    assert q.previous().track.title == "Song 2"
    assert q.previous().track.title == "Song 1"
    with pytest.raises(NoPreviousTrackError, match=r"^There is no previous track\.$"):
        q.previous()
    assert titles(q) == ["Song 2", "Song 3", "Song 4"]
    assert [q.skip().track.title for _ in range(3)] == ["Song 2", "Song 3", "Song 4"]  # type: ignore[union-attr]
    assert q.skip() is None
    assert q.previous().track.title == "Song 4"  # after the queue ran out, previous replays the last


def test_previous_in_queue_loop_turns_the_ring_back() -> None:
    q = filled(3)
    q.loop = LoopMode.QUEUE
    q.advance()
    q.advance()
    assert q.previous().track.title == "Song 1"
    assert titles(q) == ["Song 2", "Song 3"]


def test_history_is_bounded() -> None:
    q = filled(6, history_size=2)
    for _ in range(6):
        q.advance()
    assert [e.track.title for e in q.history] == ["Song 4", "Song 5"]


def test_skip_to_sends_skipped_entries_to_history_or_round_the_ring() -> None:
    q = filled(5)
    q.advance()
    assert q.skip_to(3).track.title == "Song 4"
    assert [e.track.title for e in q.history] == ["Song 1", "Song 2", "Song 3"]
    assert titles(q) == ["Song 5"]
    r = filled(5, max_length=10)
    r.loop = LoopMode.QUEUE
    r.advance()
    r.skip_to(3)
    assert titles(r) == ["Song 5", "Song 1", "Song 2", "Song 3"]


def test_replay_needs_a_current_track() -> None:
    q = filled(1)
    with pytest.raises(NothingPlayingError, match=r"^Nothing is playing\.$"):
        q.replay()
    q.advance()
    assert q.replay() is q.current


def test_fair_mode_interleaves_and_refuses_hand_ordering() -> None:
    q = MusicQueue(fair=True)
    for n in range(3):
        q.add(make_track(f"a{n}"), 1)
    q.add(make_track("b0"), 2)
    q.add(make_track("b1"), 2)
    q.add(make_track("c0"), 3)
    assert titles(q) == ["Song a0", "Song b0", "Song c0", "Song a1", "Song b1", "Song a2"]
    with pytest.raises(FairOrderError, match="turn it off"):
        q.move(1, 2)
    q.advance()  # a0 plays; the next round puts requester 1 last
    q.add(make_track("c1"), 3)
    assert titles(q) == ["Song b0", "Song c0", "Song a1", "Song b1", "Song c1", "Song a2"]
    q.add(make_track("b-next"), 2, play_next=True)
    assert titles(q)[:4] == ["Song b-next", "Song c0", "Song a1", "Song b0"]


def test_fair_mode_gives_a_newcomer_the_next_turn_after_the_playing_requester() -> None:
    q = MusicQueue(fair=True)
    q.add(make_track("a0"), 1)
    q.advance()
    q.add(make_track("a1"), 1)
    q.add(make_track("b0"), 2)
    assert titles(q) == ["Song b0", "Song a1"]


def test_refusals_change_nothing() -> None:
    q = filled(3, max_length=3)
    before = (q.current, q.upcoming, q.history)
    ops: list[Callable[[], object]] = [lambda: q.add(make_track(9), 1), lambda: q.remove(9), q.previous]
    for op in ops:
        with pytest.raises(QueueError):
            op()
        assert (q.current, q.upcoming, q.history) == before


@pytest.mark.parametrize("loop", list(LoopMode))
@pytest.mark.parametrize("upcoming", [0, 1, 3])
def test_peek_next_is_what_advance_returns_in_every_loop_mode(loop: LoopMode, upcoming: int) -> None:
    queue = MusicQueue()
    for n in range(1 + upcoming):
        queue.add(make_track(n), 1)
    queue.advance()
    queue.loop = loop
    for _ in range(5):
        peeked = queue.peek_next()
        assert peeked == queue.advance()
