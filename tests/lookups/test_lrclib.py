"""LrclibClient against the local fake of LRCLIB: lookup by title, artist, album and duration, the
search fallback, the cache (misses remembered), and a service that is down."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from musicbot.lookups import LrclibClient, LyricLine, ServiceDownError
from musicbot.lookups.lrclib import LyricsQuery
from musicbot.track import Track
from tests.harness.fake_lrclib import FakeLrclib, lrc


@pytest_asyncio.fixture
async def lrclib() -> AsyncIterator[FakeLrclib]:
    fake = await FakeLrclib().start()
    yield fake
    await fake.stop()


def track(title: str = "Song", artist: str = "Band", duration_s: float | None = 200.0, **kw: object) -> Track:
    return Track(id=f"local:{title}", title=title, artist=artist, duration_s=duration_s, url="/x", source="local",
                 **kw)  # type: ignore[arg-type]


async def test_found_by_title_artist_album_and_duration(lrclib: FakeLrclib) -> None:
    lrclib.add("Song", "Band", 201, synced=lrc((1.0, "one"), (2.5, "two")), plain="one\ntwo", album="LP")
    client = LrclibClient(lrclib.base_url)
    try:
        found = await client.find(track(album="LP"))
    finally:
        await client.close()
    assert found is not None and found.synced == (LyricLine(1.0, "one"), LyricLine(2.5, "two"))
    assert found.plain == "one\ntwo"
    (request,) = lrclib.requests
    assert request.path == "/api/get"
    assert request.query == {"track_name": "Song", "artist_name": "Band", "album_name": "LP", "duration": "200"}


async def test_search_fallback_picks_the_closest_duration_with_synced_lyrics(lrclib: FakeLrclib) -> None:
    lrclib.add("Song (Live at Home)", "Other", 260, plain="live words")
    lrclib.add("Song", "Band Feat. X", 199, synced=lrc((0.5, "right one")))
    lrclib.add("Song", "Band Feat. X", 205, plain="plain only, further off")
    client = LrclibClient(lrclib.base_url)
    try:
        found = await client.find(track())
    finally:
        await client.close()
    assert found is not None and found.synced[0].text == "right one"
    assert [r.path for r in lrclib.requests] == ["/api/get", "/api/search"]


async def test_a_miss_is_remembered_and_asked_again_after_a_while(lrclib: FakeLrclib) -> None:
    client = LrclibClient(lrclib.base_url)
    try:
        assert await client.find(track()) is None
        assert await client.find(track()) is None
        assert len(lrclib.requests) == 2  # get + search, once
    finally:
        await client.close()


async def test_youtube_title_noise_and_channel_artist_are_cleaned() -> None:
    yt = Track(id="youtube:abcdefghijk", title="Band - Song (Official Music Video) [4K]", artist="BandVEVO",
               duration_s=200.4, url="https://www.youtube.com/watch?v=abcdefghijk")
    assert LyricsQuery.for_track(yt) == LyricsQuery("Song", "Band", None, 200)
    topic = Track(id="youtube:abcdefghijl", title="Song", artist="Band - Topic", duration_s=10.0, url="u")
    assert LyricsQuery.for_track(topic) == LyricsQuery("Song", "Band", None, 10)


async def test_live_streams_are_not_looked_up(lrclib: FakeLrclib) -> None:
    client = LrclibClient(lrclib.base_url)
    try:
        assert await client.find(track(duration_s=None, is_live=True)) is None
    finally:
        await client.close()
    assert lrclib.requests == []


@pytest.mark.parametrize("mode", ["error", "stall", "refused"])
async def test_service_down_is_one_clear_error_within_the_timeout(lrclib: FakeLrclib, mode: str) -> None:
    if mode == "refused":
        await lrclib.stop()
    else:
        lrclib.mode = mode  # type: ignore[assignment]
    client = LrclibClient(lrclib.base_url, timeout_s=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(ServiceDownError) as caught:
            await client.find(track())
    finally:
        await client.close()
    assert str(caught.value) == "The lyrics service (LRCLIB) is not answering right now; try again in a minute."
    assert time.monotonic() - started < 30  # bounded by the timeout, not hung (generous for a busy machine)


async def test_failures_are_not_cached(lrclib: FakeLrclib) -> None:
    lrclib.add("Song", "Band", 200, plain="words")
    lrclib.mode = "error"
    client = LrclibClient(lrclib.base_url)
    try:
        with pytest.raises(ServiceDownError):
            await client.find(track())
        lrclib.mode = "up"
        found = await client.find(track())
    finally:
        await client.close()
    assert found is not None and found.plain == "words" and found.synced == ()
