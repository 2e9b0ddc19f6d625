"""``YtDlpRecommender`` offline: the queries it builds and how it reads results, via a fake extractor."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from typing import Any

from musicbot.queue import Track, YtDlpRecommender
from musicbot.queue.ytdlp import mix_url, track_from_info, youtube_video_id
from tests.queue.factories import make_track


class FakeExtractor:
    """Records every URL asked for and answers with a canned flat playlist."""

    def __init__(self, entries: list[dict[str, Any]] | None = None) -> None:
        self.urls: list[str] = []
        self.downloads: list[bool] = []
        self.entries = entries if entries is not None else [_entry(f"vid{n:08d}") for n in range(5)]

    def __call__(self, url: str, download: bool = True) -> Mapping[str, Any] | None:
        self.urls.append(url)
        self.downloads.append(download)
        return {"_type": "playlist", "entries": list(self.entries)}


def _entry(video_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": video_id, "title": f"Title {video_id}", "channel": "Chan", "duration": 200, **extra}


def seed(video_id: str = "dQw4w9WgXcQ") -> Track:
    return make_track(f"youtube:{video_id}", artist="Rick Astley", title="Never Gonna Give You Up")


async def test_related_extracts_the_mix_flat_and_drops_the_seed() -> None:
    fake = FakeExtractor([_entry("dQw4w9WgXcQ"), *(_entry(f"vid{n:08d}") for n in range(4))])
    tracks = await YtDlpRecommender(fake).related(seed(), limit=3)
    assert fake.urls == ["https://www.youtube.com/watch?v=dQw4w9WgXcQ&list=RDdQw4w9WgXcQ"]
    assert fake.downloads == [False]
    assert [t.id for t in tracks] == ["youtube:vid00000000", "youtube:vid00000001", "youtube:vid00000002"]


async def test_related_of_a_non_youtube_track_finds_its_youtube_twin_first() -> None:
    fake = FakeExtractor([_entry("abcdefghijk")])
    spotify = make_track(
        "spotify:4uLU6hMCjMI75M1A2tKUQC", artist="Rick Astley", title="Never Gonna", source="spotify"
    )
    await YtDlpRecommender(fake).related(spotify, limit=5)
    assert fake.urls == ["ytsearch1:Rick Astley - Never Gonna", mix_url("abcdefghijk")]


async def test_artist_and_genre_searches() -> None:
    fake = FakeExtractor()
    rec = YtDlpRecommender(fake)
    await rec.by_artist("Daft  Punk\n", limit=10)
    await rec.by_genre(("synthwave", "retro"), limit=500)
    assert await rec.by_genre((), limit=5) == []
    assert await rec.by_artist("  ", limit=5) == []
    assert fake.urls == ["ytsearch10:Daft Punk", "ytsearch50:synthwave music"]


def test_track_from_flat_entry() -> None:
    track = track_from_info(
        _entry(
            "dQw4w9WgXcQ", thumbnails=[{"url": "small"}, {"url": "big"}], tags=["pop"], live_status="not_live"
        )
    )
    assert track is not None
    assert (track.id, track.artist, track.duration_s, track.thumbnail_url, track.tags, track.is_live) == (
        "youtube:dQw4w9WgXcQ", "Chan", 200.0, "big", ("pop",), False
    )
    assert track.url == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    live = track_from_info(_entry("abcdefghijk", live_status="is_live"))
    assert live is not None and live.is_live and live.duration_s is None
    assert track_from_info({"id": "not a video id"}) is None
    assert youtube_video_id(make_track("http:x")) is None


async def test_empty_answer_gives_no_tracks() -> None:
    def nothing(url: str, download: bool = True) -> Mapping[str, Any] | None:
        return None

    assert await YtDlpRecommender(nothing).by_artist("x", 5) == []


def test_the_queue_package_imports_no_io_libraries() -> None:
    code = (
        "import sys, musicbot.queue\n"
        "bad = [m for m in ('yt_dlp', 'discord', 'sqlalchemy', 'aiosqlite', 'av') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
