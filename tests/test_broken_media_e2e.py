"""Broken files over /play: each is reported in a short message in users' words, and the queue goes
on to the next track (GuildSession through discord.py's real player against the offline harness)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import broken_media
from tests.harness import VoiceReceiver, dominant_hz
from tests.harness.fixtures import *  # noqa: F403
from tests.harness.fixtures import OfflineBotFactory
from tests.media import tone, write_audio
from tests.test_session_e2e import G1, make_session, wait_idle

BROKEN: dict[str, tuple[Callable[[Path], Path], str]] = {  # query → (how the file is made, the words heard)
    "cut.ogg": (broken_media.truncated, "The file is cut short"),
    "noise.mp3": (broken_media.random_bytes, "This is not an audio file the bot can read, or it is damaged."),
    "holes.flac": (broken_media.corrupt_middle, "The file ends early"),
    "lying.wav": (broken_media.lying_wav, "The file is cut short: it stops after 0:02."),
    "tiny.wav": (broken_media.one_sample_wav, "The file holds almost no audio"),
}


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("broken")
    files = {query: make(root / query) for query, (make, _) in BROKEN.items()}
    files["a660"] = write_audio(root / "a660.flac", tone(660.0, 1.0))
    return files


async def test_each_broken_file_is_announced_in_users_words_and_the_queue_goes_on(
    offline_bot_factory: OfflineBotFactory, voice_receiver: VoiceReceiver, media: dict[str, Path],
    fast_playback: float, caplog: pytest.LogCaptureFixture,
) -> None:
    _, [session], [alice], messages = await make_session(offline_bot_factory, media)
    for query in [*BROKEN, "a660"]:
        await session.play(query, alice)
    await wait_idle(session, voice_receiver, G1)

    for query, (_, words) in BROKEN.items():
        said = [m for m in messages if m.startswith(f"Skipped {query}: ")]
        assert len(said) == 1 and words in said[0], messages
    assert len(messages) == len(BROKEN)
    assert not any("internal error" in m or "Server returned" in m or str(media["a660"].parent) in m
                   for m in messages)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # no traceback logged as a crash
    pcm = voice_receiver.decode_pcm(G1)
    assert abs(dominant_hz(pcm[-40 * 960: -10 * 960]) - 660.0) < 5  # the good track after them played
