"""Fixtures for the Discord interface tests: ``world`` is a logged-in MusicBotClient on the offline harness."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.bot.openapi import check_sent_payloads
from tests.bot.world import World, build_world
from tests.harness.fixtures import *  # noqa: F403
from tests.harness.fixtures import FakeDiscord, OfflineBotFactory


@pytest_asyncio.fixture
async def world(
    offline_bot_factory: OfflineBotFactory, fake_discord: FakeDiscord, tmp_path: Path
) -> AsyncIterator[World]:
    yield await build_world(offline_bot_factory, fake_discord, tmp_path)



# ---------------------------------------------------------------- every body the bot sends matches Discord's schema
# Checked right after the test body (a violation fails the test itself) and again after teardown (what the bot
# sent while shutting down). No opt-in: every test here that uses the fake Discord (directly or through ``world``)
# is covered. tests/bot/openapi.py says how the OpenAPI document is read.
@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    check_sent_payloads(item)
    return result


@pytest.fixture(autouse=True)
def _sent_payloads_match_discord_schema(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    check_sent_payloads(request.node)
