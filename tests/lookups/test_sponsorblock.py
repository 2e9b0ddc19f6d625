"""SponsorBlockClient against the local fake: the hashed-prefix lookup (the video id never sent), only our
video's segments kept, categories, the cache, and a service that is down."""

from __future__ import annotations

import hashlib
import itertools
import string
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from musicbot.lookups import Segment, ServiceDownError, SponsorBlockClient, youtube_video_id
from musicbot.lookups.sponsorblock import hash_prefix
from musicbot.track import Track
from tests.harness.fake_sponsorblock import FakeSponsorBlock

VIDEO = "dQw4w9WgXcQ"


def neighbour_of(video_id: str) -> str:
    """Another 11-character id whose SHA-256 starts with the same four hex digits."""
    prefix = hash_prefix(video_id)
    for letters in itertools.product(string.ascii_letters, repeat=4):
        candidate = "zz" + "".join(letters) + "abcde"
        if candidate != video_id and hashlib.sha256(candidate.encode()).hexdigest().startswith(prefix):
            return candidate
    raise AssertionError("no neighbour found")


@pytest_asyncio.fixture
async def sponsorblock() -> AsyncIterator[FakeSponsorBlock]:
    fake = await FakeSponsorBlock().start()
    yield fake
    await fake.stop()


async def test_only_the_prefix_is_sent_and_only_our_video_is_kept(sponsorblock: FakeSponsorBlock) -> None:
    sponsorblock.add(VIDEO, 30.0, 45.5, "sponsor")
    sponsorblock.add(VIDEO, 10.0, 12.0, "music_offtopic")
    sponsorblock.add(VIDEO, 50.0, 60.0, "intro")  # not asked for
    sponsorblock.add(neighbour_of(VIDEO), 1.0, 2.0, "sponsor")
    client = SponsorBlockClient(sponsorblock.base_url)
    try:
        found = await client.segments(VIDEO, ("sponsor", "music_offtopic"))
    finally:
        await client.close()
    assert found == (Segment(10.0, 12.0, "music_offtopic"), Segment(30.0, 45.5, "sponsor"))
    (request,) = sponsorblock.requests
    assert request.path == f"/api/skipSegments/{hash_prefix(VIDEO)}" and len(hash_prefix(VIDEO)) == 4
    assert VIDEO not in request.path and VIDEO not in str(request.query)
    assert request.query["categories"] == '["music_offtopic","sponsor"]'


async def test_no_segments_is_an_empty_answer_and_cached(sponsorblock: FakeSponsorBlock) -> None:
    client = SponsorBlockClient(sponsorblock.base_url)
    try:
        assert await client.segments(VIDEO, ("sponsor",)) == ()
        assert await client.segments(VIDEO, ("sponsor",)) == ()
        assert await client.segments(VIDEO, ()) == ()  # nothing to ask for: no request
    finally:
        await client.close()
    assert len(sponsorblock.requests) == 1


@pytest.mark.parametrize("mode", ["error", "stall", "refused"])
async def test_service_down_raises_service_down(sponsorblock: FakeSponsorBlock, mode: str) -> None:
    if mode == "refused":
        await sponsorblock.stop()
    else:
        sponsorblock.mode = mode  # type: ignore[assignment]
    client = SponsorBlockClient(sponsorblock.base_url, timeout_s=0.5)
    try:
        with pytest.raises(ServiceDownError, match="SponsorBlock is not answering"):
            await client.segments(VIDEO, ("sponsor",))
    finally:
        await client.close()


def test_video_ids_only_for_youtube_tracks() -> None:
    yt = Track(id=f"youtube:{VIDEO}", title="t", artist="a", duration_s=1.0, url="u")
    assert youtube_video_id(yt) == VIDEO
    assert youtube_video_id(Track(id="soundcloud:1", title="t", artist="a", duration_s=1.0, url="u",
                                  source="soundcloud")) is None
    assert youtube_video_id(Track(id="youtube:short", title="t", artist="a", duration_s=1.0, url="u")) is None
    assert youtube_video_id(Track(id=f"youtube:{VIDEO}", title="t", artist="a", duration_s=None, url="u",
                                  is_live=True)) is None
