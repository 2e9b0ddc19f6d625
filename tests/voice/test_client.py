"""voice/client.py: the source hears about each packet once it has gone out, in discord.py's real voice stack."""

from __future__ import annotations

import discord

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


async def test_an_opus_packet_goes_out_byte_for_byte_as_discord_py_sends_it(
    offline_bot_factory: OfflineBotFactory, voice_receiver: VoiceReceiver
) -> None:
    # The sender's one-piece path (VoiceClient._send_opus) against discord.py's own send_audio_packet,
    # from the same counters: the same header, seal and nonce, also where each counter wraps around.
    _bot, vc = await offline_bot_factory.in_voice(GUILD + 1, cls=VoiceClient)
    sent: list[bytes] = []
    vc._connection.send_packet = sent.append  # type: ignore[method-assign]
    payload = b"\xfc\xff\xfe" + bytes(range(200))
    for sequence, timestamp, nonce in ((7, 960 * 5, 3), (65535, 4294967295 - 100, 4294967295)):
        ends = []
        for send in (lambda: vc.send_audio_packet(payload, encode=False),
                     lambda: discord.VoiceClient.send_audio_packet(vc, payload, encode=False)):
            vc.sequence, vc.timestamp, vc._incr_nonce = sequence, timestamp, nonce
            send()
            ends.append((vc.sequence, vc.timestamp, vc._incr_nonce))
        ours, theirs = sent[-2:]
        assert ours == theirs
        assert ends[0] == ends[1]
    assert ends[0] == (0, 0, 0)  # all three wrapped, as discord.py wraps them
    await vc.disconnect(force=True)
