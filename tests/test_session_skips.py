"""SkipPlan: SponsorBlock segments as the skips of one track, and the users' clock they make."""

from __future__ import annotations

import pytest

from musicbot.lookups import Segment
from musicbot.session_skips import SkipPlan


def test_segments_close_together_are_one_skip_and_tiny_ones_none() -> None:
    plan = SkipPlan.of([Segment(30, 40, "sponsor"), Segment(10, 20, "intro"), Segment(20.5, 25, "sponsor"),
                        Segment(50, 50.1, "filler")], 200.0)
    assert plan.segments == (Segment(10, 25, "intro"), Segment(30, 40, "sponsor")) and plan.cut_at_s is None


@pytest.mark.parametrize(("end", "crossfade", "cut"), [(199.5, 0.0, 180.0), (195.0, 0.0, None), (195.0, 6.0, 180.0)])
def test_a_segment_at_the_end_ends_the_track_at_its_start(end: float, crossfade: float, cut: float | None) -> None:
    plan = SkipPlan.of([Segment(180, end, "outro")], 200.0, crossfade_s=crossfade)
    assert plan.cut_at_s == cut
    if cut is not None:
        assert plan.segments[-1] == Segment(180, 200.0, "outro")  # nothing after it is counted as heard
        assert plan.heard_length_s(200.0) == 180.0


def test_the_users_clock_does_not_count_skipped_stretches() -> None:
    plan = SkipPlan.of([Segment(10, 20, "sponsor"), Segment(60, 90, "music_offtopic")], 200.0)
    assert [plan.heard_s(t) for t in (5, 10, 15, 20, 50, 75, 100)] == [5, 10, 10, 10, 40, 50, 60]
    assert [plan.source_s(h) for h in (5, 10, 40, 50, 60)] == [5, 20, 50, 90, 100]
    assert all(plan.heard_s(plan.source_s(h)) == pytest.approx(h) for h in (0, 9.9, 10, 33, 50, 120, 140))
    assert plan.heard_length_s(200.0) == 160.0


def test_the_next_segment_is_the_one_inside_or_after_the_position() -> None:
    plan = SkipPlan.of([Segment(10, 20, "sponsor"), Segment(60, 90, "sponsor")], 200.0)
    assert plan.next_after(0) == Segment(10, 20, "sponsor")
    assert plan.next_after(15) == Segment(10, 20, "sponsor")  # inside it: skip the rest now
    assert plan.next_after(19.5) == Segment(60, 90, "sponsor")  # almost over: not worth a splice
    assert plan.next_after(95) is None
