"""/play, /join, /leave, /search through discord.py's real command tree against the offline harness."""

from __future__ import annotations

from tests.bot.world import ALICE, BOB, GUILD, TEXT, VOICE2, World, wait_for
from tests.harness import invoke


async def test_play_joins_the_users_channel_and_plays(world: World) -> None:
    await world.join(ALICE)
    payload = world.fake.slash("play", {"query": "a440"}, guild_id=GUILD, channel_id=TEXT, user=ALICE)
    assert await invoke(world.bot, payload) is None
    callbacks = world.fake.callbacks(payload)
    assert callbacks[0]["type"] == 5  # deferred: resolving may take longer than 3 s
    followup = world.fake.followups(payload)[-1].json
    assert "Playing" in followup["content"] and "Tone a440" in followup["content"]
    session = world.bot.sessions.get(GUILD)
    assert session is not None and session.queue.current is not None
    await wait_for(lambda: world.fake.rtp != [])


async def test_play_refuses_a_user_outside_voice_ephemerally(world: World) -> None:
    payload = world.fake.slash("play", {"query": "a440"}, guild_id=GUILD, channel_id=TEXT, user=BOB)
    await invoke(world.bot, payload)
    [callback] = world.fake.callbacks(payload)
    assert callback["type"] == 4 and callback["data"]["flags"] & 64
    assert "Join a voice channel" in callback["data"]["content"]


async def test_play_from_another_channel_is_refused(world: World) -> None:
    await world.join(ALICE)
    await invoke(world.bot, world.fake.slash("play", {"query": "long440"}, guild_id=GUILD, channel_id=TEXT,
                                             user=ALICE))
    await world.join(BOB, VOICE2)
    payload = world.fake.slash("play", {"query": "a660"}, guild_id=GUILD, channel_id=TEXT, user=BOB)
    await invoke(world.bot, payload)
    [callback] = world.fake.callbacks(payload)
    assert callback["data"]["flags"] & 64 and "Join it to control the music" in callback["data"]["content"]


async def test_not_found_after_defer_is_ephemeral(world: World) -> None:
    await world.join(ALICE)
    payload = world.fake.slash("play", {"query": "no such thing"}, guild_id=GUILD, channel_id=TEXT, user=ALICE)
    await invoke(world.bot, payload)
    assert world.fake.callbacks(payload)[0]["type"] == 5
    calls = world.fake.followups(payload)
    assert calls[0].method == "DELETE"  # the public "thinking…" goes away
    assert calls[-1].json["flags"] & 64 and "Nothing was found" in calls[-1].json["content"]
