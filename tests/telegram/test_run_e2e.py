"""The real ``musicbot run`` with ``TELEGRAM_TOKEN`` and ``TELEGRAM_API_BASE`` pointing at the fake Telegram,
against the fake Discord: a chat linked with the code, a song asked for in Telegram heard at the fake voice
receiver, the mirror's message posted and edited, its skip button heard (the next track's tone), and Telegram
going down: Discord plays on and answers, ``/ready`` stays ready and shows the bridge unreachable, and the bridge
answers again once Telegram is back."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from musicbot.sources.synth import tone, write_audio
from tests.harness import FakeDiscord, VoiceReceiver, dominant_hz, guild_payload, user
from tests.harness.bot_process import BotProcess, BotProcesses, bot_env
from tests.harness.fake_telegram import TOKEN, FakeTelegram
from tests.harness.tls import make_self_signed_cert, openssl_available, server_context
from tests.telegram.helpers import CHAT, TOM, make_chat, say

GUILD = 9101
TEXT, VOICE = GUILD + 1, GUILD + 2
OWNER = user(4102, "owner")  # owns the guild: Manage Server
ALICE = user(4101, "alice")


async def answer_of(fake: FakeDiscord, payload: dict[str, Any], timeout: float = 30.0) -> str:
    """What the user who ran ``payload`` reads: the callback's content, or the last followup's once deferred."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        callbacks = fake.callbacks(payload)
        if callbacks and callbacks[0]["type"] == 4:
            return str(callbacks[0]["data"].get("content") or "")
        sent = [f.json for f in fake.followups(payload) if isinstance(f.json, dict) and f.json.get("content")]
        if sent:
            return str(sent[-1]["content"])
        await asyncio.sleep(0.1)
    raise TimeoutError(f"no answer to /{payload['data']['name']}")


async def until_state(bot: BotProcess, state: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = await bot.http_get("/ready")
        if status == 200 and json.loads(body).get("telegram", {}).get("state") == state:
            return dict(json.loads(body))
        await asyncio.sleep(0.2)
    raise TimeoutError(f"the bridge is not {state!r}: {await bot.http_get('/ready')}\n{bot.tail()}")


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.05)


async def hear(receiver: VoiceReceiver, hz: float) -> None:
    """Listen a second at a time until ``hz`` is the loudest (a track change takes a moment to be heard)."""
    heard = 0.0
    for _ in range(20):
        since = time.perf_counter()
        await receiver.wait_for_packets(GUILD, receiver.count(GUILD) + 50, timeout=20)
        heard = dominant_hz(receiver.decode_pcm(GUILD, since=since))
        if abs(heard - hz) < 10:
            return
    pytest.fail(f"heard {heard:.0f} Hz, not {hz:.0f}")


@pytest.mark.slow
@pytest.mark.skipif(not openssl_available(), reason="needs the openssl command for the voice certificate")
async def test_musicbot_run_bridges_telegram_and_survives_its_outage(
        bot_processes: BotProcesses, fake_discord: FakeDiscord, fake_telegram: FakeTelegram, tmp_path: Path) -> None:
    fake, telegram = fake_discord, fake_telegram
    music = tmp_path / "music"
    music.mkdir()
    write_audio(music / "tone-440.flac", tone(440.0, 40.0))
    write_audio(music / "tone-660.flac", tone(660.0, 40.0))
    cert = make_self_signed_cert(tmp_path / "tls")
    await fake.serve_voice_tls(server_context(cert))
    fake.main_gateway.add_guild(guild_payload(GUILD, text_id=TEXT, voice_id=VOICE, members=[OWNER, ALICE],
                                              owner_id=int(OWNER["id"])))
    await fake.main_gateway.set_user_voice(GUILD, ALICE, VOICE)
    make_chat(telegram)
    bot = bot_processes.start(fake, bot_env(fake, tmp_path / "data", music_dir=music, ca_file=cert.cert,
                                            TELEGRAM_TOKEN=TOKEN, TELEGRAM_API_BASE=telegram.base_url))
    await bot.wait_ready()
    await until_state(bot, "connected")

    # Link: the code shown in Discord, sent back by the chat's admin.
    link = fake.slash("telegram link", {"chat_id": CHAT}, guild_id=GUILD, channel_id=TEXT, user=OWNER)
    await fake.main_gateway.interaction(link)
    found = re.search(r"/confirm ([A-Z0-9]{8})", await answer_of(fake, link))
    assert found is not None
    await say(telegram, TOM, f"/confirm {found.group(1)}", expect="linked to the Discord server")

    # /play from Telegram, heard: the bot was brought to the voice channel from Discord first.
    assert "start the music in Discord first" in await say(telegram, TOM, "/play local:tone-440.flac", expect="⚠️")
    join = fake.slash("join", guild_id=GUILD, channel_id=TEXT, user=ALICE)
    await fake.main_gateway.interaction(join)
    await answer_of(fake, join)
    receiver = VoiceReceiver(fake)
    assert "Playing" in await say(telegram, TOM, "/play local:tone-440.flac", expect="Playing")
    await hear(receiver, 440.0)
    assert "Queued" in await say(telegram, TOM, "/play local:tone-660.flac", expect="Queued")

    # The mirror: posted, then edited (a pause from Discord), with its buttons.
    message = await telegram.wait_for_text(CHAT, "Now playing")
    assert "tone-440" in message.visible and "Requested by Tom (Telegram)" in message.visible
    pause = fake.slash("pause", guild_id=GUILD, channel_id=TEXT, user=ALICE)
    await fake.main_gateway.interaction(pause)
    await answer_of(fake, pause)
    await until(lambda: message.visible.startswith("⏸ Paused"))  # the same message, edited in place
    assert message.edits and message.buttons()[0]["text"] == "▶️ Resume"
    resume = fake.slash("resume", guild_id=GUILD, channel_id=TEXT, user=ALICE)
    await fake.main_gateway.interaction(resume)
    await answer_of(fake, resume)

    # Its skip button: the next track's tone is heard.
    await until(lambda: message.visible.startswith("🎶 Now playing"))
    [skip] = [b["callback_data"] for b in message.buttons() if "Skip" in b["text"]]
    pressed = await telegram.press(CHAT, TOM, message.message_id, skip)
    await until(lambda: pressed in telegram.callback_answers)
    assert telegram.callback_answers[pressed]["text"] == "⏭ Skipped"
    await hear(receiver, 660.0)

    # Telegram goes down: Discord plays on and answers; /ready stays ready and tells.
    await telegram.down()
    details = await until_state(bot, "unreachable")
    assert details["status"] == "ready" and TOKEN not in json.dumps(details)
    heard = receiver.count(GUILD)
    await receiver.wait_for_packets(GUILD, heard + 100, timeout=10)
    volume = fake.slash("volume", {"percent": 80}, guild_id=GUILD, channel_id=TEXT, user=ALICE)
    await fake.main_gateway.interaction(volume)
    assert "80" in await answer_of(fake, volume)
    # It comes back: the bridge answers again, and the chat hears of what changed meanwhile.
    await telegram.up()
    await until_state(bot, "connected")
    assert "tone-660" in await say(telegram, TOM, "/np", expect="Now playing")
    await telegram.wait_for_text(CHAT, "🔊 Volume: 80 %")
    await receiver.wait_for_packets(GUILD, receiver.count(GUILD) + 50, timeout=10)
    assert bot.returncode is None and "Traceback" not in bot.log()
