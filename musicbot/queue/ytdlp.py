"""``YtDlpRecommender``: autoplay candidates from YouTube through yt-dlp.

similar → the video's YouTube mix (``watch?v=ID&list=RDID``), extracted flat;
artist → ``ytsearchN:<artist>``; genre → ``ytsearchN:<genre> music``.

yt-dlp is imported only inside the default extractor, so importing this module costs nothing
and tests can inject a fake ``extract_info``. Every extraction is blocking network I/O, so it
runs in a worker thread (``asyncio.to_thread``), never on the event loop.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from musicbot.track import Track

_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
# How many entries of a mix or search one call may return; a mix has about 25 to 50.
_MAX_RESULTS = 50


class ExtractInfo(Protocol):
    """The shape of ``yt_dlp.YoutubeDL.extract_info`` that the recommender uses."""

    def __call__(self, url: str, download: bool = ...) -> Mapping[str, Any] | None: ...


def _youtube_dl_extract(url: str, download: bool = False) -> Mapping[str, Any] | None:
    import yt_dlp

    options = {
        "quiet": True,
        "no_warnings": True,
        "skip_download": True,
        "extract_flat": "in_playlist",  # titles and ids only: one request, no per-video pages
        "playlistend": _MAX_RESULTS,
    }
    with yt_dlp.YoutubeDL(options) as ydl:
        info: Mapping[str, Any] | None = ydl.extract_info(url, download=download)
        return info


def youtube_video_id(track: Track) -> str | None:
    """The YouTube video id of a ``youtube:ID`` track, None for any other source."""
    source, _, video_id = track.id.partition(":")
    if source == "youtube" and _YOUTUBE_ID.match(video_id):
        return video_id
    return None


def mix_url(video_id: str) -> str:
    """The URL of a video's YouTube mix: a playlist of related tracks that starts with the video."""
    return f"https://www.youtube.com/watch?v={video_id}&list=RD{video_id}"


def _search_terms(text: str) -> str:
    # A search query is one line; newlines or a leading "ytsearch" in metadata must not change it.
    return " ".join(text.split())


def track_from_info(info: Mapping[str, Any]) -> Track | None:
    """Build a ``Track`` from one (flat) yt-dlp entry; None when it has no usable video id."""
    video_id = info.get("id")
    if not isinstance(video_id, str) or not _YOUTUBE_ID.match(video_id):
        return None
    duration = info.get("duration")
    thumbnail = info.get("thumbnail")
    thumbnails = info.get("thumbnails")
    if not isinstance(thumbnail, str) and isinstance(thumbnails, list) and thumbnails:
        last = thumbnails[-1]
        thumbnail = last.get("url") if isinstance(last, Mapping) else None
    artist = info.get("artist") or info.get("creator") or info.get("channel") or info.get("uploader") or ""
    tags = info.get("tags") if isinstance(info.get("tags"), list) else []
    genre = info.get("genre")
    is_live = info.get("live_status") == "is_live" or info.get("is_live") is True
    return Track(
        id=f"youtube:{video_id}",
        title=str(info.get("title") or video_id),
        artist=str(artist),
        duration_s=float(duration) if isinstance(duration, int | float) and not is_live else None,
        url=f"https://www.youtube.com/watch?v={video_id}",
        thumbnail_url=thumbnail if isinstance(thumbnail, str) else None,
        is_live=is_live,
        source="youtube",
        tags=tuple(str(t) for t in (tags or [])),
        genre=genre if isinstance(genre, str) else None,
    )


class YtDlpRecommender:
    """A ``Recommender`` backed by yt-dlp. ``extract_info`` is injectable for tests."""

    def __init__(self, extract_info: ExtractInfo | None = None) -> None:
        self._extract: ExtractInfo = extract_info or _youtube_dl_extract

    async def related(self, track: Track, limit: int) -> list[Track]:
        video_id = youtube_video_id(track)
        if video_id is None:
            # Not a YouTube track (Spotify, a file, ...): find its YouTube twin, then that one's mix.
            found = await self._entries(f"ytsearch1:{_search_terms(track.display_name)}")
            if not found:
                return []
            video_id = found[0].id.partition(":")[2]
        tracks = await self._entries(mix_url(video_id))
        # The mix starts with the seed video itself.
        return [t for t in tracks if t.id != f"youtube:{video_id}"][:limit]

    async def by_artist(self, artist: str, limit: int) -> list[Track]:
        terms = _search_terms(artist)
        if not terms:
            return []
        return await self._entries(f"ytsearch{_clamp(limit)}:{terms}")

    async def by_genre(self, genre_or_tags: Sequence[str], limit: int) -> list[Track]:
        terms = _search_terms(genre_or_tags[0]) if genre_or_tags else ""
        if not terms:
            return []
        return await self._entries(f"ytsearch{_clamp(limit)}:{terms} music")

    async def _entries(self, url: str) -> list[Track]:
        info = await asyncio.to_thread(self._extract, url, False)
        if not info:
            return []
        raw = info.get("entries")
        entries: list[Any] = list(raw) if raw is not None else [info]
        tracks = (track_from_info(e) for e in entries if isinstance(e, Mapping))
        return [t for t in tracks if t is not None]


def _clamp(limit: int) -> int:
    return max(1, min(limit, _MAX_RESULTS))
