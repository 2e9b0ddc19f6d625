"""Late packets (``musicbot_voice_packets_late_total``) as the shared sender makes them.

The sender (``voice/sender.py``) runs for real (its thread, our ``VoiceClient`` and ``Player``, the
harness's voice server), on a fake clock: its waits move the clock instead of waiting, and the
track's source stalls the clock once by 100 ms. What is late is then exact, whatever the machine.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

import musicbot.voice.client
from musicbot.voice.client import VoiceClient
from musicbot.voice.player import Player
from musicbot.voice.protocol import EngineConfig
from musicbot.voice.render_client import RenderClient
from musicbot.voice.sender import Sender
from tests.harness import VoiceReceiver, play_to_end
from tests.harness.fixtures import *  # noqa: F403
from tests.harness.fixtures import OfflineBotFactory
from tests.voice.test_crossfade import Item, ToneSource

GUILD = 7200


class FakeClock:
    def __init__(self) -> None:
        self._now = 1000.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def wait(self, condition: threading.Condition, seconds: float | None) -> bool:
        if seconds is None:
            return condition.wait(0.01)  # nothing to send: really wait (briefly) for a player to come
        self.advance(max(0.0, seconds))
        return False

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


class StallingTone(ToneSource):
    """A PCM track whose ``stall_at``-th chunk takes ``stall_s`` to arrive (the clock moves meanwhile)."""

    def __init__(self, seconds: float, clock: FakeClock, *, stall_at: int, stall_s: float) -> None:
        super().__init__(seconds)
        self.clock, self.stall_at, self.stall_s = clock, stall_at, stall_s

    def read_nowait(self) -> Item:
        if self.reads == self.stall_at:
            self.clock.advance(self.stall_s)
        return super().read_nowait()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    """The clock of a sender the test's voice clients play through."""
    fake = FakeClock()
    sender = Sender(fake)
    monkeypatch.setattr(musicbot.voice.client, "shared_sender", lambda: sender)
    yield fake
    sender.stop()


def counter(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


# Packet 10 leaves 100 ms behind its slot; the sender then sends it without waiting, each packet
# 20 ms less behind (80, 60, 40, 20 ms), and packet 15 is on time again: five late packets. A stall
# in the first read delays the first packet, which opens the schedule (never late): none is late.
# Every other packet leaves exactly at its slot.
@pytest.mark.parametrize(("stall_at", "late_packets"), [(10, 5), (0, 0)])
async def test_a_stall_makes_the_packets_late_until_the_sender_has_caught_up(
    offline_bot_factory: OfflineBotFactory, voice_receiver: VoiceReceiver, clock: FakeClock,
    stall_at: int, late_packets: int,
) -> None:
    bot, vc = await offline_bot_factory.in_voice(GUILD, cls=VoiceClient)
    # Rendered in place, on the send thread: the stall happens between a packet's read and its send.
    player = Player(RenderClient(EngineConfig(normalize=False)), render_ahead=False, dispose=lambda source: None)
    player.play(StallingTone(0.6, clock, stall_at=stall_at, stall_s=0.1), token=1)  # type: ignore[arg-type]
    sent, late = counter("musicbot_voice_packets_sent_total"), counter("musicbot_voice_packets_late_total")

    await play_to_end(bot, vc, player)
    await voice_receiver.wait_until_quiet(GUILD, quiet_ms=50)

    assert counter("musicbot_voice_packets_sent_total") - sent == 30  # 0.6 s; not the 5 silence frames at the end
    assert len(voice_receiver.packets(GUILD)) == 30 + 5
    assert counter("musicbot_voice_packets_late_total") - late == late_packets
    await vc.disconnect(force=True)
