"""The queue, loop modes, history cursor, vote skip and autoplay. Pure logic: no I/O, no discord.

The one exception is ``YtDlpRecommender``, which imports yt-dlp lazily inside its extractor.
"""

from __future__ import annotations

from musicbot.queue.autoplay import (
    MIXED_WEIGHTS,
    AutoplayEngine,
    AutoplayMode,
    Blocklist,
    autoplay_into,
    song_key,
)
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
from musicbot.queue.fair import fair_order, is_fair
from musicbot.queue.queue import MusicQueue
from musicbot.queue.recommender import OfflineRecommender, Recommender
from musicbot.queue.votes import SkipVotes, VoteOutcome, VoteResult, VoteTally, votes_required
from musicbot.queue.ytdlp import YtDlpRecommender
from musicbot.track import Track, format_duration

__all__ = [
    "MIXED_WEIGHTS",
    "AddResult",
    "AutoplayEngine",
    "AutoplayMode",
    "Blocklist",
    "DuplicateTrackError",
    "FairOrderError",
    "InvalidIndexError",
    "LoopMode",
    "MusicQueue",
    "NoPreviousTrackError",
    "NothingPlayingError",
    "OfflineRecommender",
    "QueueEntry",
    "QueueError",
    "QueueFullError",
    "QueueLimits",
    "Recommender",
    "Refusal",
    "SkipVotes",
    "Track",
    "TrackTooLongError",
    "VoteOutcome",
    "VoteResult",
    "VoteTally",
    "YtDlpRecommender",
    "autoplay_into",
    "fair_order",
    "format_duration",
    "is_fair",
    "song_key",
    "votes_required",
]
