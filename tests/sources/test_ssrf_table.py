"""Issue 14, item 1: the SSRF table. Every attack, on the first request and on a mid-track reconnect,
through the production path (``Resolver`` → ``StreamOpener`` → decoder, yt-dlp included).

Each row asserts what an attacker would look for: **no request reached the private server**, and
the user was told "Refused: … private, loopback or link-local …" (or, for DNS rebinding, that the
bot kept to the address it had validated).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from musicbot.audio import Chunk
from musicbot.errors import MusicBotError
from musicbot.sources.models import StreamInfo
from musicbot.sources.resolver import Resolver
from musicbot.sources.ssrf import UrlGuard, system_resolve
from musicbot.sources.stream import ResilientStream, StreamOpener
from musicbot.sources.ytdlp import YtDlpBackend
from tests.sources.ssrf_servers import Servers, serve_attack

REFUSAL = r"Refused: .*private, loopback or link-local"
# Every spelling of "this machine" that the URL parsers of FFmpeg, yt-dlp and glibc accept.
FORMS = ["127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "2130706433", "0177.0.0.1", "0x7f000001", "127.1"]
MID_TRACK_CHUNKS = 50  # 1 s of audio played before the attack: the reconnect is mid-track


class FakeDns:
    """The guard's resolver seam: ``localhost`` answers what the test says, anything else the system's."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __call__(self, host: str) -> list[str]:
        if host != "localhost":
            return system_resolve(host)
        self.calls += 1
        return self.answers[min(self.calls, len(self.answers)) - 1]


@pytest.fixture(scope="module")
def attack(media_dir: Path) -> Iterator[Servers]:
    with serve_attack(media_dir) as servers:
        yield servers


@pytest.fixture
def servers(attack: Servers) -> Servers:
    attack.reset()
    return attack


@dataclass
class Outcome:
    chunks: int
    """Chunks of audio the user heard before the error (or to the end)."""
    error: Exception | None


def build(guard: UrlGuard) -> Resolver:
    return Resolver(ytdlp=YtDlpBackend(js_runtime=None, guard=guard), guard=guard)


def _drain(stream: ResilientStream, seek_to_s: float | None = None) -> Outcome:
    count = 0
    try:
        while True:
            item = stream.read(timeout=20)
            if not isinstance(item, Chunk):
                break
            count += 1
            if seek_to_s is not None and count == MID_TRACK_CHUNKS:
                stream.seek(seek_to_s)
                seek_to_s = None
    except MusicBotError as error:
        return Outcome(count, error)
    finally:
        stream.close()
    return Outcome(count, None)


async def play(url: str, dns: FakeDns | None = None, *, seek_to_s: float | None = None) -> Outcome:
    """What a user gets from ``/play url``: resolve, open, listen to the end (or the error)."""
    resolver = build(UrlGuard(("127.0.0.2",), resolve_host=dns or FakeDns()))
    try:
        track = (await resolver.resolve(url)).tracks[0]
        stream = await StreamOpener(resolver).open(track)
    except MusicBotError as error:
        return Outcome(0, error)
    return await asyncio.to_thread(_drain, stream, seek_to_s)


def secret_url(servers: Servers, form: str) -> str:
    return f"http://{form}:{servers.port}/secret"


def assert_refused(outcome: Outcome, servers: Servers, *, mid_track: bool) -> None:
    assert servers.secret.log == []
    assert outcome.error is not None, f"played {outcome.chunks} chunks and no refusal"
    assert re.search(REFUSAL, str(outcome.error)), str(outcome.error)
    if mid_track:
        assert outcome.chunks >= MID_TRACK_CHUNKS  # the attack met a reconnect, not the first request


# ---------------------------------------------------------------- the first request
@pytest.mark.parametrize("form", FORMS)
async def test_first_request_a_pasted_private_link(servers: Servers, form: str) -> None:
    assert_refused(await play(secret_url(servers, form)), servers, mid_track=False)


@pytest.mark.parametrize("form", FORMS)
async def test_first_request_head_answers_audio_get_redirects(servers: Servers, form: str) -> None:
    """Case (b)."""
    servers.public.target = secret_url(servers, form)
    assert_refused(await play(servers.public.url("/b/k/music.wav")), servers, mid_track=False)


