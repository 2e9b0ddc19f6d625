"""Lookups in outside services: synced lyrics (LRCLIB) and sponsor segments (SponsorBlock).

Each service is reached only through its base URL setting (``MUSICBOT_LYRICS_API``,
``MUSICBOT_SPONSORBLOCK_API``), with a timeout and a cache; a service that is down is a
``ServiceDownError`` in users' words, never a stack trace and never a stalled track. Event loop
only; no discord import (the session and the bot both use these).
"""

from __future__ import annotations

from musicbot.lookups.bundle import Lookups
from musicbot.lookups.http import LOOKUP_TIMEOUT_S, ServiceClient, ServiceDownError
from musicbot.lookups.lrc import LyricLine, line_index_at, parse_lrc
from musicbot.lookups.lrclib import LrclibClient, Lyrics
from musicbot.lookups.sponsorblock import (
    CATEGORIES,
    DEFAULT_CATEGORIES,
    Segment,
    SponsorBlockClient,
    youtube_video_id,
)

__all__ = [
    "CATEGORIES",
    "DEFAULT_CATEGORIES",
    "LOOKUP_TIMEOUT_S",
    "Lookups",
    "LrclibClient",
    "LyricLine",
    "Lyrics",
    "Segment",
    "ServiceClient",
    "ServiceDownError",
    "SponsorBlockClient",
    "line_index_at",
    "parse_lrc",
    "youtube_video_id",
]
