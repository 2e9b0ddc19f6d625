"""``musicbot sync``: the dry-run payload lists every command of every cog and is a valid body for Discord's bulk
overwrite; a real sync against the offline fake Discord registers exactly that list."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from discord import app_commands
from discord.ext import commands

from musicbot.bot.cogs.all import COGS
from musicbot.cli import main
from tests.bot.openapi import DiscordOpenAPI
from tests.harness import APP_ID, FakeDiscord, json_response
from tests.harness.http_proxy import HttpProxy

GUILD_ID = 424242


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """A clean environment: no token, no dev guild, an empty config file, data in tmp."""
    for name in ("DISCORD_TOKEN", "MUSICBOT_DEV_GUILD", "DISCORD_API_BASE", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "empty.toml").write_text("")
    monkeypatch.setenv("MUSICBOT_CONFIG", str(tmp_path / "empty.toml"))
    monkeypatch.setenv("MUSICBOT_DATA_DIR", str(tmp_path / "data"))
    return monkeypatch


def expected_commands() -> set[str]:
    """Every command path the cogs in COGS declare (``"play"``, ``"filter preset"``, …), read from the cog classes
    themselves, not from the tree under test."""
    names: set[str] = set()

    def add(cmd: app_commands.Command[Any, ..., Any] | app_commands.Group, prefix: str) -> None:
        path = f"{prefix}{cmd.name}"
        names.add(path)
        if isinstance(cmd, app_commands.Group):
            for sub in cmd.commands:
                add(sub, path + " ")

    for cog in COGS:
        declared = cog.__cog_app_commands__
        if issubclass(cog, commands.GroupCog) and cog.__cog_is_app_commands_group__:
            names.add(cog.__cog_group_name__)
            for cmd in declared:
                add(cmd, cog.__cog_group_name__ + " ")
        else:
            for cmd in declared:
                add(cmd, "")
    return names


def payload_commands(payload: list[dict[str, Any]]) -> set[str]:
    """Command paths in a registration payload: top-level commands, subcommand groups (type 2), subcommands (1)."""
    names: set[str] = set()

    def walk(options: list[dict[str, Any]], prefix: str) -> None:
        for opt in options:
            if opt["type"] in (1, 2):
                names.add(prefix + opt["name"])
                walk(opt.get("options") or [], prefix + opt["name"] + " ")

    for cmd in payload:
        names.add(cmd["name"])
        walk(cmd.get("options") or [], cmd["name"] + " ")
    return names


def run_dry(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    assert main(["sync", "--dry-run", *args]) == 0
    out = capsys.readouterr().out
    payload = json.loads(out)
    assert isinstance(payload, list)
    return payload


@pytest.fixture
def dry_payload(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[list[dict[str, Any]]]:
    yield run_dry(capsys)


def test_dry_run_lists_every_command_of_every_cog(dry_payload: list[dict[str, Any]]) -> None:
    expected = expected_commands()
    assert expected, "no cog declares any command"
    assert payload_commands(dry_payload) == expected
    top_level = [c["name"] for c in dry_payload]
    assert len(top_level) == len(set(top_level))


def test_dry_run_is_a_valid_bulk_overwrite_body(dry_payload: list[dict[str, Any]]) -> None:
    spec = DiscordOpenAPI.load()
    assert spec.errors("PUT", f"/applications/{APP_ID}/commands", dry_payload) == []
    assert all(c["type"] == 1 for c in dry_payload)  # slash commands, no context menus


def test_dry_run_for_a_guild_is_the_same_list_and_valid(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], dry_payload: list[dict[str, Any]]
) -> None:
    guild_payload = run_dry(capsys, "--guild", str(GUILD_ID))
    assert guild_payload == dry_payload
    spec = DiscordOpenAPI.load()
    assert spec.errors("PUT", f"/applications/{APP_ID}/guilds/{GUILD_ID}/commands", guild_payload) == []


def test_dry_run_needs_no_token_and_sync_does(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sync"]) == 2
    assert "DISCORD_TOKEN is not set" in capsys.readouterr().err


def registered_as_sent(registered: list[dict[str, Any]], sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The registered commands without the fields Discord adds (id, version, application_id…)."""
    return [{k: r[k] for k in s} for r, s in zip(registered, sent, strict=True)]


