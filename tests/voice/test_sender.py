"""The shared sender: every voice connection's packets from one thread, on each connection's own
20 ms schedule, with discord.py's pause, stop and end behaviour."""

from __future__ import annotations

import asyncio
import threading

import discord

from musicbot.voice.client import VoiceClient
from musicbot.voice.player import Player
from musicbot.voice.protocol import OPUS_SILENCE, EngineConfig
from musicbot.voice.render_client import RenderClient
from tests.harness import VoiceReceiver, play_to_end
from tests.harness.fixtures import *  # noqa: F403
from tests.harness.fixtures import OfflineBotFactory
from tests.voice.test_crossfade import ToneSource

GUILDS = (7300, 7310, 7320)


def _player(seconds: float) -> Player:
    player = Player(RenderClient(EngineConfig(normalize=False)), dispose=lambda source: None)
    player.play(ToneSource(seconds), token=1)  # type: ignore[arg-type]
    return player


async def test_three_guilds_play_at_once_from_one_thread(
    offline_bot_factory: OfflineBotFactory, voice_receiver: VoiceReceiver, fast_playback: float
) -> None:
    connected = [await offline_bot_factory.in_voice(g, cls=VoiceClient) for g in GUILDS]
    before = set(threading.enumerate())
    plays = [play_to_end(bot, vc, _player(0.4)) for bot, vc in connected]
    running = asyncio.gather(*plays)
    await asyncio.sleep(0.05)
    started = set(threading.enumerate()) - before
    assert len([t for t in started if t.name == "voice-sender"]) <= 1  # the process's sender, if it was not running
    assert not any(isinstance(t, discord.player.AudioPlayer) for t in threading.enumerate())  # no thread per guild
    await running
    for guild in GUILDS:
        await voice_receiver.wait_until_quiet(guild, quiet_ms=50)
        packets = [p.opus for p in voice_receiver.packets(guild)]
        assert len(packets) == 20 + 5 and packets[-5:] == [OPUS_SILENCE] * 5  # 0.4 s, then the end's silence
        assert OPUS_SILENCE not in packets[:-5]
        assert voice_receiver.sequence_contiguous(guild)


async def test_pause_sends_five_silence_frames_then_nothing_until_resumed(
    offline_bot_factory: OfflineBotFactory, voice_receiver: VoiceReceiver, fast_playback: float
) -> None:
    bot, vc = await offline_bot_factory.in_voice(GUILDS[0], cls=VoiceClient)
    done = asyncio.Event()
    vc.play(_player(0.4), after=lambda error: bot.loop.call_soon_threadsafe(done.set))
    await voice_receiver.wait_for_packets(GUILDS[0], 5)
    vc.pause()
    assert vc.is_paused() and not vc.is_playing()
    await voice_receiver.wait_until_quiet(GUILDS[0], quiet_ms=60)
    paused = [p.opus for p in voice_receiver.packets(GUILDS[0])]
    assert paused[-5:] == [OPUS_SILENCE] * 5 and OPUS_SILENCE not in paused[:-5]
    await asyncio.sleep(0.05)
    assert voice_receiver.count(GUILDS[0]) == len(paused)  # nothing while paused
    vc.resume()
    await asyncio.wait_for(done.wait(), 5)
    await voice_receiver.wait_until_quiet(GUILDS[0], quiet_ms=50)
    audio = [p for p in voice_receiver.packets(GUILDS[0]) if p.opus != OPUS_SILENCE]
    assert len(audio) == 20  # every packet of the track, none lost to the pause
    assert not vc.is_playing()
