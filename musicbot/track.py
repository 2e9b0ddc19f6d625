"""Track metadata: what is known about a playable item before any audio is opened.

``musicbot.sources`` produces these; the queue, the player and storage read them. It lives at the
top of the package because every layer shares it and none of them owns it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Track:
    """What is known about a playable item before any audio is opened.

    ``id`` is stable across sessions and names the source, e.g. ``"youtube:dQw4w9WgXcQ"``;
    de-duplication and autoplay's history check compare it. ``duration_s`` is in seconds and
    is None for live streams (and anything else whose length is unknown).
    """

    id: str
    title: str
    artist: str
    duration_s: float | None
    url: str
    thumbnail_url: str | None = None
    is_live: bool = False
    source: str = "youtube"
    tags: tuple[str, ...] = ()
    genre: str | None = None
    isrc: str | None = None
    album: str | None = None  # when the source names one (YouTube Music, Spotify): lyrics are looked up by it

    def __post_init__(self) -> None:
        # A negative or NaN length is a bug in whichever source built the track, not a user error.
        if self.duration_s is not None and not (math.isfinite(self.duration_s) and self.duration_s >= 0):
            raise ValueError(f"duration_s must be a finite number ≥ 0 or None, got {self.duration_s!r}")

    @property
    def display_name(self) -> str:
        """``"artist - title"``, or just the title when the artist is unknown."""
        return f"{self.artist} - {self.title}" if self.artist else self.title


def format_duration(seconds: float) -> str:
    """Format a length the way users read it: ``m:ss`` under an hour, ``h:mm:ss`` from one hour on."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"
