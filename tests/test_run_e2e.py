"""``musicbot run`` for real: a subprocess whose only difference from production is its environment, against the
fake Discord in this process. REST goes through a path prefix (``DISCORD_API_BASE``, as through nirn-proxy), the
gateway through ``DISCORD_GATEWAY_URL``, and voice over TLS that the bot trusts only through ``SSL_CERT_FILE``."""

from __future__ import annotations

import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from musicbot.sources.synth import tone, write_audio
from tests.bot.openapi import validate_requests
from tests.harness import FakeDiscord, VoiceReceiver, dominant_hz, guild_payload, user
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