@pytest.mark.parametrize("form", FORMS)
async def test_first_request_an_html_page_redirects(servers: Servers, form: str) -> None:
    """Case (c): the page goes to yt-dlp, whose GET is redirected."""
    servers.public.target = secret_url(servers, form)
    assert_refused(await play(servers.public.url("/page/k")), servers, mid_track=False)


@pytest.mark.parametrize("form", FORMS)
async def test_first_request_an_hls_playlist_names_a_private_segment(servers: Servers, form: str) -> None:
    """FFmpeg opens the segments a playlist names by itself unless they go through the guard too."""
    servers.public.target = secret_url(servers, form) + ".wav"
    assert_refused(await play(servers.public.url("/hls/k.m3u8")), servers, mid_track=False)


def test_first_request_a_playlist_file_in_the_music_folder_names_a_private_url(servers: Servers,
                                                                               tmp_path: Path) -> None:
    """The music folder is the admin's, but a playlist file dropped there must not reach the network."""
    playlist = tmp_path / "list.m3u8"
    playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:9\n#EXTINF:8.0,\n{secret_url(servers, '127.0.0.1')}.wav\n"
                        "#EXT-X-ENDLIST\n")
    stream = ResilientStream(StreamInfo(str(playlist)), max_attempts=0).start()
    outcome = _drain(stream)
    assert servers.secret.log == []
    assert outcome.error is not None and outcome.chunks == 0


async def test_first_request_a_name_the_guard_saw_public_is_not_looked_up_again(servers: Servers) -> None:
    """Case (d): the guard's lookup says 127.0.0.2, the system's says 127.0.0.1. The bot connects
    to the address it validated: the public server plays, the private one hears nothing."""
    outcome = await play(f"http://localhost:{servers.port}/r/public/music.wav", FakeDns(["127.0.0.2"]))
    assert servers.secret.log == []
    assert outcome.error is None and outcome.chunks > 300  # the whole 8 s track
    assert servers.public.log


async def test_first_request_a_name_that_rebinds_after_the_first_lookup(servers: Servers) -> None:
    """Case (d): public on the first lookup, private on every later one."""
    outcome = await play(f"http://localhost:{servers.port}/r/rebind/music.wav",
                         FakeDns(["127.0.0.2"], ["127.0.0.1"]))
    assert_refused(outcome, servers, mid_track=False)


# ---------------------------------------------------------------- a reconnect mid-track
@pytest.mark.parametrize("form", FORMS)
async def test_reconnect_a_later_get_redirects(servers: Servers, form: str) -> None:
    """Case (a): HEAD and the first GET answer audio; the connection drops at 40 %; the resume
    (a Range GET) is answered with a redirect."""
    servers.public.target = secret_url(servers, form)
    assert_refused(await play(servers.public.url("/a/k/music.wav")), servers, mid_track=True)


@pytest.mark.parametrize("form", FORMS)
async def test_reconnect_the_page_extracted_again_redirects(servers: Servers, form: str) -> None:
    """Case (c) on reconnect: the stream URL expires mid-track (403); yt-dlp extracts the page
    again, and now it redirects."""
    servers.public.target = secret_url(servers, form)
    assert_refused(await play(servers.public.url("/list/k.xspf")), servers, mid_track=True)


async def test_reconnect_a_name_that_rebinds_mid_track(servers: Servers) -> None:
    """Case (d) mid-track: once the player has connected, the name answers 127.0.0.1. The resume
    after the drop goes to the address validated before (the track plays on); a seek, which opens
    the link afresh, looks the name up again and is refused."""
    for key, seek_to_s in (("mid", None), ("seek", 1.0)):
        servers.reset()
        dns = FakeDns(["127.0.0.2"])

        def flip(opened: str, key: str = key, dns: FakeDns = dns) -> None:
            if opened == key:  # only this part's stream: a straggler of another test must not flip it
                dns.answers.append(["127.0.0.1"])

        servers.public.on_player = flip
        outcome = await play(f"http://localhost:{servers.port}/r/{key}/music.wav", dns, seek_to_s=seek_to_s)
        if seek_to_s is None:
            assert servers.secret.log == []
            assert outcome.error is None and outcome.chunks > 300
            assert any(r not in (None, "bytes=0-") for _, r in servers.public.log)  # it did resume mid-body
        else:
            assert_refused(outcome, servers, mid_track=True)
