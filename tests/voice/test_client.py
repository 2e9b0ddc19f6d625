"""voice/client.py: the source hears about each packet once it has gone out, in discord.py's real voice stack."""

from __future__ import annotations

from musicbot.voice.client import VoiceClient
from tests.harness import SineSource, VoiceReceiver, play_to_end
from tests.harness.fixtures import *  # noqa: F403
from tests.harness.fixtures import OfflineBotFactory

GUILD = 7000


class CountingSource(SineSource):
    """Records, in order, each packet handed out and each 'it has been sent'."""

    def __init__(self) -> None:
        super().__init__(440.0, 0.5)
        self.log: list[str] = []

    def read(self) -> bytes:
        data = super().read()
        if data:
            self.log.append("read")
        return data

    def after_send(self) -> None:
        self.log.append("sent")


async def test_every_packet_sent_is_followed_by_after_send(
    offline_bot_factory: OfflineBotFactory, voice_receiver: VoiceReceiver, fast_playback: float
) -> None:
    bot, vc = await offline_bot_factory.in_voice(GUILD, cls=VoiceClient)
    source = CountingSource()
    await play_to_end(bot, vc, source)
    await voice_receiver.wait_until_quiet(GUILD, quiet_ms=50)
    assert source.log[:50] == ["read", "sent"] * 25  # 0.5 s of 20 ms packets, each told after it went out
    assert source.log[50:] == ["sent"] * 5  # discord.py's silence frames at the end go the same way
    assert len(voice_receiver.packets(GUILD)) == 25 + 5  # and all of them (+ discord.py's 5 silence frames) arrived
    await vc.disconnect(force=True)