async def test_sync_registers_the_dry_run_list_globally(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fake_discord: FakeDiscord
) -> None:
    dry = await asyncio.to_thread(run_dry, capsys)
    env.setenv("DISCORD_TOKEN", "token")
    env.setenv("DISCORD_API_BASE", fake_discord.base_url)
    assert await asyncio.to_thread(main, ["sync"]) == 0  # its own event loop, like the real command
    assert registered_as_sent(fake_discord.commands["global"], dry) == dry
    [put] = fake_discord.calls("PUT", r"/commands$")
    assert put.path == f"/applications/{APP_ID}/commands"
    assert f"registered {len(dry)} commands globally: /play" in capsys.readouterr().out


async def test_sync_to_one_guild(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fake_discord: FakeDiscord
) -> None:
    dry = await asyncio.to_thread(run_dry, capsys, "--guild", str(GUILD_ID))
    env.setenv("DISCORD_TOKEN", "token")
    env.setenv("DISCORD_API_BASE", fake_discord.base_url)
    env.setenv("MUSICBOT_DEV_GUILD", str(GUILD_ID))  # the default for --guild
    assert await asyncio.to_thread(main, ["sync"]) == 0
    assert registered_as_sent(fake_discord.commands[GUILD_ID], dry) == dry
    assert "global" not in fake_discord.commands
    assert f"in guild {GUILD_ID}" in capsys.readouterr().out


async def test_sync_goes_through_the_outbound_proxy_like_the_bot(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fake_discord: FakeDiscord
) -> None:
    async with HttpProxy() as proxy:
        env.setenv("DISCORD_TOKEN", "token")
        env.setenv("DISCORD_API_BASE", fake_discord.base_url)
        env.setenv("HTTP_PROXY", proxy.url)
        assert await asyncio.to_thread(main, ["sync"]) == 0
        assert f"{fake_discord.base_url}/applications/{APP_ID}/commands" in proxy.targets()
    assert "registered" in capsys.readouterr().out


async def test_a_refused_token_is_one_clear_line(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fake_discord: FakeDiscord
) -> None:
    fake_discord.add_handler("GET", "/users/@me", lambda r, m: json_response({"message": "401: Unauthorized",
                                                                                  "code": 0}, 401))
    env.setenv("DISCORD_TOKEN", "wrong")
    env.setenv("DISCORD_API_BASE", fake_discord.base_url)
    assert await asyncio.to_thread(main, ["sync"]) == 2
    err = capsys.readouterr().err
    assert "DISCORD_TOKEN was refused" in err and "Traceback" not in err
    assert fake_discord.commands == {}


async def test_a_rejected_payload_is_reported(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fake_discord: FakeDiscord
) -> None:
    body = {"message": "Invalid Form Body", "code": 50035, "errors": {"0": {"name": {"_errors": [
        {"code": "APPLICATION_COMMAND_INVALID_NAME", "message": "Command name is invalid"}]}}}}
    fake_discord.add_handler("PUT", r"/applications/\d+/commands", lambda r, m: json_response(body, 400))
    env.setenv("DISCORD_TOKEN", "token")
    env.setenv("DISCORD_API_BASE", fake_discord.base_url)
    assert await asyncio.to_thread(main, ["sync"]) == 1
    err = capsys.readouterr().err
    assert "Discord refused the commands" in err and "Traceback" not in err


async def test_start_up_registers_the_commands_once_until_they_change(
    offline_bot_factory: Any, fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    from tests.bot.world import build_world, restart_world

    world = await build_world(offline_bot_factory, fake_discord, tmp_path)
    registrations = fake_discord.calls("PUT", r"^/applications/\d+/commands$")
    assert len(registrations) == 1  # a fresh data folder: the commands are registered at start
    assert payload_commands(registrations[0].json) == expected_commands()

    world = await restart_world(offline_bot_factory, world)
    assert len(fake_discord.calls("PUT", r"^/applications/\d+/commands$")) == 1  # unchanged: not again

    (world.config.data_dir / "commands.sha256").write_text("an older command set\n")
    await restart_world(offline_bot_factory, world)
    assert len(fake_discord.calls("PUT", r"^/applications/\d+/commands$")) == 2
