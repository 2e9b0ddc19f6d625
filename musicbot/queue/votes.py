"""Vote skip: a tally per playing entry against the people listening in the voice channel."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from musicbot.i18n import tr
from musicbot.queue.entry import QueueEntry

DEFAULT_SKIP_RATIO = 0.5


class VoteOutcome(Enum):
    """Why a vote did or did not skip."""

    SKIPPED_BY_REQUESTER = "requester"
    SKIPPED_BY_DJ = "dj"
    SKIPPED_BY_VOTES = "votes"
    COUNTED = "counted"
    ALREADY_VOTED = "already_voted"
    NOT_LISTENING = "not_listening"


@dataclass(frozen=True)
class VoteResult:
    """The state of the tally after one vote. ``votes`` counts only voters still listening."""

    outcome: VoteOutcome
    votes: int
    required: int

    @property
    def skipped(self) -> bool:
        return self.outcome in (
            VoteOutcome.SKIPPED_BY_REQUESTER,
            VoteOutcome.SKIPPED_BY_DJ,
            VoteOutcome.SKIPPED_BY_VOTES,
        )

    @property
    def message(self) -> str:
        """A short reply for the voter (in the current locale)."""
        if self.outcome is VoteOutcome.SKIPPED_BY_REQUESTER:
            return tr("Skipped (you requested it).")
        if self.outcome is VoteOutcome.SKIPPED_BY_DJ:
            return tr("Skipped.")
        if self.outcome is VoteOutcome.SKIPPED_BY_VOTES:
            return tr("Skipped: {votes} of {required} votes.", votes=self.votes, required=self.required)
        if self.outcome is VoteOutcome.NOT_LISTENING:
            return tr("Join the voice channel to vote.")
        if self.outcome is VoteOutcome.ALREADY_VOTED:
            return tr("You already voted: {votes} of {required} votes needed to skip.", votes=self.votes,
                     required=self.required)
        return tr("Vote counted: {votes} of {required} votes needed to skip.", votes=self.votes,
                 required=self.required)


def votes_required(listener_count: int, ratio: float) -> int:
    """``ceil(ratio × listeners)``, at least 1. ``listener_count`` excludes the bot (and other bots)."""
    # The small epsilon keeps 0.5 × 4 at 2 when the ratio arrives as 0.5000000001 from a setting.
    return max(1, math.ceil(ratio * listener_count - 1e-9))


class VoteTally:
    """Skip votes for one playing entry. Make a new tally (or use ``SkipVotes``) for each new track.

    ``listeners`` passed to each call is the set of user ids in the bot's voice channel now,
    excluding the bot and other bots; a vote from someone who has since left stops counting.
    """

    def __init__(self, entry: QueueEntry, ratio: float = DEFAULT_SKIP_RATIO) -> None:
        if not 0.0 < ratio <= 1.0:
            raise ValueError(f"ratio must be in (0, 1], got {ratio}")
        self.entry = entry
        self.ratio = ratio
        self._voters: set[int] = set()

    def vote(self, user_id: int, listeners: set[int], is_dj: bool = False) -> VoteResult:
        """Record ``user_id``'s vote and say whether the track should now be skipped."""
        required = votes_required(len(listeners), self.ratio)
        if is_dj:
            return VoteResult(VoteOutcome.SKIPPED_BY_DJ, self._count(listeners), required)
        if user_id == self.entry.requester_id:
            return VoteResult(VoteOutcome.SKIPPED_BY_REQUESTER, self._count(listeners), required)
        if user_id not in listeners:
            return VoteResult(VoteOutcome.NOT_LISTENING, self._count(listeners), required)
        already = user_id in self._voters
        self._voters.add(user_id)
        return self._result(listeners, VoteOutcome.ALREADY_VOTED if already else VoteOutcome.COUNTED)

    def status(self, listeners: set[int]) -> VoteResult:
        """Re-check without voting, e.g. after someone left: fewer listeners may mean enough votes."""
        return self._result(listeners, VoteOutcome.COUNTED)

    def _count(self, listeners: set[int]) -> int:
        return len(self._voters & listeners)

    def _result(self, listeners: set[int], otherwise: VoteOutcome) -> VoteResult:
        votes, required = self._count(listeners), votes_required(len(listeners), self.ratio)
        outcome = VoteOutcome.SKIPPED_BY_VOTES if votes >= required and votes > 0 else otherwise
        return VoteResult(outcome, votes, required)


class SkipVotes:
    """Holds the tally for whatever is playing and starts a fresh one when the entry changes."""

    def __init__(self, ratio: float = DEFAULT_SKIP_RATIO) -> None:
        self.ratio = ratio
        self._tally: VoteTally | None = None

    def tally_for(self, entry: QueueEntry) -> VoteTally:
        """The tally for ``entry``; votes for an earlier entry (or an earlier ratio) are dropped."""
        tally = self._tally
        if tally is None or tally.entry.entry_id != entry.entry_id or tally.ratio != self.ratio:
            tally = self._tally = VoteTally(entry, self.ratio)
        return tally

    def reset(self) -> None:
        """Forget all votes, e.g. when the same entry starts again (replay, loop TRACK)."""
        self._tally = None

    def vote(self, entry: QueueEntry, user_id: int, listeners: set[int], is_dj: bool = False) -> VoteResult:
        """Vote against ``entry`` (the one playing); see ``VoteTally.vote``."""
        return self.tally_for(entry).vote(user_id, listeners, is_dj)
