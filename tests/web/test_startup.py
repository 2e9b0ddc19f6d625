"""The bot's ops server is up before anything slow: ``/health`` answers while Discord does not."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import aiohttp
import discord
import pytest

from musicbot.bot.client import MusicBotClient
from musicbot.config import load_config
from tests.web.scrape import free_port, get_json, scrape


async def test_health_answers_and_ready_says_what_it_waits_for_while_discord_never_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the bot hangs up
        writer.close()

    # A "Discord" that takes the connection and never answers: the login hangs (a proxy that
    # swallows traffic, a firewall dropping replies).
    silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    discord_port = silent.sockets[0].getsockname()[1]
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{discord_port}/api/v10")
    port = free_port()
    config = load_config({"MUSICBOT_DATA_DIR": str(tmp_path), "MUSICBOT_HTTP_PORT": str(port)},
                         toml_path=tmp_path / "none.toml")
    bot = MusicBotClient(config)
    login = asyncio.create_task(bot.login("token"))
    try:
        for _ in range(500):
            with contextlib.suppress(aiohttp.ClientConnectionError):
                health = await get_json(port, "/health")
                break
            await asyncio.sleep(0.01)
        assert health == (200, {"status": "ok"})
        status, body = await get_json(port, "/ready")
        assert status == 503 and body["status"] == "not ready"
        assert body["waiting_for"] == ["discord", "database"]  # the database opens after the login
        assert body["discord"] == "connecting" and body["database"] == {"state": "opening"}
        assert (await scrape(port)).value("musicbot_ready") == 0
        assert not login.done()  # still waiting for Discord all along
    finally:
        login.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await login
        await bot.close()
        silent.close()
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectionError):
            await http.get(f"http://127.0.0.1:{port}/health")  # closed with the bot

