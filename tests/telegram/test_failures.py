"""Failures on the Telegram side never disturb Discord: Telegram unreachable (the fake goes down), a token
Telegram rejects, the bot removed from the chat. Each is logged once, shown by /telegram status and in
/ready's details (which stays ready: readiness is about Discord), retried with backoff, and the bridge
recovers by itself when Telegram is back."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from musicbot.bot.ops import readiness
from tests.bot.answers import command, playing
from tests.bot.world import ALICE, GUILD, World, add_sweep, build_world, wait_for
from tests.harness import VoiceReceiver
from tests.harness.fake_telegram import TOKEN, FakeTelegram
from tests.harness.fixtures import FakeDiscord, OfflineBotFactory
from tests.storage.conftest import Outage
from tests.telegram.helpers import CHAT, TOM, as_admin, bridge_of, link, say


async def test_telegram_down_leaves_discord_playing_and_the_bridge_recovers(
        tg_world: World, fake_telegram: FakeTelegram, voice_receiver: VoiceReceiver,
        caplog: pytest.LogCaptureFixture) -> None:
    world, fake = tg_world, fake_telegram
    await link(world, fake)
    session = await playing(world, add_sweep(world))
    bridge = bridge_of(world)
    await voice_receiver.wait_for_packets(GUILD, 25, timeout=20)
    caplog.set_level(logging.DEBUG)
    await fake.down()
    await wait_for(lambda: bridge.state.value == "unreachable", timeout=30)
    # Discord goes on: packets keep coming, commands are answered, the panel's changes are made.
    heard = voice_receiver.count(GUILD)
    await voice_receiver.wait_for_packets(GUILD, heard + 50, timeout=10)
    answer = await command(world, "volume", {"percent": 70}, user=ALICE)
    assert answer.error is None and session.volume == 0.7
    details = readiness(world.bot).as_dict()
    assert details["status"] == "ready" and details["telegram"]["state"] == "unreachable"
    assert TOKEN not in json.dumps(details)
    status = await as_admin(world, "telegram status")
    fields = {f["name"]: f["value"] for f in status.embeds[0]["fields"]}
    assert "Telegram unreachable" in fields["Bridge"] and TOKEN not in json.dumps(status.embeds)
    warnings = [r for r in caplog.records
                if r.levelno >= logging.WARNING and "Telegram bridge unreachable" in r.message]
    await fake.up()
    await wait_for(lambda: bridge.state.value == "connected", timeout=45)
    assert len(warnings) == 1  # logged once, however many retries
    assert "Now playing" in await say(fake, TOM, "/np", expect="Now playing")
    # What changed meanwhile reaches the chat once it is back.
    await fake.wait_for_text(CHAT, "🔊 Volume: 70 %")
    await voice_receiver.wait_for_packets(GUILD, voice_receiver.count(GUILD) + 25, timeout=10)


@pytest_asyncio.fixture
async def rejected_world(offline_bot_factory: OfflineBotFactory, fake_discord: FakeDiscord,
                         fake_telegram: FakeTelegram, tmp_path: Path) -> AsyncIterator[World]:
    world = await build_world(offline_bot_factory, fake_discord, tmp_path, settings={
        "TELEGRAM_TOKEN": "999:AAWrongTokenTelegramDoesNotKnow000", "TELEGRAM_API_BASE": fake_telegram.base_url})
    yield world
    await world.bot.close()


async def test_a_rejected_token_is_reported_and_discord_works(rejected_world: World) -> None:
    world = rejected_world
    bridge = bridge_of(world)
    await wait_for(lambda: bridge.state.value == "token rejected", timeout=20)
    await playing(world, "long440")
    details = readiness(world.bot).as_dict()
    assert details["status"] == "ready" and details["telegram"]["state"] == "token rejected"
    assert "@BotFather" in details["telegram"]["last_error"] and "AAWrongToken" not in json.dumps(details)
    status = await as_admin(world, "telegram status")
    fields = {f["name"]: f["value"] for f in status.embeds[0]["fields"]}
    assert "token rejected" in fields["Bridge"] and "401" in fields["Last error"]
    answer = await as_admin(world, "telegram link", {"chat_id": CHAT})
    assert answer.error is not None and "not connected (token rejected)" in answer.content


async def test_the_bot_removed_from_the_chat_is_shown_and_the_rest_goes_on(tg_world: World,
                                                                           fake_telegram: FakeTelegram) -> None:
    world, fake = tg_world, fake_telegram
    await link(world, fake)
    session = await playing(world, add_sweep(world))
    await fake.wait_for_text(CHAT, "Now playing")
    await fake.bot_removed(CHAT, TOM)
    status_text = ""

    async def chat_problem() -> str:
        answer = await as_admin(world, "telegram status")
        return {f["name"]: f["value"] for f in answer.embeds[0]["fields"]}["Linked chat"]

    for _ in range(100):
        status_text = await chat_problem()
        if "removed from the chat" in status_text:
            break
        await asyncio.sleep(0.1)
    assert "removed from the chat" in status_text
    session.set_volume(0.5)  # the mirror's next send is refused (403): noted, nothing breaks
    answer = await command(world, "nowplaying", user=ALICE)
    assert answer.error is None
    refused = await as_admin(world, "all", {"reason": "movie night"})
    assert refused.error is not None and "does not accept the bot" in refused.content


async def test_a_database_outage_is_answered_and_discord_plays_on(tg_world: World, fake_telegram: FakeTelegram) -> None:
    world, fake = tg_world, fake_telegram
    await link(world, fake)
    session = await playing(world, add_sweep(world))
    outage = Outage(world.bot.db)
    outage.active = True
    try:
        assert "database is not reachable" in await say(fake, TOM, "/np", expect="⚠️")
        await fake.send(CHAT, TOM, "just chatting")  # not a command: nothing to answer, nothing breaks
    finally:
        outage.active = False
    assert session.queue.current is not None and not session.paused
    assert "Now playing" in await say(fake, TOM, "/np", expect="Now playing")
