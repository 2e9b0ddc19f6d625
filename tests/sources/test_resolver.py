"""The resolver's dispatch, caches and in-flight sharing, the music folder, and play-time resolution."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from musicbot.sources.cache import AsyncTtlCache
from musicbot.sources.errors import (
    BlockedUrlError,
    LocalPathError,
    NotFoundError,
    SourceDisabledError,
    UnsupportedError,
)
from musicbot.sources.local import LocalLibrary
from musicbot.sources.models import Resolved, ResolvedKind, StreamInfo, url_expiry
from musicbot.sources.resolver import Resolver
from musicbot.sources.spotify import SpotifyBackend, StaticToken
from musicbot.sources.ssrf import UrlGuard
from musicbot.sources.stream import StreamOpener
from musicbot.sources.ytdlp import YtDlpBackend
from musicbot.track import Track
from tests.sources.server import SPOTIFY_TRACK, MediaServer
from tests.sources.timeline import collect

LOCAL_ONLY = UrlGuard(("127.0.0.1",))


def yt(video_id: str, seconds: float = 213.0) -> Track:
    return Track(id=f"youtube:{video_id}", title=f"song {video_id}", artist="Rick Astley - Topic",
                 duration_s=seconds, url=f"https://www.youtube.com/watch?v={video_id}")


class FakeYtDlp:
    """Stands in for ``YtDlpBackend``: counts calls, answers after a short delay."""

    def __init__(self) -> None:
        self.searches: list[str] = []
        self.resolves: list[str] = []
        self.streams: list[str] = []

    async def search(self, query: str, limit: int = 5) -> list[Track]:
        self.searches.append(query)
        await asyncio.sleep(0.05)
        return [yt("aaaaaaaaaaa"), yt("bbbbbbbbbbb")][:limit] if "nothing" not in query else []

    async def resolve(self, url: str) -> Resolved:
        self.resolves.append(url)
        await asyncio.sleep(0.05)
        return Resolved(ResolvedKind.TRACK, (yt("ccccccccccc"),))

    async def stream_info(self, track: Track) -> StreamInfo:
        self.streams.append(track.id)
        url = f"https://rr1.googlevideo.example/videoplayback?expire=4102444800&id={track.id}"
        return StreamInfo(url, expires_at=url_expiry(url))


def resolver(fake: FakeYtDlp, **kwargs: object) -> Resolver:
    return Resolver(ytdlp=fake, guard=UrlGuard(resolve_host=lambda h: ["93.184.216.34"]), **kwargs)  # type: ignore[arg-type]


async def test_words_are_searched_and_identical_concurrent_searches_share_one_request() -> None:
    fake = FakeYtDlp()
    res = resolver(fake)
    results = await asyncio.gather(*(res.resolve("never gonna  give you up") for _ in range(5)))
    assert all(r.kind is ResolvedKind.SEARCH and r.tracks[0].id == "youtube:aaaaaaaaaaa" for r in results)
    assert fake.searches == ["never gonna  give you up"]
    await res.resolve("Never Gonna Give You Up")  # cached (5 min), case and spaces do not matter
    assert len(fake.searches) == 1
    with pytest.raises(NotFoundError, match="nothing here"):
        await res.resolve("nothing here")


async def test_links_are_cached_and_share_one_request_in_flight() -> None:
    fake = FakeYtDlp()
    res = resolver(fake)
    url = "https://www.youtube.com/watch?v=ccccccccccc"
    first, second = await asyncio.gather(res.resolve(url), res.resolve(url))
    assert first == second and fake.resolves == [url]
    await res.resolve(url)
    assert fake.resolves == [url]


async def test_cache_expires_and_failures_are_not_cached() -> None:
    now = [0.0]
    cache: AsyncTtlCache[str, int] = AsyncTtlCache(300, timer=lambda: now[0])
    calls = 0

    async def fetch() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("flaky")
        return calls

    with pytest.raises(RuntimeError):
        await cache.get("k", fetch)
    assert await cache.get("k", fetch) == 2
    now[0] = 299.0
    assert await cache.get("k", fetch) == 2
    now[0] = 301.0
    assert await cache.get("k", fetch) == 3


async def test_unsupported_and_disabled_sources_say_so() -> None:
    res = resolver(FakeYtDlp())
    with pytest.raises(UnsupportedError):
        await res.resolve("ftp://example.com/song.mp3")
    with pytest.raises(SourceDisabledError, match="Spotify"):
        await res.resolve(f"https://open.spotify.com/track/{SPOTIFY_TRACK}")
    with pytest.raises(SourceDisabledError, match="music folder"):
        await res.resolve("local:song.mp3")
    with pytest.raises(BlockedUrlError):
        await Resolver(ytdlp=FakeYtDlp(), guard=UrlGuard()).resolve("http://10.0.0.1/radio")  # type: ignore[arg-type]


async def test_stream_info_is_cached_until_it_expires() -> None:
    fake = FakeYtDlp()
    res = resolver(fake)
    track = yt("ddddddddddd")
    info = await res.stream_info(track)
    assert info.expires_at == 4102444800.0
    await res.stream_info(track)
    assert fake.streams == [track.id]
    await res.stream_info(track, fresh=True)
    assert fake.streams == [track.id, track.id]


def test_expiry_is_read_from_signed_urls() -> None:
    assert url_expiry("https://x.googlevideo.com/videoplayback?expire=1767225600&ei=abc") == 1767225600.0
    assert url_expiry("https://manifest.googlevideo.com/api/manifest/hls_playlist/expire/1767225600/ei/x") \
        == 1767225600.0
    assert url_expiry("https://example.com/a.mp3") is None
    assert StreamInfo("u", expires_at=1000.0).expired(now=950.0)  # within the 60 s margin
    assert not StreamInfo("u", expires_at=1000.0).expired(now=900.0)


async def test_spotify_tracks_resolve_to_youtube_only_when_played(server: MediaServer) -> None:
    fake = FakeYtDlp()
    spotify = SpotifyBackend(auth_manager=StaticToken("test-token"), api_base=server.url("/v1"),
                             search=fake.search, retries=0)
    res = resolver(fake, spotify=spotify)
    resolved = await res.resolve(f"https://open.spotify.com/track/{SPOTIFY_TRACK}")
    assert resolved.kind is ResolvedKind.TRACK and fake.searches == []  # nothing looked up on YouTube yet
    info = await res.stream_info(resolved.tracks[0])
    assert fake.searches == ['"GBARL9300135"'] and fake.streams == ["youtube:aaaaaaaaaaa"]
    assert "youtube:aaaaaaaaaaa" in info.url


# ---------------------------------------------------------------------- local music folder
@pytest.fixture
def library(tmp_path: Path) -> LocalLibrary:
    root = tmp_path / "music"
    (root / "Band").mkdir(parents=True)
    (root / "Band" / "First Song.mp3").write_bytes(b"x")
    (root / "Other.flac").write_bytes(b"x")
    (tmp_path / "secret.mp3").write_bytes(b"x")
    os.symlink(tmp_path / "secret.mp3", root / "escape.mp3")
    os.symlink(root / "Other.flac", root / "inside-link.flac")
    return LocalLibrary(root)


async def test_local_files_are_found_by_path_and_name(library: LocalLibrary) -> None:
    res = resolver(FakeYtDlp(), local=library)
    by_path = await res.resolve("local:Band/First Song.mp3")
    assert by_path.kind is ResolvedKind.TRACK
    assert (by_path.tracks[0].id, by_path.tracks[0].title, by_path.tracks[0].artist) == (
        "local:Band/First Song.mp3", "First Song", "Band")
    by_name = await res.resolve("local:first song")
    assert [t.id for t in by_name.tracks] == ["local:Band/First Song.mp3"]
    info = await res.stream_info(by_path.tracks[0])
    assert info.url == str(library.root / "Band" / "First Song.mp3")
    assert (await res.resolve("local:inside-link.flac")).tracks[0].id == "local:Other.flac"


@pytest.mark.parametrize("query", ["local:../secret.mp3", "local:Band/../../secret.mp3", "local:escape.mp3",
                                   "file:///etc/passwd", "local:/etc/passwd"])
async def test_nothing_outside_the_music_folder_can_be_reached(library: LocalLibrary, query: str) -> None:
    with pytest.raises(LocalPathError):
        await resolver(FakeYtDlp(), local=library).resolve(query)


async def test_a_search_never_lists_symlinks_leading_outside(library: LocalLibrary) -> None:
    assert [t.id for t in library.search_blocking("mp3")] == ["local:Band/First Song.mp3"]


# ---------------------------------------------------------------------- end to end on 127.0.0.1
@pytest.fixture(scope="module")
def real_ytdlp() -> YtDlpBackend:
    return YtDlpBackend(guard=LOCAL_ONLY)


async def test_direct_audio_and_radio_resolve_without_ytdlp(server: MediaServer, real_ytdlp: YtDlpBackend) -> None:
    res = Resolver(ytdlp=real_ytdlp, guard=LOCAL_ONLY)
    file_track = (await res.resolve(server.url("/files/music.mp3"))).tracks[0]
    assert (file_track.source, file_track.title, file_track.is_live) == ("http", "music", False)
    radio = (await res.resolve(server.url("/radio"))).tracks[0]
    assert (radio.source, radio.title, radio.is_live, radio.genre, radio.duration_s) == (
        "radio", "Test FM", True, "Test", None)

    stream = await StreamOpener(res).open(radio)
    chunks, _ = await asyncio.to_thread(collect, stream, limit_chunks=50)
    stream.close()
    assert len(chunks) == 50


async def test_a_web_page_goes_to_ytdlp_which_reports_it_unsupported(server: MediaServer,
                                                                    real_ytdlp: YtDlpBackend) -> None:
    with pytest.raises(UnsupportedError):
        await Resolver(ytdlp=real_ytdlp, guard=LOCAL_ONLY).resolve(server.url("/page"))


async def test_a_playlist_link_resolves_flat_through_ytdlp(server: MediaServer, real_ytdlp: YtDlpBackend) -> None:
    res = Resolver(ytdlp=real_ytdlp, guard=LOCAL_ONLY)
    resolved = await res.resolve(server.url("/playlist.xspf"))
    assert resolved.kind is ResolvedKind.PLAYLIST and len(resolved.tracks) == 2
    stream = await StreamOpener(res).open(resolved.tracks[0])
    chunks, _ = await asyncio.to_thread(collect, stream)
    stream.close()
    assert abs(len(chunks) * 0.02 - 8.0) < 0.1


async def test_a_local_file_has_its_length_so_it_can_be_seeked(tmp_path: Path) -> None:
    from musicbot.sources.synth import tone, write_audio

    write_audio(tmp_path / "three seconds.flac", tone(440.0, 3.0))
    (tmp_path / "broken.mp3").write_bytes(b"not audio at all")
    library = LocalLibrary(tmp_path)
    [track] = await library.resolve("three seconds.flac")
    assert track.duration_s == pytest.approx(3.0, abs=0.05) and not track.is_live
    [broken] = await library.resolve("broken.mp3")
    assert broken.duration_s is None  # an unreadable header: unknown, the play itself will say what is wrong
