"""Fixtures for the Telegram bridge's tests: a fake Telegram Bot API server (``fake_telegram``: the test
fails on anything it refused as Telegram would) and ``tg_world``, the offline Discord world whose bot has
``TELEGRAM_TOKEN`` and ``TELEGRAM_API_BASE`` pointing at the fake, so it builds and starts the bridge as
production does. Every payload the bot sends to the fake Discord is checked against Discord's schema
(the hooks of tests/bot/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from musicbot.bot.ratelimit import Rate, RateLimiter
from tests.bot.conftest import (  # noqa: F401  (the hooks, and the world without Telegram)
    _sent_payloads_match_discord_schema,
    pytest_runtest_call,
    world,
)
from tests.bot.world import World, build_world
from tests.harness.fake_telegram import TOKEN, FakeTelegram
from tests.harness.fixtures import *  # noqa: F403
from tests.harness.fixtures import FakeDiscord, OfflineBotFactory


@pytest_asyncio.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
    assert fake.problems == [], "the bot sent Telegram what it would refuse"


@pytest_asyncio.fixture
async def tg_world(offline_bot_factory: OfflineBotFactory, fake_discord: FakeDiscord, fake_telegram: FakeTelegram,
                   tmp_path: Path) -> AsyncIterator[World]:
    built = await build_world(offline_bot_factory, fake_discord, tmp_path,
                              settings={"TELEGRAM_TOKEN": TOKEN, "TELEGRAM_API_BASE": fake_telegram.base_url})
    bridge = built.bot.telegram_bridge
    assert bridge is not None
    bridge.commands.rate_limiter = RateLimiter(Rate(10_000, 1.0), {})  # tests send many commands at once
    yield built
    await built.bot.close()  # before the fake Telegram stops (offline_bot_factory would close it after)
