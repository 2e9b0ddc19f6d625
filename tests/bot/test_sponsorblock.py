"""SponsorBlock (issue 19) through the real client, with a local fake of SponsorBlock and a fake YouTube
source: a generated track (440 Hz, a 660 Hz "sponsor" stretch, 440 Hz again) that resolves as a YouTube
video. What the fake voice server receives must never hold the stretch, nor fall silent or dip at the
splice; the panel says what was skipped; a SponsorBlock that is down changes nothing for playback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import jsonschema
import numpy as np
import numpy.typing as npt
import pytest
import pytest_asyncio

from musicbot.bot.embeds import snapshot
from musicbot.bot.web_control import WebControl
from musicbot.sources.models import Resolved, ResolvedKind
from musicbot.sources.synth import write_audio
from musicbot.track import Track
from musicbot.web.openapi import document
from tests.bot.answers import command, playing
from tests.bot.test_panel import FAST_INTERVAL_S, description, panels, the_panel
from tests.bot.world import ADMIN, GUILD, FileResolver, World, build_world, wait_for
from tests.harness import OPUS_SILENCE, FakeDiscord, decode_opus, dominant_hz
from tests.harness.fake_sponsorblock import FakeSponsorBlock
from tests.harness.fixtures import OfflineBotFactory
from tests.harness.voice_analysis import VoiceReceiver

ADMIN_ROLE = 1501
VIDEO = "spOnsoredV1"
RATE = 48_000
LENGTH_S, SPONSOR_FROM_S, SPONSOR_TO_S = 9.0, 3.0, 5.0
AMPLITUDE = 0.4


def sponsored_track() -> npt.NDArray[np.float32]:
    """440 Hz, a 660 Hz stretch from 3 s to 5 s, 440 Hz again (one oscillator per tone)."""
    t = np.arange(round(LENGTH_S * RATE)) / RATE
    hz = np.where((t >= SPONSOR_FROM_S) & (t < SPONSOR_TO_S), 660.0, 440.0)
    mono = (AMPLITUDE * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return np.stack([mono, mono], axis=1)


class FakeYouTube(FileResolver):
    """``yt:sponsored`` is a YouTube video (source, id and page as yt-dlp gives them) whose audio is a local
    Opus file, as itag 251 would be; everything else as the world's resolver."""

    def __init__(self, media: dict[str, Path], audio: Path) -> None:
        super().__init__(media)
        self.audio = audio

    async def resolve(self, query: str) -> Resolved:
        if query == "yt:sponsored":
            track = Track(id=f"youtube:{VIDEO}", title="Sponsored Song", artist="Channel", duration_s=LENGTH_S,
                          url=str(self.audio), source="youtube")
            return Resolved(ResolvedKind.TRACK, (track,))
        return await super().resolve(query)


@pytest_asyncio.fixture
async def sponsorblock() -> AsyncIterator[FakeSponsorBlock]:
    fake = await FakeSponsorBlock().start()
    fake.add(VIDEO, SPONSOR_FROM_S, SPONSOR_TO_S, "sponsor")
    yield fake
    await fake.stop()


@pytest_asyncio.fixture
async def sb_world(offline_bot_factory: OfflineBotFactory, fake_discord: FakeDiscord, tmp_path: Path,
                   sponsorblock: FakeSponsorBlock) -> AsyncIterator[World]:
    world = await build_world(offline_bot_factory, fake_discord, tmp_path,
                              settings={"MUSICBOT_SPONSORBLOCK_API": sponsorblock.base_url})
    audio = write_audio(tmp_path / "media" / "sponsored.webm", sponsored_track())
    world.bot.sessions.resolver = FakeYouTube(world.media, audio)
    panels(world).interval_s = FAST_INTERVAL_S
    yield world


async def admin(world: World, name: str, options: dict[str, object]) -> None:
    answer = await command(world, f"settings {name}", options, user=ADMIN, roles=[ADMIN_ROLE])
    assert answer.error is None, answer.content


async def heard_track(world: World, receiver: VoiceReceiver) -> list[bytes]:
    """Play ``yt:sponsored`` to its end; the packets the voice server received for it."""
    session = await playing(world, "yt:sponsored")
    await wait_for(lambda: session.queue.current is None, timeout=30)
    await receiver.wait_until_quiet(GUILD, quiet_ms=200, timeout=10)
    return [p.opus for p in receiver.packets(GUILD)]


