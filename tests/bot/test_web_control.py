"""The dashboard's side of the bot (``bot/web_control.py``) on the real client: a dashboard user is
held to the slash commands' rules (the DJ role, the voice channel, the guild's allowed filters),
and ``rights`` tells the page the same answers ahead of time."""

from __future__ import annotations

import pytest

from musicbot.bot.web_control import WebControl
from musicbot.errors import MusicBotError
from musicbot.web.player_api import Action, NotAllowedError, UnknownGuildError
from tests.bot.test_control import playing, with_dj_role
from tests.bot.world import ADMIN, ALICE, BOB, DJ, GUILD, VOICE2, World


async def test_a_non_dj_is_refused_where_a_dj_role_is_set_and_is_told_so_ahead(world: World) -> None:
    session = await playing(world, "long440")
    web = WebControl(world.bot)
    await with_dj_role(world)
    await world.join(BOB)  # with someone else listening, "alone with the bot" no longer lets Bob act
    rights = await web.rights(GUILD, int(BOB["id"]))
    assert not rights.dj and not rights.control.allowed and "DJ role" in (rights.control.why_not or "")
    with pytest.raises(NotAllowedError, match="DJ role"):
        await web.act(GUILD, int(BOB["id"]), Action("pause"))
    assert not session.paused
    await world.join(DJ)
    rights = await web.rights(GUILD, int(DJ["id"]))
    assert rights.dj and rights.control.allowed and rights.control.why_not is None
    assert (await web.act(GUILD, int(DJ["id"]), Action("pause"))).paused
    assert session.paused


async def test_rights_follow_the_voice_channel_as_the_commands_do(world: World) -> None:
    await playing(world, "long440")
    web = WebControl(world.bot)
    outside = await web.rights(GUILD, int(BOB["id"]))  # in the server, in no voice channel
    assert not outside.control.allowed and "Join a voice channel" in (outside.control.why_not or "")
    assert not outside.add.allowed
    await world.join(BOB, VOICE2)  # in another voice channel than the bot's
    elsewhere = await web.rights(GUILD, int(BOB["id"]))
    assert not elsewhere.control.allowed and "Join it to control the music" in (elsewhere.control.why_not or "")
    assert not elsewhere.add.allowed
    alice = await web.rights(GUILD, int(ALICE["id"]))  # with the bot, and the track's requester
    assert alice.control.allowed and alice.add.allowed and alice.skip.allowed
    with pytest.raises(UnknownGuildError):
        await web.rights(GUILD + 99, int(ALICE["id"]))


async def test_a_filter_the_server_forbids_is_shown_and_refused_all_or_nothing(world: World) -> None:
    session = await playing(world, "long440")
    web = WebControl(world.bot)
    await world.bot.update_guild_settings(GUILD, ADMIN["id"], allowed_filters=("timescale",))
    rights = await web.rights(GUILD, int(ALICE["id"]))
    assert "reverb" in rights.forbidden_filters and "timescale" not in rights.forbidden_filters
    with pytest.raises(MusicBotError, match="Reverb is not allowed on this server"):
        await web.act(GUILD, int(ALICE["id"]), Action("filters", {"timescale": {"pitch": 1.2}, "reverb": {}}))
    assert session.filters.timescale is None  # nothing applied: the allowed part waits for a valid whole
    view = await web.act(GUILD, int(ALICE["id"]), Action("filters", {"timescale": {"pitch": 1.2}}))
    assert view.filters["timescale"]["pitch"] == 1.2
