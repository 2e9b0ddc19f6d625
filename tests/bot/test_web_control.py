"""The dashboard's side of the bot (``bot/web_control.py``) on the real client: a dashboard user is
held to the slash commands' rules (the DJ role, the voice channel, the guild's allowed filters),
and ``rights`` tells the page the same answers ahead of time."""

from __future__ import annotations

import pytest

from musicbot.bot.web_control import WebControl
from musicbot.errors import MusicBotError
from musicbot.storage import PlaylistOwner, PlaylistShelf
from musicbot.web.player_api import Action, NotAllowedError, UnknownGuildError
from tests.bot.test_control import playing, with_dj_role
from tests.bot.world import ADMIN, ALICE, BOB, DJ, GUILD, VOICE2, World, track_for


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


async def test_the_servers_playlists_and_shared_ones_are_listed_and_loaded_by_load_as(world: World) -> None:
    alice, bob = int(ALICE["id"]), int(BOB["id"])
    tone = track_for("a440", world.media["a440"])
    await world.bot.playlists.save(PlaylistOwner.guild(GUILD), "Party", [tone])
    await world.bot.playlists.save(bob, "Party", [track_for("a660", world.media["a660"])])
    shared = await world.bot.playlists.save(alice, "Chill", [tone, tone])
    await PlaylistShelf(world.bot.db).share(shared, GUILD, "alice")
    web = WebControl(world.bot)
    views = await web.server_playlists(GUILD, bob)
    assert [(v.name, v.whose, v.track_count) for v in views] == [("Party", "server", 1), ("Chill", "shared", 2)]
    assert [(v.name, v.whose, v.load_as) for v in await web.playlists(bob)] == [("Party", "yours", "Party")]
    await world.join(BOB)
    queued, _ = await web.load_playlist(GUILD, bob, views[0].load_as, False)  # the server's, not Bob's own
    assert [e.title for e in queued] == ["Tone a440"]
    queued, _ = await web.load_playlist(GUILD, bob, "chill", False)  # a name works too, as in /playlist load
    assert len(queued) == 2
    with pytest.raises(UnknownGuildError):
        await web.server_playlists(GUILD + 99, bob)
