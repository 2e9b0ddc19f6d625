"""Values the sources package hands out: what a query resolved to, and how to open a track's audio."""

from __future__ import annotations

import enum
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import parse_qs, urlsplit

from musicbot.track import Track

# YouTube's stream URLs say when they stop working, either as ?expire=<unix time> or /expire/<t>/.
_EXPIRE_PATH = re.compile(r"/expire/(\d{9,11})(?:/|$)")
# Re-resolve a little before the deadline: a track that starts now must not expire mid-song.
EXPIRY_MARGIN_S = 60.0


class ResolvedKind(enum.Enum):
    TRACK = "track"
    PLAYLIST = "playlist"
    SEARCH = "search"


@dataclass(frozen=True)
class Resolved:
    """What a query resolved to. ``tracks`` is never empty; for SEARCH it holds the candidates, best first."""

    kind: ResolvedKind
    tracks: tuple[Track, ...]
    playlist_title: str | None = None


def _frozen_headers() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class StreamInfo:
    """How to open a track's audio right now: a URL (or local path) plus the headers to send.

    ``expires_at`` is a Unix time, None when the URL does not expire.
    """

    url: str
    headers: Mapping[str, str] = field(default_factory=_frozen_headers)
    is_live: bool = False
    expires_at: float | None = None
    duration_s: float | None = None

    def expired(self, now: float | None = None, margin_s: float = EXPIRY_MARGIN_S) -> bool:
        """True when the URL has expired, or will within ``margin_s``."""
        if self.expires_at is None:
            return False
        return (time.time() if now is None else now) + margin_s >= self.expires_at


def url_expiry(url: str) -> float | None:
    """The Unix time a signed stream URL stops working, from its ``expire`` parameter; None if unsigned."""
    parts = urlsplit(url)
    values = parse_qs(parts.query).get("expire")
    if values and values[0].isdigit():
        return float(values[0])
    match = _EXPIRE_PATH.search(parts.path)
    return float(match.group(1)) if match else None
