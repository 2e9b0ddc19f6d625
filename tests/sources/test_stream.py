"""Streaming from HTTP: continuous frames for every format, radio, and recovery from drops and expiry."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from musicbot.errors import MediaError
from musicbot.sources.decoder import Decoder
from musicbot.sources.guarded_http import GuardedHttp
from musicbot.sources.models import StreamInfo
from musicbot.sources.ssrf import UrlGuard
from musicbot.sources.stream import ResilientStream, StreamOpener
from musicbot.track import Track
from tests.sources.conftest import LONG_S, mono
from tests.sources.server import MediaServer
from tests.sources.timeline import collect, timeline

# Measured values are printed (pytest -s) for the report.

LOCAL_GUARD = UrlGuard(("127.0.0.1",))  # the test server is on 127.0.0.1: allowed as an admin would
LOCAL = GuardedHttp(LOCAL_GUARD)


def reference(media_dir: Path, name: str) -> np.ndarray:
    decoder = Decoder(str(media_dir / name)).start()
    try:
        return mono(collect(decoder)[1])
    finally:
        decoder.close()


def assert_contiguous(chunks: list) -> None:
    starts = [c.start_sample for c in chunks]
    assert starts == list(range(starts[0], starts[0] + 960 * len(starts), 960))


@pytest.mark.parametrize("name", ["music.webm", "music.mp3", "music.m4a", "music.wav"])
def test_each_format_streams_over_http_as_continuous_48k_stereo(server: MediaServer, media_dir: Path,
                                                                name: str) -> None:
    stream = ResilientStream(StreamInfo(server.url(f"/files/{name}")), http=LOCAL).start()
    chunks, pcm = collect(stream)
    stream.close()

    assert_contiguous(chunks)
    assert chunks[0].start_sample == 0
    assert pcm.shape[1] == 2 and pcm.dtype == np.float32
    assert abs(len(pcm) / 48000 - LONG_S) < 0.1
    line = timeline(reference(media_dir, name), mono(pcm))
    assert line.shifts == [0] * len(line.shifts)
    assert min(line.scores) > 0.99
    assert stream.reopens == 0


def test_endless_radio_decodes_continuously_and_closes(server: MediaServer) -> None:
    stream = ResilientStream(StreamInfo(server.url("/radio"), is_live=True), http=LOCAL).start()
    chunks, pcm = collect(stream, limit_chunks=250)  # 5 s: more than two loops of the 2 s clip
    stream.close()

    assert len(chunks) == 250
    assert_contiguous(chunks)
    body = pcm[4800:]
    assert np.sqrt(np.mean(body**2)) == pytest.approx(0.4 / np.sqrt(2), rel=0.15)  # no silent gaps at loop joins
    frame_rms = np.sqrt(np.mean(body.reshape(-1, 960, 2) ** 2, axis=(1, 2)))
    # the looped clip carries the MP3 encoder's priming and padding (< 2 frames) at each join
    assert np.count_nonzero(frame_rms < 0.1) <= 2 * 3


def test_connection_reset_mid_body_resumes_without_loss_or_repeat(server: MediaServer, media_dir: Path) -> None:
    stream = ResilientStream(StreamInfo(server.url("/reset/a/music.mp3")), http=LOCAL).start()
    chunks, pcm = collect(stream)
    stream.close()

    ranges = [r for p, r in server.log if p == "/reset/a/music.mp3"]
    assert len(ranges) >= 2 and ranges[1] not in (None, "bytes=0-")  # the drop happened; resumed by Range
    assert_contiguous(chunks)
    line = timeline(reference(media_dir, "music.mp3"), mono(pcm))
    assert not line.repeated
    assert 0 <= line.lost_samples <= 48000
    assert min(line.scores) > 0.9


@pytest.mark.parametrize("name", ["music.webm", "music.mp3"])
def test_expired_url_mid_track_is_resolved_again_and_resumes_in_place(server: MediaServer, media_dir: Path,
                                                                      name: str) -> None:
    calls: list[float] = []

    def reresolve() -> StreamInfo:
        calls.append(time.monotonic())
        return StreamInfo(server.url(f"/signed/fresh-{name}/{name}"))

    stream = ResilientStream(StreamInfo(server.url(f"/signed/cut-{name}/{name}")), reresolve=reresolve,
                             http=LOCAL).start()
    arrivals: list[float] = []
    chunks, pcm = collect(stream, arrivals=arrivals)
    stream.close()

    assert f"/signed/cut-{name}/{name}" in {p for p, _ in server.log}
    assert len(calls) == 1 and stream.reresolves == 1
    fresh = [r for p, r in server.log if p == f"/signed/fresh-{name}/{name}"]
    assert fresh  # the new URL was opened (and seeked: PyAV asks for a byte range)
    assert_contiguous(chunks)
    line = timeline(reference(media_dir, name), mono(pcm))
    assert not line.repeated
    assert 0 <= line.lost_samples <= 48000
    assert abs(len(pcm) - (len(reference(media_dir, name)) - line.lost_samples)) <= 960


def test_seek_lands_on_the_requested_position(server: MediaServer, media_dir: Path) -> None:
    stream = ResilientStream(StreamInfo(server.url("/files/music.mp3")), http=LOCAL).start()
    collect(stream, limit_chunks=10)
    stream.seek(5.0)
    chunks, pcm = collect(stream)
    stream.close()

    assert chunks[0].start_sample == 240000
    assert_contiguous(chunks)
    ref = reference(media_dir, "music.mp3")
    line = timeline(ref[240000:], mono(pcm))
    assert line.shifts and max(abs(s) for s in line.shifts) <= 48  # within 1 ms
    assert min(line.scores) > 0.9


def test_a_stream_that_keeps_failing_reports_an_error(server: MediaServer) -> None:
    stream = ResilientStream(StreamInfo(server.url("/signed/dead/none.mp3")), max_attempts=2, http=LOCAL).start()
    server.expired.add("dead")
    with pytest.raises(MediaError, match="403"):
        collect(stream, timeout=10)
    stream.close()


def test_read_nowait_never_blocks_while_reopening(server: MediaServer) -> None:
    def slow_reresolve() -> StreamInfo:
        time.sleep(0.3)
        return StreamInfo(server.url("/files/music.webm"))

    server.expired.add("gone")
    stream = ResilientStream(StreamInfo(server.url("/signed/gone/music.webm")), reresolve=slow_reresolve,
                             http=LOCAL).start()
    worst = 0.0
    got = None
    deadline = time.monotonic() + 10
    while got is None and time.monotonic() < deadline:
        began = time.perf_counter()
        got = stream.read_nowait()
        worst = max(worst, time.perf_counter() - began)
        time.sleep(0.005)
    stream.close()
    assert got is not None
    assert worst < 0.005


class FakeResolver:
    """``stream_info`` as the Resolver has it: the cached URL has expired; a fresh one works."""

    def __init__(self, server: MediaServer) -> None:
        self.server = server
        self.fresh_calls = 0
        self.guard = LOCAL_GUARD

    async def stream_info(self, track: Track, *, fresh: bool = False) -> StreamInfo:
        if fresh:
            self.fresh_calls += 1
            return StreamInfo(self.server.url(f"/signed/renewed-{self.fresh_calls}/music.webm"),
                              expires_at=time.time() + 3600)
        return StreamInfo(self.server.url("/signed/old/music.webm"), expires_at=time.time() - 10)


TRACK = Track(id="youtube:aaaaaaaaaaa", title="t", artist="a", duration_s=LONG_S, url="https://example/watch")


async def test_opener_resolves_an_expired_url_again_before_playing(server: MediaServer) -> None:
    resolver = FakeResolver(server)
    stream = await StreamOpener(resolver).open(TRACK, start_s=2.0)
    chunks, _ = await asyncio.to_thread(collect, stream)
    stream.close()

    assert resolver.fresh_calls == 1
    assert "/signed/old/music.webm" not in {p for p, _ in server.log}
    assert chunks[0].start_sample == 96000
    assert_contiguous(chunks)


async def test_opener_reresolves_on_the_event_loop_when_the_url_dies_mid_track(server: MediaServer) -> None:
    resolver = FakeResolver(server)
    info = StreamInfo(server.url("/signed/cut-opener/music.webm"))
    resolver.stream_info = _first_then(info, resolver.stream_info)  # type: ignore[method-assign]
    stream = await StreamOpener(resolver).open(replace(TRACK, id="youtube:bbbbbbbbbbb"))
    chunks, _ = await asyncio.to_thread(collect, stream)
    stream.close()

    assert resolver.fresh_calls == 1
    assert_contiguous(chunks)
    assert abs(len(chunks) * 0.02 - LONG_S) < 1.0


def _first_then(first: StreamInfo, then: object) -> object:
    async def stream_info(track: Track, *, fresh: bool = False) -> StreamInfo:
        if not fresh:
            return first
        return await then(track, fresh=True)  # type: ignore[operator,no-any-return]

    return stream_info


def test_an_hls_playlist_plays_with_its_segments_fetched_through_the_guard(server: MediaServer,
                                                                          media_dir: Path) -> None:
    """YouTube live streams are HLS: the playlist's (relative) segments are opened through the
    guarded client, resolved against the playlist's own URL."""
    (media_dir / "live.m3u8").write_text("#EXTM3U\n#EXT-X-TARGETDURATION:9\n#EXTINF:8.0,\nmusic.mp3\n#EXT-X-ENDLIST\n")
    stream = ResilientStream(StreamInfo(server.url("/files/live.m3u8")), http=LOCAL).start()
    chunks, _ = collect(stream)
    stream.close()

    assert [p for p, _ in server.log][:2] == ["/files/live.m3u8", "/files/music.mp3"]
    assert_contiguous(chunks)
    assert abs(len(chunks) * 0.02 - LONG_S) < 0.2
