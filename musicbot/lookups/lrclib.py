"""``LrclibClient``: a track's lyrics from LRCLIB (https://lrclib.net), synced when it has them.

The lookup asks ``/api/get`` with the title, artist, album (when the source names one) and
duration, as LRCLIB matches best; when that finds nothing, ``/api/search`` by title and artist
and the closest duration wins. YouTube titles carry noise ("(Official Video)", "Artist - Title"
with the channel as artist), cleaned first (``LyricsQuery.for_track``).

Answers are cached: found lyrics for ``HIT_TTL_S``, "none" for ``MISS_TTL_S`` (a track without
lyrics is asked about again only after a while, not at every play), failures not at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from musicbot.config import LYRICS_API_DEFAULT
from musicbot.lookups.http import LOOKUP_TIMEOUT_S, ServiceClient
from musicbot.lookups.lrc import LyricLine, parse_lrc
from musicbot.sources.cache import AsyncTtlCache
from musicbot.track import Track

DEFAULT_LYRICS_API = LYRICS_API_DEFAULT
SERVICE_NAME = "The lyrics service (LRCLIB)"
HIT_TTL_S = 6 * 3600.0
MISS_TTL_S = 30 * 60.0
# LRCLIB's own /api/get matches durations within 2 s; a search result further off is another recording.
DURATION_TOLERANCE_S = 3.0

_NOISE = re.compile(
    r"\s*[(\[](?:official|lyrics?|audio|video|visuali[sz]er|hd|hq|4k|mv|m/v|explicit|clean|remaster(?:ed)?|"
    r"live|color coded)[^)\]]*[)\]]", re.IGNORECASE)
_CHANNEL_NOISE = re.compile(r"\s*(?:- topic|vevo|official)$", re.IGNORECASE)


@dataclass(frozen=True)
class Lyrics:
    """One track's lyrics as LRCLIB has them. ``synced`` is () when only plain text exists."""

    track_name: str
    artist_name: str
    plain: str
    synced: tuple[LyricLine, ...]
    instrumental: bool = False


@dataclass(frozen=True)
class LyricsQuery:
    title: str
    artist: str
    album: str | None
    duration_s: int | None

    @classmethod
    def for_track(cls, track: Track) -> LyricsQuery:
        """What to ask LRCLIB for ``track``: noise dropped from the title, "Artist - Title" split
        when the artist is only the uploading channel."""
        title = _NOISE.sub("", track.title).strip()
        artist = _CHANNEL_NOISE.sub("", track.artist).strip()
        if " - " in title and (not artist or track.source == "youtube"):
            left, right = (part.strip() for part in title.split(" - ", 1))
            if not artist or left.lower() == artist.lower() or track.album is None:
                artist, title = left, right
        duration = round(track.duration_s) if track.duration_s and not track.is_live else None
        return cls(title or track.title, artist, track.album, duration)


class LrclibClient:
    """Event loop. ``find`` raises ``ServiceDownError`` when LRCLIB cannot be reached."""

    def __init__(self, base_url: str = DEFAULT_LYRICS_API, *, timeout_s: float = LOOKUP_TIMEOUT_S) -> None:
        self.http = ServiceClient(SERVICE_NAME, base_url, timeout_s=timeout_s)
        self._cache: AsyncTtlCache[LyricsQuery, Lyrics | None] = AsyncTtlCache(
            HIT_TTL_S, maxsize=2048, ttl_for=lambda found: HIT_TTL_S if found is not None else MISS_TTL_S)

    async def find(self, track: Track) -> Lyrics | None:
        """``track``'s lyrics, or None when LRCLIB has none (or it is live)."""
        if track.is_live:
            return None
        query = LyricsQuery.for_track(track)
        return await self._cache.get(query, lambda: self._lookup(query))

    async def _lookup(self, query: LyricsQuery) -> Lyrics | None:
        params = {"track_name": query.title, "artist_name": query.artist}
        if query.album:
            params["album_name"] = query.album
        if query.duration_s is not None:
            params["duration"] = str(query.duration_s)
        if query.artist:
            record = await self.http.get_json("/api/get", params)
            if isinstance(record, dict) and _has_lyrics(record):
                return _lyrics(record)
        search = {"track_name": query.title}
        if query.artist:
            search["artist_name"] = query.artist
        found = await self.http.get_json("/api/search", search)
        best = _best(found if isinstance(found, list) else [], query.duration_s)
        return None if best is None else _lyrics(best)

    async def close(self) -> None:
        await self.http.close()


def _has_lyrics(record: dict[str, Any]) -> bool:
    return bool(record.get("syncedLyrics") or record.get("plainLyrics") or record.get("instrumental"))


def _best(records: list[Any], duration_s: int | None) -> dict[str, Any] | None:
    """The search result that is this recording: within the duration tolerance (when known),
    synced lyrics first, then the closest length."""
    candidates = [r for r in records if isinstance(r, dict) and _has_lyrics(r)]
    if duration_s is not None:
        candidates = [r for r in candidates if isinstance(r.get("duration"), int | float)
                      and abs(float(r["duration"]) - duration_s) <= DURATION_TOLERANCE_S]
    if not candidates:
        return None

    def rank(record: dict[str, Any]) -> tuple[bool, float]:
        distance = abs(float(record["duration"]) - duration_s) if duration_s is not None else 0.0
        return not record.get("syncedLyrics"), distance

    return min(candidates, key=rank)


def _lyrics(record: dict[str, Any]) -> Lyrics:
    synced = parse_lrc(str(record.get("syncedLyrics") or ""))
    plain = str(record.get("plainLyrics") or "") or "\n".join(line.text for line in synced)
    return Lyrics(track_name=str(record.get("trackName") or ""), artist_name=str(record.get("artistName") or ""),
                  plain=plain.strip(), synced=synced, instrumental=bool(record.get("instrumental")))
