"""The client's start-up against the offline Discord harness: database migrated, endpoints up."""

from __future__ import annotations

import socket
from pathlib import Path

import aiohttp

from musicbot.bot.client import MusicBotClient
from musicbot.config import load_config
from musicbot.storage import current_revision, head_revision
from tests.harness.fixtures import *  # noqa: F403
from tests.harness.fixtures import OfflineBotFactory


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_start_up_migrates_the_database_and_serves_ready(
    offline_bot_factory: OfflineBotFactory, tmp_path: Path
) -> None:
    port = free_port()
    config = load_config({"MUSICBOT_DATA_DIR": str(tmp_path), "MUSICBOT_HTTP_PORT": str(port)},
                         toml_path=tmp_path / "none.toml")
    bot = await offline_bot_factory(MusicBotClient(config))
    assert await current_revision(config.database_url) == head_revision()
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/ready") as resp:
        body = await resp.json()
    assert resp.status == 200 and body["discord"] == "connected" and body["database"]["state"] == "ok"
    await bot.close()
    assert bot.database is not None and bot.database.health().state.value == "down"
