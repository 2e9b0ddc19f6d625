"""``musicbot run`` for real: a subprocess whose only difference from production is its environment, against the
fake Discord in this process. REST goes through a path prefix (``DISCORD_API_BASE``, as through nirn-proxy), the
gateway through ``DISCORD_GATEWAY_URL``, and voice over TLS that the bot trusts only through ``SSL_CERT_FILE``."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from musicbot.sources.synth import sweep, sweep_position, tone, write_audio
from tests.bot.openapi import validate_requests
from tests.harness import FakeDiscord, RtpPacket, VoiceReceiver, decode_opus, dominant_hz, guild_payload, user
from tests.harness.bot_process import BotProcesses, bot_env
from tests.harness.fixtures import bot_processes  # noqa: F401  (fixture)
from tests.harness.main_gateway import GATEWAY_PATH
from tests.harness.tls import SelfSignedCert, make_self_signed_cert, openssl_available, server_context

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not openssl_available(), reason="needs the openssl command for the voice certificate"),
]

PREFIX = "/proxy/api/v10"
GUILD, TEXT, VOICE = 1_100_000_000_000_000_001, 1_100_000_000_000_000_002, 1_100_000_000_000_000_003
ALICE = user(5001, "alice")
TONE_HZ = 523.25
# Packets of 20 ms heard before the tone is measured: two seconds of it, whatever the start-up took.
TONE_PACKETS = 100


@pytest.fixture
def cert(tmp_path: Path) -> SelfSignedCert:
    return make_self_signed_cert(tmp_path / "tls")


@pytest.fixture
def music_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "music"
    folder.mkdir()
    write_audio(folder / "tone-523.flac", tone(TONE_HZ, 20.0))
    return folder


@pytest_asyncio.fixture
async def fake(cert: SelfSignedCert) -> AsyncIterator[FakeDiscord]:
    """The fake with REST only under the prefix, voice over TLS, one guild where Alice sits in the voice channel."""
    fake = FakeDiscord(api_prefix=PREFIX)
    await fake.start()
    try:
        await fake.serve_voice_tls(server_context(cert))
        fake.main_gateway.add_guild(guild_payload(GUILD, text_id=TEXT, voice_id=VOICE, members=[ALICE]))
        await fake.main_gateway.set_user_voice(GUILD, ALICE, VOICE)  # no bot yet: carried by GUILD_CREATE
        yield fake
    finally:
        await fake.stop()


async def test_musicbot_run_plays_through_the_proxies_and_stops_on_sigint(
    fake: FakeDiscord, cert: SelfSignedCert, music_dir: Path, tmp_path: Path, bot_processes: BotProcesses  # noqa: F811
) -> None:
    bot = bot_processes.start(fake, bot_env(fake, tmp_path / "data", music_dir=music_dir, ca_file=cert.cert))
    await bot.wait_ready()

    play = fake.slash("play", {"query": "local:tone-523.flac"}, guild_id=GUILD, channel_id=TEXT, user=ALICE)
    await fake.main_gateway.interaction(play)
    callback = (await fake.wait_for_request("POST", rf"^/interactions/{play['id']}/", timeout=30))[0]
    assert callback.url_path.startswith(PREFIX + "/interactions/")

    await fake.main_gateway.wait_bot_channel(GUILD, VOICE)
    receiver = VoiceReceiver(fake)
    await receiver.wait_for_packets(GUILD, TONE_PACKETS, timeout=60)
    assert abs(dominant_hz(receiver.decode_pcm(GUILD, skip_silence=True)) - TONE_HZ) < 5
    assert fake.voice_port is not None and fake.sessions[GUILD].mode is not None  # the wss:// handshake went through
    answers = await fake.wait_for_request(None, rf"^/webhooks/\d+/{play['token']}", timeout=30)  # after the defer
    assert "tone-523" in json.dumps(answers[0].json)

    bot.send_signal(signal.SIGINT)
    assert await bot.wait_exit(timeout=30) == 0
    assert fake.main_gateway.bot_channel(GUILD) is None  # it left voice on its way out

    # Every REST call (login, command sync, the callback, the answer) went through the prefix, every gateway
    # connection through DISCORD_GATEWAY_URL, and what the bot sent is what Discord accepts.
    assert fake.requests and all(r.url_path.startswith(PREFIX + "/") for r in fake.requests)
    assert fake.unrouted == []
    assert {c.path for c in fake.main_gateway.connections} == {GATEWAY_PATH}
    assert any(r.method == "PUT" and r.path.endswith("/commands") for r in fake.requests)
    validate_requests(fake.requests)


async def test_a_missing_ca_file_stops_musicbot_run_with_one_line(
    fake: FakeDiscord, tmp_path: Path, bot_processes: BotProcesses  # noqa: F811
) -> None:
    """OpenSSL would ignore it silently and voice would fail much later with a certificate error."""
    missing = tmp_path / "no-such-ca.pem"
    bot = bot_processes.start(fake, bot_env(fake, tmp_path / "data", ca_file=missing))
    assert await bot.wait_exit(timeout=60) == 2
    assert bot.log().strip().splitlines()[-1] == (
        f"musicbot: error: SSL_CERT_FILE={missing} is not a file: point it at a PEM bundle of the CA certificates "
        "to trust, or unset it"
    )
    assert fake.requests == []  # nothing was attempted with a trust store it did not mean to use


# ---------------------------------------------------------------- shutdown, restart, crash
SWEEP_FILE_S = 60.0  # long enough never to end during the test
WINDOW = 25  # packets (0.5 s) per pitch reading: the sweep moves 10 Hz in it; FFT bins of 2 Hz
SNAPSHOT_INTERVAL_S = 1.0


def _position(packets: list[RtpPacket], *, at_end: bool) -> float:
    """Where in the sweep the first (or the last) ``WINDOW`` packets of audio were: the pitch heard over the
    window gives its middle; half a window back (or on) gives its start (or its end)."""
    window = packets[-WINDOW:] if at_end else packets[1 : WINDOW + 1]  # a fresh decoder's first frame settles
    assert len(window) == WINDOW, f"only {len(packets)} packets of audio"
    middle = sweep_position(dominant_hz(decode_opus([p.opus for p in window]), skip=960))
    return middle + (WINDOW * 0.02 / 2) * (1 if at_end else -1)


async def _audio_of_next_session(receiver: VoiceReceiver, before: set[int], packets: int = WINDOW + 2,
                                 timeout: float = 90.0) -> list[RtpPacket]:
    """The audio of the first voice session (SSRC) not in ``before``, once ``packets`` of it arrived."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        fresh = [s for s in receiver.ssrcs(GUILD) if s not in before]
        audio = receiver.packets(GUILD, ssrc=fresh[0], include_silence=False) if fresh else []
        if len(audio) >= packets:
            return audio
        assert loop.time() < deadline, f"no audio from a new voice session ({len(audio)} packets)"
        await asyncio.sleep(0.05)


