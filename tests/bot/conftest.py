"""Fixtures for the Discord interface tests: ``world`` is a logged-in MusicBotClient on the offline harness."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from tests.bot.world import World, build_world
from tests.harness.fixtures import *  # noqa: F403
from tests.harness.fixtures import FakeDiscord, OfflineBotFactory


@pytest_asyncio.fixture
async def world(
    offline_bot_factory: OfflineBotFactory, fake_discord: FakeDiscord, tmp_path: Path
) -> AsyncIterator[World]:
    yield await build_world(offline_bot_factory, fake_discord, tmp_path)
