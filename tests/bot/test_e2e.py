"""End to end, through discord.py's real command tree, voice client and RTP path, heard at the fake voice server:
a user joins voice → ``/play long440`` → 440 Hz arrives → ``/filter preset nightcore`` → the pitch rises by the
preset's rate (1.25: Lavalink's nightcore is timescale rate 1.25, so pitch × 1.25) → ``/skip`` → the next track
(660 Hz, still under nightcore) → ``/stop`` → nothing more is heard.

Real-time pacing (no ``fast_playback``): what is measured is what a listener would get.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from musicbot.dsp.presets import FILTER_PRESETS
from tests.bot.world import ALICE, GUILD, MEDIA, TEXT, World
from tests.harness import OPUS_SILENCE, VoiceReceiver, decode_opus, dominant_hz, invoke, rms
from tests.harness.payloads import Payload

WINDOW_PACKETS = 40  # 0.8 s of audio: FFT bins of 1.25 Hz
SETTLE_S = 0.15  # a change is heard within 40 ms; allow the time-stretcher's buffer and the network a margin
TOLERANCE = 0.015  # relative; the tones are pure, so the bin is what limits it


async def command(world: World, name: str, options: dict[str, Any] | None = None) -> Payload:
    """Run ``/name`` as Alice; return the answer she sees (the callback's data, or the followup after a defer)."""
    payload = world.fake.slash(name, options, guild_id=GUILD, channel_id=TEXT, user=ALICE)
    assert await invoke(world.bot, payload) is None
    [callback] = world.fake.callbacks(payload)
    answer: Payload = callback["data"] if callback["type"] == 4 else world.fake.followups(payload)[-1].json
    assert not (answer.get("flags") or 0) & 64, answer.get("content")  # not an (ephemeral) refusal
    return answer


async def pitch_after(receiver: VoiceReceiver, since: float) -> float:
    """The dominant frequency of the audio that arrived from ``since`` + settling time on."""
    start = since + SETTLE_S
    deadline = time.perf_counter() + 5.0
    while len(receiver.packets(GUILD, since=start, include_silence=False)) < WINDOW_PACKETS:
        assert time.perf_counter() < deadline, "no audio arrived"
        await asyncio.sleep(0.02)
    packets = receiver.packets(GUILD, since=start, include_silence=False)[:WINDOW_PACKETS]
    pcm = decode_opus([p.opus for p in packets])
    assert rms(pcm) > 0.05, "the audio is (nearly) silent"
    return dominant_hz(pcm, skip=960)  # a fresh decoder needs one frame to settle


def close_to(measured: float, expected: float) -> bool:
    return abs(measured / expected - 1) <= TOLERANCE


@pytest.mark.slow
async def test_play_filter_skip_stop_heard_at_the_voice_server(world: World, voice_receiver: VoiceReceiver) -> None:
    nightcore_rate = FILTER_PRESETS["nightcore"]["timescale"]["rate"]
    assert nightcore_rate == 1.25  # what SPEC §3 promises for the preset
    first_hz, _ = MEDIA["long440"]
    next_hz, _ = MEDIA["long660"]

    await world.join(ALICE)
    started = time.perf_counter()
    answer = await command(world, "play", {"query": "long440"})
    assert "Playing" in answer["content"]
    await command(world, "play", {"query": "long660"})  # queued behind it
    heard = await pitch_after(voice_receiver, started)
    assert close_to(heard, first_hz), heard

    changed = time.perf_counter()
    await command(world, "filter preset", {"name": "nightcore"})
    faster = await pitch_after(voice_receiver, changed)
    assert close_to(faster / heard, nightcore_rate), (heard, faster)

    skipped = time.perf_counter()
    answer = await command(world, "skip")
    assert "Tone long660" in answer["content"]
    after_skip = await pitch_after(voice_receiver, skipped)
    assert close_to(after_skip, next_hz * nightcore_rate), after_skip  # the guild's filters stay on

    answer = await command(world, "stop")
    assert "Stopped" in answer["content"]
    stopped = time.perf_counter()
    await asyncio.sleep(0.6)
    late = voice_receiver.packets(GUILD, since=stopped + SETTLE_S)
    audible = [p for p in late if p.opus != OPUS_SILENCE]
    assert audible == [], f"{len(audible)} audio packets after /stop"
    print(f"heard {heard:.1f} Hz, nightcore {faster:.1f} Hz, next track {after_skip:.1f} Hz, "
          f"{len(late)} silence packets after /stop")
