"""yt-dlp against the local server (its generic extractor), the JS runtime setup, error classification."""

from __future__ import annotations

import pytest

from musicbot.sources import errors
from musicbot.sources.jsruntime import discover_js_runtime
from musicbot.sources.models import ResolvedKind
from musicbot.sources.ssrf import UrlGuard
from musicbot.sources.ytdlp import YtDlpBackend, track_from_info, ytdlp_options
from tests.sources.server import MediaServer


@pytest.fixture(scope="module")
def backend() -> YtDlpBackend:
    # as the bot builds it: the JS runtime discovered (no network involved); the test server allowed
    return YtDlpBackend(guard=UrlGuard(("127.0.0.1",)))


async def test_generic_extractor_resolves_a_local_media_url(server: MediaServer, backend: YtDlpBackend) -> None:
    url = server.url("/files/music.webm")
    resolved = await backend.resolve(url)

    assert resolved.kind is ResolvedKind.TRACK
    (track,) = resolved.tracks
    assert track.title == "music" and track.source == "generic" and track.id == f"url:{url}"
    info = await backend.stream_info(track)
    assert info.url == url and not info.is_live and info.expires_at is None


async def test_generic_extractor_resolves_a_local_xspf_playlist_flat(server: MediaServer,
                                                                     backend: YtDlpBackend) -> None:
    resolved = await backend.resolve(server.url("/playlist.xspf"))

    assert resolved.kind is ResolvedKind.PLAYLIST
    assert len({t.id for t in resolved.tracks}) == 2
    assert [t.title for t in resolved.tracks] == ["First song", "Second song"]
    assert [t.duration_s for t in resolved.tracks] == [3.0, 3.0]
    info = await backend.stream_info(resolved.tracks[1])  # resolved fully only when it is about to play
    assert info.url == server.url("/files/music.wav")


async def test_a_missing_file_is_classified_unavailable(server: MediaServer, backend: YtDlpBackend) -> None:
    with pytest.raises(errors.UnavailableError) as caught:
        await backend.resolve(server.url("/files/nothing.mp3"))
    assert not caught.value.retryable


def test_options_hand_runtimes_and_cookies_to_youtube_dl(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import yt_dlp

    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n")
    runtime = discover_js_runtime()  # whatever this machine has; no network involved
    options = ytdlp_options(js_runtime=runtime, cookies_file=cookies)
    assert options["cookiefile"] == str(cookies)
    assert options["extract_flat"] == "in_playlist" and options["noplaylist"] is True
    with yt_dlp.YoutubeDL(options) as ydl:  # yt-dlp validates the js_runtimes shape here
        for name, enabled in ydl._js_runtimes.items():
            assert enabled is not None and enabled.info is not None and enabled.info.supported, name


@pytest.mark.parametrize(("text", "cls", "retryable"), [
    ("ERROR: [youtube] abc: Video unavailable. This video has been removed by the uploader", errors.UnavailableError,
     False),
    ("ERROR: [youtube] abc: Private video. Sign in if you've been granted access", errors.PrivateError, False),
    ("ERROR: [youtube] abc: Sign in to confirm your age. This video may be inappropriate for some users.",
     errors.AgeRestrictedError, False),
    ("ERROR: [youtube] abc: The uploader has not made this video available in your country",
     errors.RegionBlockedError, False),
    ("ERROR: [youtube] abc: Video unavailable. This video is not available in your country",
     errors.RegionBlockedError, False),
    ("ERROR: unable to download video data: HTTP Error 429: Too Many Requests", errors.RateLimitedError, True),
    ("ERROR: [youtube] abc: Sign in to confirm you’re not a bot", errors.RateLimitedError, True),
    ("ERROR: [generic] Unable to download webpage: <urlopen error [Errno 111] Connection refused>",
     errors.NetworkError, True),
    ("ERROR: Unsupported URL: https://example.com/", errors.UnsupportedError, False),
])
def test_ytdlp_errors_are_classified_for_users(text: str, cls: type[errors.SourceError], retryable: bool) -> None:
    err = errors.classify_ytdlp_error(Exception(text))
    assert type(err) is cls and err.retryable is retryable
    assert str(err) == cls.default_message and err.detail == text


def test_flat_youtube_entries_become_tracks() -> None:
    entry = {"ie_key": "Youtube", "id": "dQw4w9WgXcQ", "url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
             "title": "Never Gonna Give You Up", "channel": "Rick Astley", "duration": 213,
             "thumbnails": [{"url": "small"}, {"url": "big"}], "live_status": "not_live"}
    track = track_from_info(entry)
    assert track is not None
    assert (track.id, track.artist, track.duration_s, track.thumbnail_url, track.is_live) == (
        "youtube:dQw4w9WgXcQ", "Rick Astley", 213.0, "big", False)
    live = track_from_info({**entry, "live_status": "is_live", "duration": None})
    assert live is not None and live.is_live and live.duration_s is None


def test_every_request_of_ytdlp_goes_through_the_guarded_handler_with_its_cookies(server: MediaServer) -> None:
    from musicbot.sources.guarded_http import GuardedHttp
    from musicbot.sources.ytdlp_http import GuardedYoutubeDL

    http = GuardedHttp(UrlGuard(("127.0.0.1",)))
    with GuardedYoutubeDL({"quiet": True}, http=http) as ydl:
        assert list(ydl._request_director.handlers) == ["Guarded"]  # yt-dlp's own handlers are not there
        response = ydl.urlopen(server.url("/cookie/set"))  # sets a cookie, then redirects
        assert response.url == server.url("/cookie/echo")
        assert response.read() == b"session=abc"  # the cookie set by the first hop went with the second
    with GuardedYoutubeDL({"quiet": True}, http=GuardedHttp(UrlGuard())) as ydl, \
            pytest.raises(Exception, match=r"Refused: 127\.0\.0\.1 is a private"):
        ydl.urlopen(server.url("/cookie/set"))
    assert [p for p, _ in server.log] == ["/cookie/set", "/cookie/echo"]
