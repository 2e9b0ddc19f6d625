"""Errors the queue raises; each message is shown to the user (in their language: ``musicbot.i18n``)."""

from __future__ import annotations

from musicbot.errors import MusicBotError
from musicbot.i18n import lazy
from musicbot.track import Track, format_duration


class QueueError(MusicBotError):
    """Base of every refusal by the queue."""


class InvalidIndexError(QueueError):
    """A 1-based position that is not in the queue. ``size`` is the number of upcoming tracks."""

    def __init__(self, index: int, size: int) -> None:
        self.index = index
        self.size = size
        if size == 0:
            message = lazy("There is no track {index}; the queue is empty.", index=index)
        elif size == 1:
            message = lazy("There is no track {index}; the queue has 1 track (1).", index=index)
        else:
            message = lazy("There is no track {index}; the queue has {size} tracks (1–{size}).", index=index,
                           size=size)
        super().__init__(message)


class QueueFullError(QueueError):
    """Adding would take the upcoming list past the guild's maximum length."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(lazy("The queue is full ({limit} tracks max on this server).", limit=limit))


class TrackTooLongError(QueueError):
    """The track is longer than the guild allows."""

    def __init__(self, track: Track, limit_s: float) -> None:
        self.track = track
        self.limit_s = limit_s
        length = format_duration(track.duration_s or 0.0)
        super().__init__(lazy("“{title}” is {length} long; tracks on this server can be at most {limit}.",
                              title=track.title, length=length, limit=format_duration(limit_s)))


class DuplicateTrackError(QueueError):
    """De-duplication is on and the track is already playing or queued."""

    def __init__(self, track: Track) -> None:
        self.track = track
        super().__init__(lazy("“{title}” is already in the queue.", title=track.title))


class NothingPlayingError(QueueError):
    """An operation needs a current track and there is none."""

    def __init__(self) -> None:
        super().__init__(lazy("Nothing is playing."))


class NoPreviousTrackError(QueueError):
    """``previous`` was asked for with an empty history."""

    def __init__(self) -> None:
        super().__init__(lazy("There is no previous track."))


class FairOrderError(QueueError):
    """Fair mode decides the order of the queue, so hand-ordering is refused while it is on."""

    def __init__(self) -> None:
        super().__init__(lazy("Fair mode decides the order of the queue; turn it off to move tracks."))