def _metric(text: str, name: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and not sample.labels:
                return float(sample.value)
    raise AssertionError(f"{name} is not in /metrics")


async def test_musicbot_run_resumes_after_sigterm_and_after_sigkill(
    fake: FakeDiscord, cert: SelfSignedCert, tmp_path: Path, bot_processes: BotProcesses  # noqa: F811
) -> None:
    music = tmp_path / "music"
    music.mkdir()
    write_audio(music / "sweep.flac", sweep(SWEEP_FILE_S))
    env = bot_env(fake, tmp_path / "data", music_dir=music, ca_file=cert.cert,
                  MUSICBOT_SNAPSHOT_INTERVAL=f"{SNAPSHOT_INTERVAL_S:g}s")
    receiver = VoiceReceiver(fake)

    # 1. /play, heard at the voice server; /metrics shows the player and its packets.
    bot = bot_processes.start(fake, env)
    await bot.wait_ready()
    play = fake.slash("play", {"query": "local:sweep.flac"}, guild_id=GUILD, channel_id=TEXT, user=ALICE)
    await fake.main_gateway.interaction(play)
    first = await _audio_of_next_session(receiver, set(), packets=150)  # three seconds in
    received_before = len(receiver.packets(GUILD))
    status, text = await bot.http_get("/metrics")
    received_after = len(receiver.packets(GUILD))
    assert status == 200
    assert _metric(text, "musicbot_players_active") == 1.0 and _metric(text, "musicbot_queue_tracks") == 0.0
    # Counted once sent: at least what had arrived before the scrape, at most what arrived after it.
    assert received_before - 2 <= _metric(text, "musicbot_voice_packets_sent_total") <= received_after + 2
    assert _metric(text, "musicbot_frame_render_seconds_count") >= received_before - 2

    # 2. SIGTERM: exit 0 within 10 s, out of voice; where the last audio was is where it must carry on.
    bot.send_signal(signal.SIGTERM)
    assert await bot.wait_exit(timeout=10) == 0
    assert fake.main_gateway.bot_channel(GUILD) is None
    ssrc = first[0].ssrc
    stopped_at = _position(receiver.packets(GUILD, ssrc=ssrc, include_silence=False), at_end=True)
    assert stopped_at > 2.5

    # 3. Started again: it rejoins by itself and carries on the same track within 1 s of that position.
    seen = set(receiver.ssrcs(GUILD))
    bot = bot_processes.start(fake, env)
    resumed = await _audio_of_next_session(receiver, seen, packets=150)
    assert abs(_position(resumed, at_end=False) - stopped_at) < 1.0, (_position(resumed, at_end=False), stopped_at)
    assert fake.main_gateway.bot_channel(GUILD) == VOICE

    # 4. SIGKILL mid-track (no shutdown at all): started again, it resumes from its last snapshot, which is at
    # most the snapshot interval behind what was heard (plus the half packet of a pitch reading).
    bot.kill()
    await bot.wait_exit(timeout=10)
    killed_at = _position(receiver.packets(GUILD, ssrc=resumed[0].ssrc, include_silence=False), at_end=True)
    seen = set(receiver.ssrcs(GUILD))
    bot = bot_processes.start(fake, env)
    after_crash = _position(await _audio_of_next_session(receiver, seen), at_end=False)
    assert killed_at - SNAPSHOT_INTERVAL_S - 0.3 <= after_crash <= killed_at + 0.3, (after_crash, killed_at)

    bot.send_signal(signal.SIGTERM)
    assert await bot.wait_exit(timeout=10) == 0
