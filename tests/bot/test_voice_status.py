"""The voice channel's status (issue 19) through the real client: set to the track (every body checked
against Discord's OpenAPI description by tests/bot/conftest.py), changed for the next, cleared when the
music stops or the bot leaves; a server setting; a missing permission reported once, not per track."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import discord
from aiohttp import web

from musicbot.bot.voice_status import SETTLE_S, status_text
from tests.bot.answers import command, playing
from tests.bot.test_settings import fields
from tests.bot.world import ADMIN, GUILD, TEXT, VOICE, World, build_world, wait_for
from tests.harness import FakeDiscord, json_response
from tests.harness.fake_discord import RecordedRequest
from tests.harness.fixtures import OfflineBotFactory

ADMIN_ROLE = 1501
STATUS = rf"^/channels/{VOICE}/voice-status$"


def statuses(world: World) -> list[Any]:
    return [r.json["status"] for r in world.fake.calls("PUT", STATUS)]


async def quiet(world: World) -> None:
    """Long enough for the keeper to have acted on everything so far (it settles for SETTLE_S)."""
    await asyncio.sleep(SETTLE_S * 3)


async def test_status_follows_the_track_and_is_cleared_when_the_music_stops(world: World) -> None:
    session = await playing(world, "long440")
    await wait_for(lambda: statuses(world) == ["🎶 Tone long440 — Generator"])
    assert (await command(world, "play", {"query": "a660"})).error is None
    assert (await command(world, "skip")).error is None
    await wait_for(lambda: statuses(world)[-1:] == ["🎶 Tone a660 — Generator"])
    assert (await command(world, "stop")).error is None
    await wait_for(lambda: statuses(world)[-1:] == [None])  # cleared: {"status": null}
    assert session.queue.current is None
    assert len(statuses(world)) == 3  # one request per change, no repeats


async def test_status_is_cleared_when_the_bot_leaves(world: World) -> None:
    await playing(world, "long440")
    await wait_for(lambda: len(statuses(world)) == 1)
    assert (await command(world, "leave")).error is None
    await wait_for(lambda: statuses(world)[-1:] == [None])


async def test_turned_off_by_the_server_clears_it_and_sets_no_more(world: World) -> None:
    await playing(world, "long440")
    await wait_for(lambda: len(statuses(world)) == 1)
    answer = await command(world, "settings voice-status", {"enabled": False}, user=ADMIN, roles=[ADMIN_ROLE])
    assert answer.error is None and "The voice channel status is off." in answer.content
    await wait_for(lambda: statuses(world)[-1:] == [None])
    assert (await command(world, "play", {"query": "a660"})).error is None
    assert (await command(world, "skip")).error is None
    await quiet(world)
    assert statuses(world) == ["🎶 Tone long440 — Generator", None]


def announcements(world: World) -> list[str]:
    return [m["content"] for m in world.fake.channel_messages(TEXT) if "Set Voice Channel Status" in m["content"]]


async def test_a_refusal_by_discord_is_reported_once_not_per_track(world: World) -> None:
    def forbidden(request: RecordedRequest, match: Any) -> web.Response:
        return json_response({"message": "Missing Permissions", "code": 50013}, 403)

    world.fake.add_handler("PUT", r"/channels/\d+/voice-status", forbidden)
    await playing(world, "a440")
    await wait_for(lambda: len(announcements(world)) == 1)
    for query in ("a660", "a440"):  # two more tracks
        assert (await command(world, "play", {"query": query})).error is None
    await wait_for(lambda: world.bot.sessions.get(GUILD) is not None
                   and world.bot.sessions.get(GUILD).queue.current is None, timeout=10)  # type: ignore[union-attr]
    await quiet(world)
    assert len(world.fake.calls("PUT", STATUS)) == 1  # asked once: 403s count against the bot
    assert len(announcements(world)) == 1
    [message] = announcements(world)
    assert f"<#{VOICE}>" in message and "/settings voice-status off" in message
    shown = fields(await command(world, "settings show", user=ADMIN, roles=[ADMIN_ROLE]))
    assert f"<#{VOICE}>" in shown["⚠️ Voice channel status"]
    # The admin fixes it and saves the setting again: tried again, and it works.
    world.fake._handlers.clear()
    assert (await command(world, "play", {"query": "long440"})).error is None
    assert (await command(world, "settings voice-status", {"enabled": True}, user=ADMIN,
                          roles=[ADMIN_ROLE])).error is None
    await wait_for(lambda: statuses(world)[-1:] == ["🎶 Tone long440 — Generator"])
    assert "⚠️ Voice channel status" not in fields(await command(world, "settings show", user=ADMIN,
                                                                 roles=[ADMIN_ROLE]))


async def test_without_the_permission_nothing_is_asked_and_admins_are_told_once(
        offline_bot_factory: OfflineBotFactory, fake_discord: FakeDiscord, tmp_path: Path) -> None:
    everyone = discord.Permissions.general() | discord.Permissions.voice() | discord.Permissions.text()
    everyone.set_voice_channel_status = False
    world = await build_world(offline_bot_factory, fake_discord, tmp_path, everyone_permissions=everyone)
    await playing(world, "a440")
    await wait_for(lambda: len(announcements(world)) == 1)
    assert (await command(world, "play", {"query": "a660"})).error is None
    await quiet(world)
    await asyncio.sleep(1.2)  # a440 ended and a660 started meanwhile
    assert world.fake.calls("PUT", STATUS) == [] and len(announcements(world)) == 1


def test_status_text_is_one_short_line() -> None:
    assert status_text("A\nB   C", "") == "🎶 A B C"
    long = status_text("x" * 600, "y")
    assert len(long) == 120 and long.endswith("…")
