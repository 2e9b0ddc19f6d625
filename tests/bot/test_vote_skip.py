"""Who skips at once and who votes when the server has no DJ role (where every other control is open to all)."""

from __future__ import annotations

from pathlib import Path

import discord
import pytest

from tests.bot.answers import command
from tests.bot.world import ADMIN, ALICE, BOB, GUILD, World, build_world, wait_for
from tests.harness import FakeDiscord, dispatch_interaction, join_voice
from tests.harness.fixtures import OfflineBotFactory
from tests.harness.payloads import member, role, user

MOD_ROLE = 1502
MOD = user(5005, "mod")  # may manage channels, not the server


@pytest.fixture
async def plain_world(offline_bot_factory: OfflineBotFactory, fake_discord: FakeDiscord, tmp_path: Path) -> World:
    """The test guild where @everyone may not manage channels, plus a "Mods" role that may."""
    everyone = discord.Permissions.general() | discord.Permissions.voice() | discord.Permissions.text()
    everyone.manage_channels = False
    world = await build_world(offline_bot_factory, fake_discord, tmp_path, everyone_permissions=everyone)
    mods = role(MOD_ROLE, "Mods", permissions=discord.Permissions(manage_channels=True), position=1)
    world.bot._connection.parse_guild_role_create({"guild_id": str(GUILD), "role": mods})  # type: ignore[arg-type]
    return world


async def test_without_a_dj_role_listeners_vote_and_channel_managers_skip(plain_world: World) -> None:
    world = plain_world
    await world.join(ALICE)
    for query in ("long440", "long660", "a440"):
        assert (await command(world, "play", {"query": query})).error is None
    await world.join(BOB)
    await join_voice(world.bot, GUILD, 1002, member(MOD, roles=[MOD_ROLE]))
    session = world.bot.sessions.get(GUILD)
    assert session is not None and session.queue.current is not None

    # Bob neither manages channels nor asked for the track: his skip is a vote (1 of ceil(0.5 × 3) = 2).
    vote = await command(world, "skip", user=BOB)
    assert "Vote counted: 1 of 2" in vote.content and session.queue.current.track.id == "local:long440"
    forced = await command(world, "forceskip", user=BOB)
    assert forced.ephemeral and "/skip to vote" in forced.content
    assert session.queue.current.track.id == "local:long440"

    # Someone with Manage Channels skips at once.
    mod = await command(world, "skip", user=MOD, roles=[MOD_ROLE])
    assert "Skipped." in mod.content and session.queue.current.track.id == "local:long660"
    # So does the requester.
    assert "Skipped (you requested it)" in (await command(world, "skip")).content
    assert session.queue.current.track.id == "local:a440"

    # /settings vote-skip now matters: all three listeners must vote.
    await world.bot.update_guild_settings(GUILD, ADMIN["id"], vote_skip_ratio=1.0)
    assert "Vote counted: 1 of 3" in (await command(world, "skip", user=BOB)).content


async def test_the_panel_skip_follows_the_same_rule(plain_world: World) -> None:
    world = plain_world
    await world.join(ALICE)
    for query in ("long440", "long660"):
        assert (await command(world, "play", {"query": query})).error is None
    await world.join(BOB)
    session = world.bot.sessions.get(GUILD)
    assert session is not None and session.queue.current is not None
    await wait_for(lambda: any(m.get("components") for m in world.fake.messages.values()))
    panel = [m for m in world.fake.messages.values() if m.get("components")][-1]
    click = world.fake.click("np:skip", guild_id=GUILD, message=panel, user=BOB)
    [answer] = await dispatch_interaction(world.bot, click, fake=world.fake)
    assert answer["data"]["flags"] & 64 and "/skip to vote" in answer["data"]["content"]
    assert session.queue.current.track.id == "local:long440"
