"""Direct HTTP audio files show their length; only endless streams are live (a local HTTP server).

The files are longer than the part of the body the probe reads (``HEAD_BYTES``), as real ones are."""

from __future__ import annotations

from pathlib import Path

import pytest

from musicbot.sources.http import HttpBackend
from musicbot.sources.http_length import HEAD_BYTES, content_length
from musicbot.sources.ssrf import UrlGuard
from tests.media import music_like, write_audio
from tests.sources.server import MediaServer

LOCAL_ONLY = UrlGuard(("127.0.0.1",))
SECONDS = 40.0


@pytest.mark.parametrize(("suffix", "tolerance_s"), [
    (".mp3", 0.1), (".wav", 0.1), (".flac", 0.1), (".webm", 0.1),
    (".ogg", 0.02 * SECONDS),  # Ogg declares no length up front: size over the byte rate measured
])
async def test_a_file_shows_its_length_and_is_not_live(
    server: MediaServer, media_dir: Path, suffix: str, tolerance_s: float
) -> None:
    rate = 44100 if suffix == ".mp3" else 48000
    path = write_audio(media_dir / f"length{suffix}", music_like(SECONDS, rate=rate), rate=rate)
    assert path.stat().st_size > HEAD_BYTES
    track = await HttpBackend(LOCAL_ONLY).probe(server.url(f"/files/length{suffix}"))
    assert track is not None
    assert not track.is_live
    assert track.duration_s == pytest.approx(SECONDS, abs=tolerance_s)
    assert [path for path, _ in server.log].count(f"/files/length{suffix}") == 1  # no request of its own


async def test_an_endless_radio_stream_stays_live(server: MediaServer) -> None:
    track = await HttpBackend(LOCAL_ONLY).probe(server.url("/radio"))
    assert track is not None and track.is_live and track.duration_s is None


def test_the_size_comes_from_the_total_of_a_range_or_content_length() -> None:
    assert content_length({"Content-Length": "1234"}) == 1234
    assert content_length({"Content-Range": "bytes 0-99/5000", "Content-Length": "100"}) == 5000
    assert content_length({"Content-Range": "bytes 0-99/*"}) is None
    assert content_length({}) is None
