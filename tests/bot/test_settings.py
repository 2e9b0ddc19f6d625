"""/settings (Manage Server) and /me through the real command tree.

Effects are read back from the database with a fresh repository (not the bot's cache), and from the live
session where a setting acts on it at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import discord
import pytest

from musicbot.queue.autoplay import AutoplayMode
from musicbot.storage import AuditLog, GuildSettings, GuildSettingsRepo, UserSettings
from tests.bot.answers import Answer, command, playing, refused, suggestions
from tests.bot.world import ADMIN, ALICE, BOB, DJ_ROLE, GUILD, TEXT, World, build_world, wait_for
from tests.harness import FakeDiscord
from tests.harness.fixtures import OfflineBotFactory
from tests.harness.payloads import OPT_CHANNEL, OPT_ROLE, Payload, channel, role

ADMIN_ROLE = 1501
ALICE_ID, ADMIN_ID = int(ALICE["id"]), int(ADMIN["id"])


async def admin(world: World, name: str, options: dict[str, Any] | None = None,
                resolved: Payload | None = None) -> Answer:
    return await command(world, f"settings {name}", options, user=ADMIN, roles=[ADMIN_ROLE], resolved=resolved)


async def stored(world: World) -> GuildSettings:
    return await GuildSettingsRepo(world.bot.db).get(GUILD)


def done(answer: Answer, text: str) -> bool:
    # Deferred (type 5) or not: a command that writes settings defers first, the user sees the same answer.
    return answer.type in (4, 5) and answer.ephemeral and answer.error is None and text in answer.content


def fields(answer: Answer) -> dict[str, str]:
    [embed] = answer.embeds
    return {f["name"]: f["value"] for f in embed["fields"]}


# ---------------------------------------------------------------- who may
@pytest.mark.parametrize(("name", "options"), [
    ("show", {}), ("volume", {"percent": 50}), ("stay", {"enabled": True}), ("reset", {}),
    ("filter", {"filter": "timescale", "allowed": False}),
])
async def test_settings_need_manage_server(world: World, name: str, options: dict[str, Any]) -> None:
    answer = await command(world, f"settings {name}", options, user=ALICE)
    assert refused(answer, "needs the Manage Server permission")
    assert await stored(world) == GuildSettings(GUILD)


async def test_show(world: World) -> None:
    answer = await admin(world, "show")
    assert answer.ephemeral and answer.error is None
    shown = fields(answer)
    assert shown["DJ role"] == "none: everyone controls" and shown["Default volume"] == "100 %"
    assert shown["Max track length"] == "no limit" and shown["Allowed filters"] == "all"
    assert shown["Normalization"] == "on, target -14 LUFS" and shown["Vote skip"] == "50 % of listeners"
    await world.bot.update_guild_settings(GUILD, ADMIN_ID, dj_role_id=DJ_ROLE, max_track_s=600.0,
                                          allowed_filters=["rotation"], announce_channel_id=TEXT)
    shown = fields(await admin(world, "show"))
    assert shown["DJ role"] == f"<@&{DJ_ROLE}>" and shown["Max track length"] == "10:00"
    assert shown["Allowed filters"] == "8D rotation" and shown["Announce channel"] == f"<#{TEXT}>"


# ---------------------------------------------------------------- each setting
async def test_dj_role_set_and_cleared(world: World) -> None:
    resolved = {"roles": {str(DJ_ROLE): role(DJ_ROLE, "DJ", position=1)}}
    answer = await admin(world, "dj", {"role": {"type": OPT_ROLE, "value": str(DJ_ROLE)}}, resolved)
    assert done(answer, f"DJ role: <@&{DJ_ROLE}>.")
    assert (await stored(world)).dj_role_id == DJ_ROLE
    audit = await AuditLog(world.bot.db).recent(GUILD)
    assert audit[0].actor_id == ADMIN_ID and audit[0].details == {"dj_role_id": [None, DJ_ROLE]}
    assert done(await admin(world, "dj"), "No DJ role: everyone can control the music.")
    assert (await stored(world)).dj_role_id is None


async def test_everyone_cannot_be_the_dj_role(world: World) -> None:
    resolved = {"roles": {str(GUILD): role(GUILD, "@everyone", position=0)}}
    answer = await admin(world, "dj", {"role": {"type": OPT_ROLE, "value": str(GUILD)}}, resolved)
    assert refused(answer, "@everyone can't be the DJ role")
    assert (await stored(world)).dj_role_id is None


async def test_numbers_and_switches_reach_the_live_session(world: World) -> None:
    session = await playing(world, "long440")
    assert done(await admin(world, "queue-limit", {"tracks": 50}), "at most 50 tracks")
    assert done(await admin(world, "track-limit", {"minutes": 10}), "at most 10:00")
    assert session.queue.limits.max_length == 50 and session.queue.limits.max_track_s == 600.0
    assert done(await admin(world, "stay", {"enabled": True}), "24/7 is on.")
    assert session.settings.always_on
    assert done(await admin(world, "normalization", {"enabled": False, "target_lufs": -20.0}),
                "Normalization is off, target -20 LUFS.")
    await wait_for(lambda: not session.player.engine.config.normalize
                   and session.player.engine.config.target_lufs == -20.0)
    assert done(await admin(world, "track-limit", {"minutes": 0}), "No limit on track length.")
    s = await stored(world)
    assert (s.max_queue_length, s.max_track_s, s.stay_24_7, s.normalization, s.target_lufs) == (50, None, True,
                                                                                                  False, -20.0)


async def test_volume_crossfade_autoplay_vote_skip(world: World) -> None:
    assert done(await admin(world, "volume", {"percent": 60}), "Default volume: 60 %.")
    assert done(await admin(world, "crossfade", {"seconds": 3.5}), "Crossfade: 3.5 s.")
    assert done(await admin(world, "autoplay", {"enabled": True, "mode": "artist"}),
                "Autoplay by default is on (artist).")
    assert done(await admin(world, "vote-skip", {"percent": 75}), "A vote skip needs 75 % of listeners.")
    s = await stored(world)
    assert (s.default_volume, s.crossfade_s, s.autoplay_default, s.autoplay_mode, s.vote_skip_ratio) == (
        60, 3.5, True, AutoplayMode.ARTIST, 0.75)
    assert done(await admin(world, "crossfade", {"seconds": 0.0}), "Crossfade is off.")


async def test_out_of_range_values_are_refused(world: World) -> None:
    # Discord's client enforces the ranges; a forged payload still gets a clear answer and changes nothing.
    assert refused(await admin(world, "volume", {"percent": 300}), "default_volume: 300 is out of range")
    assert refused(await admin(world, "crossfade", {"seconds": 20.0}), "crossfade_s: 20 is out of range")
    assert refused(await admin(world, "autoplay", {"enabled": True, "mode": "loud"}), "autoplay_mode: must be one of")
    assert refused(await admin(world, "filter", {"filter": "echo", "allowed": True}), "echo is not a filter")
    assert await stored(world) == GuildSettings(GUILD)


async def test_allow_and_forbid_filters(world: World) -> None:
    assert done(await admin(world, "filter", {"filter": "timescale", "allowed": False}), "Timescale is forbidden.")
    allowed = (await stored(world)).allowed_filters
    assert allowed is not None and "timescale" not in allowed and "reverb" in allowed
    await playing(world)
    assert refused(await command(world, "filter preset", {"name": "nightcore"}), "Timescale is not allowed")
    assert done(await admin(world, "filter", {"filter": "timescale", "allowed": True}), "Timescale is allowed.")
    assert (await stored(world)).allowed_filters is None
    assert done(await admin(world, "filter", {"filter": "all", "allowed": False}), "All filters are forbidden.")
    assert (await stored(world)).allowed_filters == ()
    assert done(await admin(world, "filter", {"filter": "reverb", "allowed": True}), "Reverb is allowed.")
    assert (await stored(world)).allowed_filters == ("reverb",)


async def test_announce_channel(world: World) -> None:
    text = {"id": str(TEXT), "type": 0, "name": "general", "permissions": "0"}
    answer = await admin(world, "announce", {"channel": {"type": OPT_CHANNEL, "value": str(TEXT)}},
                         {"channels": {str(TEXT): text}})
    assert done(answer, f"Announcements go to <#{TEXT}>.")
    assert (await stored(world)).announce_channel_id == TEXT
    assert done(await admin(world, "announce"), "Announcements go where music was asked for.")
    assert (await stored(world)).announce_channel_id is None


async def test_announce_channel_where_the_bot_cannot_post(offline_bot_factory: OfflineBotFactory,
                                                         fake_discord: FakeDiscord, tmp_path: Path) -> None:
    closed = 1099
    deny = {"id": str(GUILD), "type": 0, "allow": "0", "deny": str(discord.Permissions(send_messages=True).value)}
    world = await build_world(offline_bot_factory, fake_discord, tmp_path,
                              extra_channels=[channel(closed, guild_id=GUILD, name="rules", overwrites=[deny])])
    resolved = {"channels": {str(closed): {"id": str(closed), "type": 0, "name": "rules", "permissions": "0"}}}
    answer = await admin(world, "announce", {"channel": {"type": OPT_CHANNEL, "value": str(closed)}}, resolved)
    assert refused(answer, f"I can't send messages in <#{closed}>")
    assert (await stored(world)).announce_channel_id is None


async def test_fair_queue_and_duplicates_are_server_settings(world: World) -> None:
    session = await playing(world, "long440")
    await world.join(BOB)
    for query in ("a440", "a660", "long660"):
        assert (await command(world, "play", {"query": query})).error is None  # Alice floods the queue
    assert (await command(world, "play", {"query": "long440"}, user=BOB)).error is None
    assert [e.requester_id for e in session.queue.upcoming] == [ALICE_ID] * 3 + [int(BOB["id"])]
    assert done(await admin(world, "fair", {"enabled": True}), "Fair queue is on.")
    # Turns by requester: Bob first (Alice's track is playing: she just had her turn), then Alice, …
    assert [e.requester_id for e in session.queue.upcoming][:2] == [int(BOB["id"]), ALICE_ID]
    assert refused(await command(world, "move", {"from": 1, "to": 2}), "Fair mode decides the order")

    assert done(await admin(world, "duplicates", {"allowed": False}), "already playing or queued is refused")
    again = await command(world, "play", {"query": "a440"})
    assert again.ephemeral and "is already in the queue" in again.content
    assert done(await admin(world, "duplicates", {"allowed": True}), "Duplicate tracks are allowed.")
    assert (await command(world, "play", {"query": "a440"})).error is None
    s = await stored(world)
    assert (s.fair_queue, s.reject_duplicates) == (True, False)
    shown = fields(await admin(world, "show"))
    assert shown["Fair queue (turns by requester)"] == "on" and shown["Duplicate tracks"] == "allowed"


async def test_history_retention_and_the_audit_log(world: World) -> None:
    assert done(await admin(world, "history-retention", {"days": 30}), "Plays are kept 30 days")
    assert (await stored(world)).history_retention_days == 30
    assert refused(await admin(world, "history-retention", {"days": 0}), "days")
    assert done(await admin(world, "volume", {"percent": 70}), "Default volume: 70 %.")
    answer = await admin(world, "audit")
    assert answer.ephemeral and answer.error is None
    [embed] = answer.embeds
    lines = embed["description"].splitlines()
    assert f"<@{ADMIN_ID}>: default\\_volume: 100 → 70" in lines[0]  # newest first (markdown escaped)
    assert "history\\_retention\\_days: 180 → 30" in lines[1]
    assert refused(await command(world, "settings audit", user=ALICE), "needs the Manage Server permission")


async def test_reset(world: World) -> None:
    await world.bot.update_guild_settings(GUILD, ADMIN_ID, default_volume=30, stay_24_7=True, dj_role_id=DJ_ROLE,
                                          allowed_filters=["reverb"])
    assert done(await admin(world, "reset"), "Every setting is back to its default.")
    assert await stored(world) == GuildSettings(GUILD)


# ---------------------------------------------------------------- /me
async def me(world: World, name: str, options: dict[str, Any] | None = None) -> Answer:
    return await command(world, f"me {name}", options)


async def mine(world: World) -> UserSettings:
    return await world.bot.user_settings.get(ALICE_ID)


async def test_me_show(world: World) -> None:
    answer = await me(world, "show")
    assert answer.ephemeral and answer.error is None
    assert fields(answer) == {"Default volume": "the server's default", "Preferred filters": "none",
                              "Autoplay": "the server's default"}
    await world.bot.user_settings.update(ALICE_ID, default_volume=70, autoplay=False,
                                         preferred_filters={"rotation": {"rotationHz": 0.2}})
    assert fields(await me(world, "show")) == {"Default volume": "70 %", "Preferred filters": "8D rotation",
                                               "Autoplay": "off"}


async def test_me_volume_and_autoplay(world: World) -> None:
    assert done(await me(world, "volume", {"percent": 80}), "Your volume: 80 %.")
    assert (await mine(world)).default_volume == 80
    assert done(await me(world, "volume"), "Your volume: the server's default.")
    assert (await mine(world)).default_volume is None
    assert refused(await me(world, "volume", {"percent": 500}), "default_volume: 500 is out of range")
    assert done(await me(world, "autoplay", {"setting": "on"}), "Your autoplay: on.")
    assert (await mine(world)).autoplay is True
    assert done(await me(world, "autoplay", {"setting": "server"}), "Your autoplay: the server's default.")
    assert (await mine(world)).autoplay is None


async def test_my_volume_and_autoplay_start_the_music_i_start(world: World) -> None:
    await world.bot.update_guild_settings(GUILD, ADMIN_ID, default_volume=60)
    await me(world, "volume", {"percent": 30})
    await me(world, "autoplay", {"setting": "on"})
    session = await playing(world)  # Alice starts the music
    assert session.volume == pytest.approx(0.30)
    assert session.autoplay is not None
    await command(world, "play", {"query": "long440"}, user=BOB)  # the session exists: Bob's /play changes nothing
    assert session.volume == pytest.approx(0.30)


async def test_music_someone_else_starts_begins_at_the_servers_volume(world: World) -> None:
    await world.bot.update_guild_settings(GUILD, ADMIN_ID, default_volume=60)
    await me(world, "volume", {"percent": 30})  # Alice's, not Bob's
    session = await playing(world, user=BOB)
    assert session.volume == pytest.approx(0.60)
    assert session.autoplay is None


async def test_my_autoplay_off_wins_over_the_servers_on(world: World) -> None:
    await world.bot.update_guild_settings(GUILD, ADMIN_ID, autoplay_default=True)
    await me(world, "autoplay", {"setting": "off"})
    assert (await playing(world)).autoplay is None


async def test_the_music_starts_when_my_settings_cannot_be_read(world: World) -> None:
    await world.bot.update_guild_settings(GUILD, ADMIN_ID, default_volume=60)
    await me(world, "volume", {"percent": 30})
    await world.bot.db.close()
    session = await playing(world)  # the database is gone: the server's last known settings
    assert session.volume == pytest.approx(0.60)


async def test_me_filters(world: World) -> None:
    assert done(await me(world, "filters", {"choice": "nightcore"}), "Your preferred filters: Timescale.")
    assert (await mine(world)).preferred_filters == {"timescale": {"speed": 1.0, "pitch": 1.0, "rate": 1.25}}
    await playing(world)
    await command(world, "filter preset", {"name": "8d"})
    assert done(await me(world, "filters", {"choice": "current"}), "Your preferred filters: 8D rotation.")
    assert (await mine(world)).preferred_filters == {"rotation": {"rotationHz": 0.2}}
    assert done(await me(world, "filters", {"choice": "none"}), "Your preferred filters: none.")
    assert (await mine(world)).preferred_filters is None
    assert refused(await me(world, "filters", {"choice": "loud"}), "There is no preset “loud”")
    choices = await suggestions(world, "me filters", {"choice": ""}, "choice")
    assert [c["value"] for c in choices[:3]] == ["current", "none", "8d"]


async def test_me_reset_and_storage_outage(world: World) -> None:
    await world.bot.user_settings.update(ALICE_ID, default_volume=70, autoplay=True)
    assert done(await me(world, "reset"), "back to the server's defaults")
    assert await mine(world) == UserSettings(ALICE_ID)
    await world.bot.db.close()
    assert refused(await me(world, "show"), "The database is not reachable")
    assert refused(await me(world, "volume", {"percent": 50}), "The database is not reachable")
    assert refused(await admin(world, "volume", {"percent": 50}), "The database is not reachable")



async def test_crossfade_reaches_a_playing_session(world: World) -> None:
    session = await playing(world)
    assert session.settings.crossfade_s == 0.0
    assert done(await admin(world, "crossfade", {"seconds": 4.0}), "Crossfade: 4 s.")
    assert session.settings.crossfade_s == 4.0
