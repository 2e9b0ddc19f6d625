"""/play, /join, /leave, /search through discord.py's real command tree against the offline harness."""

from __future__ import annotations

from musicbot.bot.ratelimit import Rate, RateLimiter
from tests.bot.answers import command, ok, refused, suggestions
from tests.bot.world import ALICE, BOB, GUILD, TEXT, VOICE, VOICE2, World, wait_for
from tests.harness import bot_voice_channel_id, dispatch_interaction, invoke


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


async def test_play_autocomplete_suggests_search_results(world: World) -> None:
    choices = await suggestions(world, "play", {"query": "long"}, "query")
    assert [c["name"] for c in choices] == ["Generator - Tone long440 (0:06)", "Generator - Tone long660 (0:06)"]
    assert await suggestions(world, "play", {"query": "x"}, "query") == []  # one letter: no search
    assert await suggestions(world, "play", {"query": "zzz"}, "query") == []  # nothing found: no error either


async def test_search_autocomplete_suggests_words_not_links(world: World) -> None:
    choices = await suggestions(world, "search", {"query": "a44"}, "query")
    assert choices == [{"name": "Generator - Tone a440 (0:01)", "value": "Generator - Tone a440"}]


async def test_search_then_pick_plays_the_chosen_track(world: World) -> None:
    await world.join(ALICE)
    answer = await command(world, "search", {"query": "search:tones"})
    assert answer.type == 5 and answer.ephemeral and "`2.` Generator - Tone a660" in answer.content
    [message] = [m for m in world.fake.messages.values() if m["content"].startswith("Pick one")]
    [row] = message["components"]
    custom_id = row["components"][0]["custom_id"]

    stranger = world.fake.select(custom_id, ["1"], guild_id=GUILD, message=message, user=BOB)
    [refusal] = await dispatch_interaction(world.bot, stranger, fake=world.fake)
    assert refusal["data"]["flags"] & 64 and "someone else's search" in refusal["data"]["content"]

    pick = world.fake.select(custom_id, ["1"], guild_id=GUILD, message=message, user=ALICE)
    await dispatch_interaction(world.bot, pick, fake=world.fake)
    await world.fake.wait_for_request("POST", rf"^/webhooks/\d+/{pick['token']}$")
    session = world.bot.sessions.get(GUILD)
    assert session is not None and session.queue.current is not None
    assert session.queue.current.track.title == "Tone a660"


async def test_search_needs_voice_and_reports_nothing_found(world: World) -> None:
    assert refused(await command(world, "search", {"query": "search:x"}), "Join a voice channel")
    await world.join(ALICE)
    assert refused(await command(world, "search", {"query": "nothing here"}), "Nothing was found")


async def test_join_and_leave(world: World) -> None:
    assert refused(await command(world, "join"), "Join a voice channel first")
    await world.join(ALICE)
    answer = await command(world, "join")
    assert answer.error is None and "Joined" in answer.content
    assert bot_voice_channel_id(world.bot, GUILD) == VOICE
    again = await command(world, "join")
    assert again.ephemeral and "I'm already in" in again.content
    await world.join(BOB, VOICE2)
    assert refused(await command(world, "leave", user=BOB), "Join it to control the music")
    assert ok(await command(world, "leave"), "Left the voice channel")
    await wait_for(lambda: bot_voice_channel_id(world.bot, GUILD) is None)
    assert refused(await command(world, "leave"), "I'm not in a voice channel")


async def test_rate_limits_answer_with_when_to_retry(world: World) -> None:
    world.bot.tree.rate_limiter = RateLimiter(Rate(3, 60.0), {"play": Rate(1, 60.0)})
    await world.join(ALICE)
    assert (await command(world, "play", {"query": "long440"})).error is None
    second = await command(world, "play", {"query": "a660"})  # /play's own limit: 1 per minute
    assert second.ephemeral and "sending commands too fast" in second.content and "Try again in 60 s" in second.content
    session = world.bot.sessions.get(GUILD)
    assert session is not None and session.queue.upcoming == ()  # the refused /play queued nothing
    assert "too fast" not in (await command(world, "queue")).content  # other commands still work …
    assert "too fast" not in (await command(world, "queue")).content
    assert "too fast" in (await command(world, "queue")).content  # … up to the user's overall limit (3)
    assert "too fast" not in (await command(world, "queue", user=BOB)).content  # other users are not limited
