"""GuildSession end to end: discord.py's real VoiceClient and AudioPlayer against the offline harness,
playing generated local media files through Player + AudioEngine."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import discord
import numpy as np
import numpy.typing as npt
import pytest

from musicbot.dsp.frame import FRAME_SAMPLES
from musicbot.session import GuildSession, SessionSettings
from musicbot.sources.models import Resolved, ResolvedKind
from musicbot.sources.synth import opus_packets, tone, write_audio
from musicbot.track import Track
from musicbot.voice.processes import RenderProcesses
from musicbot.voice.protocol import EngineConfig
from musicbot.voice.render_client import RenderClient
from musicbot.voice.transport import LocalTransport
from tests.harness import (
    OPUS_SILENCE,
    FakeDiscord,
    RtpPacket,
    VoiceReceiver,
    decode_opus,
    dominant_hz,
    fake_gateway,
    guild_payload,
    join_voice,
    leave_voice,
    user,
)
from tests.harness.fixtures import *  # noqa: F403
from tests.harness.fixtures import OfflineBotFactory
from tests.media import FileOpener

G1, TEXT1, VOICE1 = 1000, 1001, 1002
G2, TEXT2, VOICE2 = 2000, 2001, 2002
ALICE = user(5001, "alice")
BOB = user(5002, "bob")


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("media")
    step = np.concatenate([tone(440.0, 2.0), tone(880.0, 2.0)])
    return {
        "a440": write_audio(root / "a440.flac", tone(440.0, 1.0)),
        "a660": write_audio(root / "a660.flac", tone(660.0, 1.0)),
        "long440": write_audio(root / "long440.flac", tone(440.0, 3.0)),
        "long660": write_audio(root / "long660.flac", tone(660.0, 3.0)),
        "step": write_audio(root / "step.flac", step),
        "webm": write_audio(root / "tone.webm", tone(440.0, 2.0)),
    }


class FileResolver:
    """Query = a key of ``media``; ``broken`` resolves to a track whose file does not exist."""

    def __init__(self, media: dict[str, Path]) -> None:
        self.media = media

    async def resolve(self, query: str) -> Resolved:
        path = self.media.get(query, Path("/nonexistent/broken.flac"))
        track = Track(id=f"local:{query}", title=query, artist="", duration_s=None, url=str(path), source="local")
        return Resolved(ResolvedKind.TRACK, (track,))


async def make_session(
    factory: OfflineBotFactory,
    media: dict[str, Path],
    *,
    guilds: tuple[tuple[int, int, int], ...] = ((G1, TEXT1, VOICE1),),
    settings: SessionSettings | None = None,
    processes: RenderProcesses | None = None,
) -> tuple[discord.Client, list[GuildSession], list[discord.Member], list[str]]:
    bot = await factory(
        guilds=[guild_payload(g, text_id=t, voice_id=v, members=[ALICE, BOB]) for g, t, v in guilds]
    )
    messages: list[str] = []
    sessions, members = [], []
    for g, _, v in guilds:
        guild = bot.get_guild(g)
        assert guild is not None
        members.append(await join_voice(bot, g, v, ALICE))
        sessions.append(
            GuildSession(
                guild,
                resolver=FileResolver(media),
                opener=FileOpener(),
                announce=messages.append,
                settings=settings,
                engine=RenderClient(EngineConfig(normalize=False),
                                    connect=processes.connect if processes else LocalTransport),
            )
        )

    @bot.event
    async def on_voice_state_update(m: discord.Member, before: discord.VoiceState, after: discord.VoiceState) -> None:
        for session in sessions:
            session.on_voice_state_update(m, before, after)

    return bot, sessions, members, messages


async def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.005)


async def wait_idle(session: GuildSession, receiver: VoiceReceiver, guild_id: int) -> None:
    voice = session.voice
    assert voice is not None
    await wait_for(lambda: session.queue.current is None and not voice.is_playing())
    await receiver.wait_until_quiet(guild_id, quiet_ms=60)


def tone_amplitude(pcm: npt.NDArray[np.float32], hz: float) -> npt.NDArray[np.float64]:
    """Amplitude of the ``hz`` component in each 20 ms frame (Hann-windowed over 40 ms around it)."""
    block = 2 * FRAME_SAMPLES
    x = np.concatenate([np.zeros(FRAME_SAMPLES // 2), pcm[:, 0].astype(np.float64), np.zeros(block)])
    frames = len(pcm) // FRAME_SAMPLES
    windows = np.lib.stride_tricks.sliding_window_view(x, block)[::FRAME_SAMPLES][:frames]
    window = np.hanning(block)
    probe = window * np.exp(-2j * np.pi * hz * np.arange(block) / 48000)
    return np.asarray(2 * np.abs(windows @ probe) / window.sum())


def frame_rms(pcm: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    frames = pcm[: len(pcm) // FRAME_SAMPLES * FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES, 2)
    levels: npt.NDArray[np.float64] = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=(1, 2)))
    return levels


async def test_real_time_pitch_level_volume_change_and_jitter(
    offline_bot_factory: OfflineBotFactory, voice_receiver: VoiceReceiver, media: dict[str, Path]
) -> None:
    _, [session], [alice], messages = await make_session(offline_bot_factory, media)
    await session.play("long440", alice)
    await voice_receiver.wait_for_packets(G1, 75)
    before = voice_receiver.count(G1)
    session.set_volume(0.25)
    await wait_idle(session, voice_receiver, G1)

    packets = voice_receiver.packets(G1)
    assert voice_receiver.sequence_contiguous(G1)
    assert set(voice_receiver.timestamps_step(G1)) == {960}
    assert [p.opus for p in packets[-5:]] == [OPUS_SILENCE] * 5
    assert OPUS_SILENCE not in [p.opus for p in packets[:-5]]  # no underrun
    assert 150 <= len(packets) - 5 <= 152  # 3 s (+ the limiter's tail frame)
    pcm = voice_receiver.decode_pcm(G1)
    assert abs(dominant_hz(pcm) - 440.0) < 5
    levels = frame_rms(pcm)
    full = 0.4 / 2**0.5
    assert abs(np.median(levels[10 : before - 2]) - full) < 0.03
    # heard within 2 packets of the command (the command lands on the next read)
    changed = next(i for i in range(before - 2, len(levels)) if levels[i] < 0.6 * full)
    assert changed <= before + 2
    assert abs(np.median(levels[changed + 3 : -10]) - full * 0.25) < 0.01
    # no click: the change glides, so the waveform never jumps more than a sine step allows
    window = pcm[(changed - 2) * FRAME_SAMPLES : (changed + 3) * FRAME_SAMPLES, 0]
    assert np.max(np.abs(np.diff(window))) < 0.06
    jitter = voice_receiver.inter_arrival_jitter(G1)
    assert sorted(jitter)[len(jitter) // 2] < 3.0  # median; the goal is p99 < 3 ms, but CI boxes are noisy
    assert messages == []


async def test_pause_resume_seek_stop(
    offline_bot_factory: OfflineBotFactory, voice_receiver: VoiceReceiver, media: dict[str, Path], fast_playback: float
) -> None:
    _, [session], [alice], _ = await make_session(offline_bot_factory, media)
    await session.play("step", alice)
    await voice_receiver.wait_for_packets(G1, 20)
    session.pause()
    await voice_receiver.wait_until_quiet(G1, quiet_ms=60)
    paused_at = voice_receiver.count(G1)
    assert [p.opus for p in voice_receiver.packets(G1)[-5:]] == [OPUS_SILENCE] * 5
    position = session.position_s
    assert 0.3 < position < 2.0
    await asyncio.sleep(0.1)
    assert voice_receiver.count(G1) == paused_at  # nothing while paused
    assert session.position_s == position

    session.resume()
    await voice_receiver.wait_for_packets(G1, paused_at + 5)
    t_seek = time.perf_counter()
    await session.seek(3.0)
    await wait_for(lambda: session.position_s >= 3.0)
    await voice_receiver.wait_for_packets(G1, voice_receiver.count(G1) + 10)
    after_seek = voice_receiver.packets(G1, since=t_seek)
    session.stop()
    await wait_idle(session, voice_receiver, G1)
    assert voice_receiver.sequence_contiguous(G1)
    assert set(voice_receiver.timestamps_step(G1)) == {960}
    tail = voice_receiver.packets(G1, since=t_seek)
    assert [p.opus for p in tail[-5:]] == [OPUS_SILENCE] * 5  # stop ends with discord.py's silence
    assert len(tail) - 5 < 60  # at most ~1 s of audio was left after 3.0 s
    pcm = voice_receiver.decode_pcm(G1, since=after_seek[3].t_recv)
    assert abs(dominant_hz(pcm[: len(pcm) - 5 * FRAME_SAMPLES], skip=960) - 880.0) < 10
    assert session.queue.current is None and session.voice is not None and session.voice.is_connected()


async def test_passthrough_is_byte_identical_and_switching_is_gapless(
    offline_bot_factory: OfflineBotFactory, voice_receiver: VoiceReceiver, media: dict[str, Path], fast_playback: float
) -> None:
    _, [session], [alice], _ = await make_session(offline_bot_factory, media)
    source = opus_packets(media["webm"])
    await session.play("webm", alice)
    await wait_idle(session, voice_receiver, G1)
    received = [p.opus for p in voice_receiver.packets(G1)]
    assert received[:-5] == source[: len(received) - 5]
    assert len(received) - 5 >= len(source) - 1  # a last odd-sized packet may be re-encoded or dropped

    voice_receiver.clear(G1)
    await session.play("webm", alice)
    await voice_receiver.wait_for_packets(G1, 30)
    session.set_volume(0.5)
    await voice_receiver.wait_for_packets(G1, 60)
    session.set_volume(1.0)
    await wait_idle(session, voice_receiver, G1)
    packets = voice_receiver.packets(G1)
    assert voice_receiver.sequence_contiguous(G1)
    assert set(voice_receiver.timestamps_step(G1)) == {960}
    audio = [p.opus for p in packets[:-5]]
    assert OPUS_SILENCE not in audio
    assert len(audio) == len(received) - 5  # no packet lost or added by the two switches
    assert audio[:25] == source[:25]  # passthrough before
    assert audio[-20:] == source[len(audio) - 20 : len(audio)]  # and byte-identical again after
    assert audio[40:55] != source[40:55]  # re-encoded at half volume in between


async def test_gapless_between_tracks_and_failed_track_skipped(
    offline_bot_factory: OfflineBotFactory, voice_receiver: VoiceReceiver, media: dict[str, Path], fast_playback: float
) -> None:
    _, [session], [alice], messages = await make_session(offline_bot_factory, media)
    await session.play("a440", alice)
    await session.play("broken", alice)
    await session.play("a660", alice)
    await wait_idle(session, voice_receiver, G1)
    packets = voice_receiver.packets(G1)
    audio = packets[:-5]
    assert OPUS_SILENCE not in [p.opus for p in audio]  # no silent packet between the tracks
    assert 100 <= len(audio) <= 102
    assert voice_receiver.sequence_contiguous(G1)
    assert set(voice_receiver.timestamps_step(G1)) == {960}
    pcm = voice_receiver.decode_pcm(G1)
    assert abs(dominant_hz(pcm[: 48 * FRAME_SAMPLES]) - 440.0) < 5
    assert abs(dominant_hz(pcm[52 * FRAME_SAMPLES : 98 * FRAME_SAMPLES], skip=0) - 660.0) < 5
    assert len(messages) == 1 and messages[0].startswith("Skipped broken")


async def test_two_guilds_play_different_audio(
    offline_bot_factory: OfflineBotFactory,
    voice_receiver: VoiceReceiver,
    fake_discord: FakeDiscord,
    media: dict[str, Path],
    fast_playback: float,
) -> None:
    _, [s1, s2], [a1, a2], _ = await make_session(
        offline_bot_factory, media, guilds=((G1, TEXT1, VOICE1), (G2, TEXT2, VOICE2))
    )
    await asyncio.gather(s1.play("a440", a1), s2.play("a660", a2))
    await wait_idle(s1, voice_receiver, G1)
    await wait_idle(s2, voice_receiver, G2)
    for gid, session, hz in ((G1, s1, 440.0), (G2, s2, 660.0)):
        assert session.voice is not None
        assert voice_receiver.ssrcs(gid) == [session.voice.ssrc]
        assert voice_receiver.sequence_contiguous(gid)
        assert abs(dominant_hz(voice_receiver.decode_pcm(gid)) - hz) < 5
    assert not fake_discord.udp_errors


async def test_leaves_when_alone_unless_24_7(
    offline_bot_factory: OfflineBotFactory, voice_receiver: VoiceReceiver, media: dict[str, Path], fast_playback: float
) -> None:
    bot, [session], [alice], messages = await make_session(
        offline_bot_factory, media, settings=SessionSettings(idle_leave_s=0.2)
    )
    await session.play("a440", alice)
    await leave_voice(bot, G1, ALICE)
    await asyncio.sleep(0.1)
    await join_voice(bot, G1, VOICE1, ALICE)  # back in time: the timer is cancelled
    await asyncio.sleep(0.3)
    assert session.voice is not None and session.voice.is_connected()
    await leave_voice(bot, G1, ALICE)
    await wait_for(lambda: session.voice is None, timeout=2.0)
    assert fake_gateway(bot).sent[-1]["d"]["channel_id"] is None  # op 4 VOICE_STATE leaving
    assert messages == ["Left the voice channel: nobody is listening."]

    guild = bot.get_guild(G1)
    assert guild is not None
    await wait_for(lambda: guild.voice_client is None, timeout=2.0)
    session.settings.always_on = True
    alice = await join_voice(bot, G1, VOICE1, ALICE)
    await session.play("a440", alice)
    await leave_voice(bot, G1, ALICE)
    await asyncio.sleep(0.4)
    assert session.voice is not None and session.voice.is_connected()


@pytest.fixture(scope="module")
def render_workers() -> Iterator[RenderProcesses]:
    workers = RenderProcesses(1)
    yield workers
    workers.stop()


@pytest.mark.usefixtures("fast_playback")
@pytest.mark.parametrize("where", ["here", "worker"])
async def test_crossfade_overlaps_the_two_tracks_for_the_set_time_at_equal_power(
    offline_bot_factory: OfflineBotFactory,
    voice_receiver: VoiceReceiver,
    media: dict[str, Path],
    render_workers: RenderProcesses,
    where: str,
) -> None:
    _, [session], [alice], _ = await make_session(
        offline_bot_factory,
        media,
        settings=SessionSettings(crossfade_s=1.0),
        processes=render_workers if where == "worker" else None,  # the way `musicbot run` renders
    )
    await session.play("long440", alice)
    await session.play("long660", alice)
    await wait_idle(session, voice_receiver, G1)
    audio = voice_receiver.packets(G1)[:-5]
    assert OPUS_SILENCE not in [p.opus for p in audio]
    assert voice_receiver.sequence_contiguous(G1)
    assert len(audio) == pytest.approx(250, abs=3)  # 3 s + 3 s − 1 s of overlap
    pcm = voice_receiver.decode_pcm(G1)[: len(audio) * FRAME_SAMPLES]
    a, b = tone_amplitude(pcm, 440.0), tone_amplitude(pcm, 660.0)
    inner = slice(3, len(audio) - 3)  # the first track's start and the last one's end are steps: broadband
    both = np.flatnonzero((a[inner] > 0.004) & (b[inner] > 0.004)) + 3  # each above −40 dB of its full 0.4
    assert len(both) * 0.02 == pytest.approx(1.0, abs=0.1)
    assert both[0] * 0.02 == pytest.approx(2.0, abs=0.1)  # the last second of the first track
    assert np.all(np.diff(both) == 1)  # one overlap, no gap in it
    level_db = 20 * np.log10(np.sqrt(a**2 + b**2)[both] / 0.4)
    assert np.all(np.abs(level_db) < 1.5)  # equal power: the level does not dip across the fade


async def test_skip_during_a_crossfade_goes_to_the_next_track_at_once(
    offline_bot_factory: OfflineBotFactory, voice_receiver: VoiceReceiver, media: dict[str, Path], fast_playback: float
) -> None:
    _, [session], [alice], messages = await make_session(
        offline_bot_factory, media, settings=SessionSettings(crossfade_s=2.0)
    )
    await session.play("long440", alice)
    await session.play("long660", alice)
    await voice_receiver.wait_for_packets(G1, 75)  # 1.5 s: half-way through the fade (1 s → 3 s)
    entry = await session.skip()
    assert entry is not None and entry.track.title == "long660"
    await wait_idle(session, voice_receiver, G1)
    audio = voice_receiver.packets(G1)[:-5]
    assert OPUS_SILENCE not in [p.opus for p in audio]
    pcm = voice_receiver.decode_pcm(G1)[: len(audio) * FRAME_SAMPLES]
    a, b = tone_amplitude(pcm, 440.0)[: len(audio) - 3], tone_amplitude(pcm, 660.0)[: len(audio) - 3]
    fade_in = int(np.flatnonzero(b[3:] > 0.004)[0]) + 3
    gone = int(np.flatnonzero(a > 0.004)[-1]) + 1  # the first frame without the first track
    assert 70 <= gone < 100  # cut short by the skip, well before the fade's end at 150
    assert np.all(b[gone + 2 :] > 0.35)  # the next track at full level from there on
    assert len(audio) - fade_in == pytest.approx(150, abs=3)  # and played whole: not restarted, nothing dropped
    assert messages == []


async def _play_through_a_voice_reconnect(
    factory: OfflineBotFactory,
    receiver: VoiceReceiver,
    media: dict[str, Path],
    reconnect: Callable[[GuildSession], Awaitable[None] | None],
) -> tuple[GuildSession, list[RtpPacket]]:
    # A short connect timeout: discord.py gives up on a resume after it, and the session takes over.
    settings = SessionSettings(connect_timeout_s=1.0)
    _, [session], [alice], messages = await make_session(factory, media, settings=settings)
    await session.play("step", alice)  # 2 s at 440 Hz, then 2 s at 880 Hz
    await receiver.wait_for_packets(G1, 60)
    position = session.position_s
    result = reconnect(session)
    if result is not None:
        await result
    await wait_idle(session, receiver, G1)
    assert session.position_s >= position  # the track went on, it was not restarted
    assert messages == []
    return session, receiver.packets(G1)


def assert_continues_where_it_was(packets: list[RtpPacket]) -> None:
    audio = [p for p in packets if p.opus != OPUS_SILENCE]
    assert len(audio) == pytest.approx(200, abs=2)  # 4 s: nothing lost, nothing played twice
    pcm = decode_opus([p.opus for p in audio])
    step = np.flatnonzero(tone_amplitude(pcm, 880.0) > 0.2)[0]
    assert step == pytest.approx(100, abs=2)  # the step from 440 to 880 Hz is where it was in the track
    assert all(b.timestamp - a.timestamp == 960 for a, b in itertools.pairwise(audio) if a.ssrc == b.ssrc)


async def test_voice_server_crash_the_session_rejoins_and_keeps_the_position(
    offline_bot_factory: OfflineBotFactory,
    voice_receiver: VoiceReceiver,
    fake_discord: FakeDiscord,
    media: dict[str, Path],
    fast_playback: float,
) -> None:
    """Close code 4015: the voice connection resumes (op 7, same SSRC and key) and the track goes on
    where it was, heard again at the receiver within 2 s (discord.py 2.7.1 alone waited out its
    connect timeout and left)."""
    crashed: list[float] = []

    async def crash(session: GuildSession) -> None:
        crashed.append(time.perf_counter())
        await fake_discord.close_voice(G1, 4015)

    # The default connect timeout: the recovery must not depend on it being short.
    settings = SessionSettings()
    _, [session], [alice], messages = await make_session(offline_bot_factory, media, settings=settings)
    await session.play("step", alice)  # 2 s at 440 Hz, then 2 s at 880 Hz
    await voice_receiver.wait_for_packets(G1, 60)
    position = session.position_s
    await crash(session)
    await wait_for(lambda: fake_discord.sessions[G1].resumes >= 1, timeout=2.0)
    await voice_receiver.wait_for_packets(G1, voice_receiver.count(G1) + 5, timeout=2.0)
    heard_again = voice_receiver.packets(G1)[-1].t_recv
    assert heard_again - crashed[0] < 2.0
    await wait_idle(session, voice_receiver, G1)
    assert session.position_s >= position
    assert messages == []
    assert session.voice is not None and session.voice.is_connected()
    assert_continues_where_it_was(voice_receiver.packets(G1))


async def test_region_move_by_voice_server_update_keeps_the_position(
    offline_bot_factory: OfflineBotFactory,
    voice_receiver: VoiceReceiver,
    fake_discord: FakeDiscord,
    media: dict[str, Path],
    fast_playback: float,
) -> None:
    def move(session: GuildSession) -> None:
        # Discord moves the call to another voice server: a fresh VOICE_SERVER_UPDATE while connected.
        session.guild._state.parse_voice_server_update(
            {"token": "voice-token-2", "guild_id": str(G1), "endpoint": fake_discord.voice_endpoint}
        )

    _, packets = await _play_through_a_voice_reconnect(offline_bot_factory, voice_receiver, media, move)
    assert len(voice_receiver.ssrcs(G1)) == 2  # a new voice session (IDENTIFY: a new SSRC and key)
    assert_continues_where_it_was(packets)


async def test_disconnected_by_someone_the_session_does_not_rejoin(
    offline_bot_factory: OfflineBotFactory,
    voice_receiver: VoiceReceiver,
    fake_discord: FakeDiscord,
    media: dict[str, Path],
    fast_playback: float,
) -> None:
    bot, [session], [alice], _ = await make_session(
        offline_bot_factory, media, settings=SessionSettings(connect_timeout_s=1.0)
    )
    await session.play("step", alice)
    await voice_receiver.wait_for_packets(G1, 30)
    joins = len([p for p in fake_gateway(bot).sent if p["op"] == 4])
    # A moderator disconnects the bot: Discord removes its voice state and closes the voice websocket.
    fake_gateway(bot).deliver_bot_voice_state(G1, None)
    await fake_discord.close_voice(G1, 4014)
    await asyncio.sleep(1.5)
    assert session.voice is None or not session.voice.is_connected()
    assert [p for p in fake_gateway(bot).sent[joins:] if p["op"] == 4 and p["d"]["channel_id"]] == []
