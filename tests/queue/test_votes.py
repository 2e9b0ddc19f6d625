"""Vote skip: thresholds, requester and DJ, leavers, and reset on a new track."""

from __future__ import annotations

import pytest

from musicbot.queue import QueueEntry, SkipVotes, VoteOutcome, VoteTally, votes_required
from tests.queue.factories import make_track

REQUESTER = 1


def entry(entry_id: int = 1) -> QueueEntry:
    return QueueEntry(entry_id, make_track(entry_id), REQUESTER, 0.0)


@pytest.mark.parametrize(
    ("listeners", "ratio", "required"),
    [(1, 0.5, 1), (2, 0.5, 1), (3, 0.5, 2), (4, 0.5, 2), (5, 0.5, 3), (10, 0.3, 3), (7, 1.0, 7), (0, 0.5, 1)],
)
def test_votes_required_is_ceil_of_ratio(listeners: int, ratio: float, required: int) -> None:
    assert votes_required(listeners, ratio) == required


def test_votes_accumulate_until_the_threshold() -> None:
    tally = VoteTally(entry(), ratio=0.5)
    room = {1, 2, 3, 4, 5}
    first = tally.vote(2, room)
    assert (first.outcome, first.votes, first.required, first.skipped) == (VoteOutcome.COUNTED, 1, 3, False)
    assert first.message == "Vote counted: 1 of 3 votes needed to skip."
    again = tally.vote(2, room)
    assert again.outcome is VoteOutcome.ALREADY_VOTED and again.votes == 1
    assert tally.vote(3, room).votes == 2
    done = tally.vote(4, room)
    assert done.skipped and done.outcome is VoteOutcome.SKIPPED_BY_VOTES
    assert done.message == "Skipped: 3 of 3 votes."


def test_requester_and_dj_skip_at_once() -> None:
    room = {1, 2, 3, 4, 5, 6}
    assert VoteTally(entry()).vote(REQUESTER, room).outcome is VoteOutcome.SKIPPED_BY_REQUESTER
    assert VoteTally(entry()).vote(5, room, is_dj=True).outcome is VoteOutcome.SKIPPED_BY_DJ


def test_votes_of_people_who_left_do_not_count_and_leaving_can_complete_a_vote() -> None:
    tally = VoteTally(entry(), ratio=0.5)
    room = {2, 3, 4, 5, 6}
    tally.vote(2, room)
    tally.vote(3, room)
    assert tally.status(room).votes == 2 and not tally.status(room).skipped
    room -= {2}
    assert tally.vote(4, room).votes == 2  # 2 left: their vote is gone, 2 of 2 needed now
    assert tally.status(room).skipped
    assert tally.status({5, 6, 7, 8}).votes == 0
    assert tally.vote(99, room).outcome is VoteOutcome.NOT_LISTENING


def test_alone_with_the_bot_a_vote_skips() -> None:
    assert VoteTally(entry()).vote(2, {2}).skipped


def test_skip_votes_reset_on_a_new_entry() -> None:
    votes = SkipVotes(ratio=0.5)
    room = {2, 3, 4, 5}
    assert votes.vote(entry(1), 2, room).votes == 1
    assert votes.vote(entry(1), 3, room).skipped
    assert votes.vote(entry(2), 3, room).votes == 1  # new track, new tally
    votes.reset()
    assert votes.tally_for(entry(2)).status(room).votes == 0


def test_ratio_is_validated() -> None:
    with pytest.raises(ValueError):
        VoteTally(entry(), ratio=0.0)