def blocks(pcm: npt.NDArray[np.float32], size: int = 1920) -> npt.NDArray[np.float32]:
    return pcm[: len(pcm) // size * size, 0].reshape(-1, size)


def assert_no_sponsor_no_gap(packets: list[bytes]) -> npt.NDArray[np.float32]:
    """The packets between the first and last audible one: none silent, none at 660 Hz, no level dip."""
    audible = [i for i, p in enumerate(packets) if p != OPUS_SILENCE]
    track = packets[audible[0]: audible[-1] + 1]
    assert OPUS_SILENCE not in track  # no gap: not one silent packet inside the track
    pcm = decode_opus(track)[4800:]  # past the decoder's warm-up
    per_block = [dominant_hz(block[:, None].repeat(2, axis=1), skip=0) for block in blocks(pcm)]
    assert all(abs(hz - 440.0) < 30 for hz in per_block[:-2]), [round(h) for h in per_block]
    level = np.sqrt(np.mean(blocks(pcm, 960).astype(np.float64) ** 2, axis=1))
    steady = float(np.median(level))
    inner = level[2:-3]
    assert np.min(inner) > steady * 10 ** (-1.5 / 20), f"a dip to {20 * np.log10(np.min(inner) / steady):.1f} dB"
    return pcm


# ---------------------------------------------------------------- skipped, seamlessly
@pytest.mark.parametrize("normalization", [True, False], ids=["filters", "passthrough"])
async def test_the_sponsor_stretch_is_not_heard_and_leaves_no_gap(
        sb_world: World, sponsorblock: FakeSponsorBlock, voice_receiver: VoiceReceiver, normalization: bool) -> None:
    world = sb_world
    if not normalization:
        await admin(world, "normalization", {"enabled": False})  # Opus passthrough outside the splice
    packets = await heard_track(world, voice_receiver)
    pcm = assert_no_sponsor_no_gap(packets)
    heard_s = len(pcm) / RATE + 0.1
    assert heard_s == pytest.approx(LENGTH_S - (SPONSOR_TO_S - SPONSOR_FROM_S), abs=0.3)
    (request,) = sponsorblock.requests
    assert VIDEO not in request.path  # only the hash prefix travelled


async def test_with_crossfade_on_the_splice_crossfades(sb_world: World, voice_receiver: VoiceReceiver) -> None:
    world = sb_world
    await admin(world, "crossfade", {"seconds": 1.0})
    pcm = assert_no_sponsor_no_gap(await heard_track(world, voice_receiver))
    # The two sides overlapped for the 1 s fade, as two crossfading tracks do.
    assert len(pcm) / RATE + 0.1 == pytest.approx(LENGTH_S - 2.0 - 1.0, abs=0.3)


async def test_the_panel_says_what_was_skipped_and_shows_the_length_heard(sb_world: World) -> None:
    world = sb_world
    session = await playing(world, "yt:sponsored")
    await wait_for(lambda: session.length_s == pytest.approx(7.0), timeout=10)  # 9 s less the 2 s stretch
    await wait_for(lambda: session.skips.last_skipped is not None, timeout=15)
    assert session.played_s < session.position_s - 1.5  # the stretch is not counted as played
    await wait_for(lambda: "⏩ Skipped sponsor read (0:02) (SponsorBlock)" in description(the_panel(world)),
                   timeout=5)
    assert "/ 0:07`" in description(the_panel(world))


async def test_seek_is_on_the_clock_of_what_is_heard(sb_world: World, voice_receiver: VoiceReceiver) -> None:
    world = sb_world
    session = await playing(world, "yt:sponsored")
    await wait_for(lambda: session.length_s == pytest.approx(7.0), timeout=10)
    answer = await command(world, "seek", {"position": "4"})  # 4 s heard = 6 s into the video
    assert answer.error is None and "0:04 / 0:07" in answer.content
    await wait_for(lambda: session.position_s > 6.0, timeout=10)
    assert session.played_s == pytest.approx(session.position_s - 2.0, abs=0.1)
    state = snapshot(session)
    assert state is not None and state.length_s == pytest.approx(7.0)
    view = await WebControl(world.bot).player(GUILD)  # the dashboard: the same clock
    jsonschema.validate(view.as_json(), {"$ref": "#/components/schemas/Player", **document()})
    assert view.length_s == pytest.approx(7.0) and view.position_s == pytest.approx(session.played_s, abs=0.5)


# ---------------------------------------------------------------- the guild's choice, the service down
async def test_a_category_the_server_did_not_choose_plays(sb_world: World, sponsorblock: FakeSponsorBlock,
                                                          voice_receiver: VoiceReceiver) -> None:
    world = sb_world
    await admin(world, "sponsorblock", {"category": "sponsor", "skip": False})
    packets = await heard_track(world, voice_receiver)
    pcm = decode_opus(packets)
    assert any(abs(dominant_hz(b[:, None].repeat(2, axis=1), skip=0) - 660) < 30 for b in blocks(pcm))
    assert all('"sponsor"' not in r.query.get("categories", "") for r in sponsorblock.requests)


@pytest.mark.parametrize("mode", ["stall", "error", "refused"])
async def test_sponsorblock_down_never_delays_or_stops_playback(
        sb_world: World, sponsorblock: FakeSponsorBlock, voice_receiver: VoiceReceiver, mode: str) -> None:
    world = sb_world
    if mode == "refused":
        await sponsorblock.stop()
    else:
        sponsorblock.mode = mode  # type: ignore[assignment]
    session = await playing(world, "yt:sponsored")
    # Audio flows while the lookup is still unanswered (stall: it ends only with the client's 5 s timeout).
    await voice_receiver.wait_for_packets(GUILD, 25, timeout=10)
    if mode == "stall":
        assert len(sponsorblock.requests) == 1 and session.skips.plan_of(session.playback.current) is None
    await wait_for(lambda: session.queue.current is None, timeout=30)
    pcm = decode_opus([p.opus for p in voice_receiver.packets(GUILD)])
    assert any(abs(dominant_hz(b[:, None].repeat(2, axis=1), skip=0) - 660) < 30 for b in blocks(pcm))  # unskipped
    assert len(pcm) / RATE == pytest.approx(LENGTH_S, abs=0.5)
    await asyncio.sleep(0)
