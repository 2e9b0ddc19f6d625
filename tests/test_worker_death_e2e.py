"""A render worker killed mid-track, with its guilds sent by the real sender in batches
(voice/channel.py): every guild's track plays on to its end from this process, with at most what the worker held
skipped (the frame in flight and the chunks forwarded ahead of it), no gap in the sequence and
the tone at its level after the kill."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np

from musicbot.dsp.frame import FRAME_SAMPLES
from musicbot.voice.processes import RenderProcesses
from musicbot.voice.protocol import OPUS_SILENCE
from tests.harness import VoiceReceiver
from tests.harness.fixtures import *  # noqa: F403
from tests.harness.fixtures import OfflineBotFactory
from tests.test_session_e2e import (
    G1,
    G2,
    TEXT1,
    TEXT2,
    VOICE1,
    VOICE2,
    make_session,
    media,  # noqa: F401  # the fixture
    tone_amplitude,
    wait_idle,
)


async def test_tracks_play_on_in_this_process_when_their_render_worker_is_killed(
    offline_bot_factory: OfflineBotFactory, voice_receiver: VoiceReceiver, media: dict[str, Path],  # noqa: F811
) -> None:
    workers = RenderProcesses(1)
    try:
        _, sessions, members, _ = await make_session(
            offline_bot_factory, media, guilds=((G1, TEXT1, VOICE1), (G2, TEXT2, VOICE2)), processes=workers)
        for session, member in zip(sessions, members, strict=True):
            await session.play("long440", member)  # a FLAC: every packet rendered (and encoded) in the worker
        await voice_receiver.wait_for_packets(G1, 50)
        await voice_receiver.wait_for_packets(G2, 50)
        (pid,) = workers.pids
        os.kill(pid, signal.SIGKILL)
        for session, guild in zip(sessions, (G1, G2), strict=True):
            await wait_idle(session, voice_receiver, guild)
            audio = voice_receiver.packets(guild)[:-5]  # the five silence frames of the end left out
            # The rest of the 3 s track: what the worker held (the frame in flight, the few chunks
            # forwarded ahead of it) is skipped, as tests/voice/test_render_client.py allows.
            assert 150 - 10 <= len(audio) <= 150
            assert [p.opus for p in audio].count(OPUS_SILENCE) <= 2  # at most what was in flight
            assert voice_receiver.sequence_contiguous(guild)
            pcm = voice_receiver.decode_pcm(guild)[: len(audio) * FRAME_SAMPLES]
            level = tone_amplitude(pcm, 440.0)[60 : len(audio) - 3]  # from after the kill to the end
            assert np.median(level) > 0.3 and np.mean(level > 0.2) > 0.97
    finally:
        workers.stop()
