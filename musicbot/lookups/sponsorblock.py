"""``SponsorBlockClient``: the segments of a YouTube video that its viewers marked (sponsor reads,
non-music parts of a music video, …), from SponsorBlock (https://sponsor.ajay.app).

Privacy: SponsorBlock is never told which video plays. The client asks for every video whose id
hashes (SHA-256, hex) to the same first four characters (``/api/skipSegments/{prefix}``) and keeps
the entries of its own video; a 404 means no video with that prefix has segments.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from musicbot.config import SPONSORBLOCK_API_DEFAULT
from musicbot.i18n import N_
from musicbot.lookups.http import LOOKUP_TIMEOUT_S, ServiceClient
from musicbot.sources.cache import AsyncTtlCache
from musicbot.track import Track

DEFAULT_SPONSORBLOCK_API = SPONSORBLOCK_API_DEFAULT
SERVICE_NAME = "SponsorBlock"
# SponsorBlock's categories whose segments can be skipped (its "chapter" and "poi_highlight" are not).
CATEGORIES: tuple[str, ...] = ("sponsor", "selfpromo", "interaction", "intro", "outro", "preview",
                               "music_offtopic", "filler")
DEFAULT_CATEGORIES: tuple[str, ...] = ("music_offtopic", "sponsor")
# As users read them (settings, the panel's "Skipped …").
CATEGORY_LABELS: dict[str, str] = {  # English; the panel translates them (musicbot.i18n)
    "sponsor": N_("sponsor read"), "selfpromo": N_("self-promotion"), "interaction": N_("like/subscribe reminder"),
    "intro": N_("intro"), "outro": N_("outro"), "preview": N_("preview"), "music_offtopic": N_("non-music part"),
    "filler": N_("filler"),
}
HASH_PREFIX_CHARS = 4
SEGMENTS_TTL_S = 3600.0  # new submissions appear within the hour; a long video is played again sooner
NONE_TTL_S = 600.0
_VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of the video to skip, in seconds of the video."""

    start_s: float
    end_s: float
    category: str

    @property
    def length_s(self) -> float:
        return self.end_s - self.start_s


def youtube_video_id(track: Track) -> str | None:
    """The YouTube video id of ``track`` (``youtube:<id>``), or None for anything else."""
    if track.source != "youtube" or not track.id.startswith("youtube:") or track.is_live:
        return None
    video_id = track.id.removeprefix("youtube:")
    return video_id if _VIDEO_ID.match(video_id) else None


def hash_prefix(video_id: str) -> str:
    return hashlib.sha256(video_id.encode()).hexdigest()[:HASH_PREFIX_CHARS]


class SponsorBlockClient:
    """Event loop. ``segments`` raises ``ServiceDownError`` when SponsorBlock cannot be reached."""

    def __init__(self, base_url: str = DEFAULT_SPONSORBLOCK_API, *, timeout_s: float = LOOKUP_TIMEOUT_S) -> None:
        self.http = ServiceClient(SERVICE_NAME, base_url, timeout_s=timeout_s)
        self._cache: AsyncTtlCache[tuple[str, tuple[str, ...]], tuple[Segment, ...]] = AsyncTtlCache(
            SEGMENTS_TTL_S, maxsize=4096, ttl_for=lambda found: SEGMENTS_TTL_S if found else NONE_TTL_S)

    async def segments(self, video_id: str, categories: tuple[str, ...]) -> tuple[Segment, ...]:
        """The segments of ``video_id`` in ``categories``, by start; () when it has none."""
        wanted = tuple(sorted(set(categories) & set(CATEGORIES)))
        if not wanted or not _VIDEO_ID.match(video_id):
            return ()
        return await self._cache.get((video_id, wanted), lambda: self._lookup(video_id, wanted))

    async def _lookup(self, video_id: str, categories: tuple[str, ...]) -> tuple[Segment, ...]:
        params = {"categories": json.dumps(list(categories), separators=(",", ":")),
                  "actionType": "skip"}
        answer = await self.http.get_json(f"/api/skipSegments/{hash_prefix(video_id)}", params)
        videos = answer if isinstance(answer, list) else []
        mine = next((v for v in videos if isinstance(v, dict) and v.get("videoID") == video_id), None)
        if mine is None:
            return ()
        found = [_segment(s, categories) for s in mine.get("segments") or () if isinstance(s, dict)]
        return tuple(sorted((s for s in found if s is not None), key=lambda s: s.start_s))

    async def close(self) -> None:
        await self.http.close()


def _segment(entry: dict[str, Any], categories: tuple[str, ...]) -> Segment | None:
    bounds = entry.get("segment")
    category = entry.get("category")
    if entry.get("actionType", "skip") != "skip" or category not in categories:
        return None
    if not (isinstance(bounds, list) and len(bounds) == 2 and all(isinstance(b, int | float) for b in bounds)):
        return None
    start, end = float(bounds[0]), float(bounds[1])
    return Segment(max(0.0, start), end, str(category)) if end > start else None
