"""/pause, /resume, /skip (votes), /forceskip, /previous, /replay, /seek, /stop, /volume through the real tree.

Each command: what the user sees (callback type, content, ephemeral flag) and what it did to the session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from musicbot.bot.tree import UNEXPECTED
from musicbot.session import GuildSession
from musicbot.track import Track
from tests.bot.world import ADMIN, ALICE, BOB, DJ, DJ_ROLE, GUILD, TEXT, VOICE2, World, wait_for
from tests.harness import invoke, leave_voice
from tests.harness.payloads import Payload

ROLES = {DJ["id"]: [DJ_ROLE]}


@dataclass
class Answer:
    type: int  # 4: answered at once, 5: deferred ("thinking…") then a followup
    content: str
    ephemeral: bool
    embeds: list[dict[str, Any]]
    components: list[dict[str, Any]]
    error: BaseException | None  # what reached the tree's on_error (refusals do), None on success


async def command(world: World, name: str, options: dict[str, Any] | None = None, *, user: Payload = ALICE) -> Answer:
    """Run ``/name`` as ``user`` and return the answer they see."""
    payload = world.fake.slash(name, options, guild_id=GUILD, channel_id=TEXT, user=user,
                               roles=ROLES.get(user["id"], []))
    error = await invoke(world.bot, payload)
    [first, *_] = world.fake.callbacks(payload)
    data = first["data"] if first["type"] == 4 else world.fake.followups(payload)[-1].json
    answer = Answer(first["type"], data.get("content") or "", bool((data.get("flags") or 0) & 64),
                    data.get("embeds") or [], data.get("components") or [], error)
    assert UNEXPECTED not in answer.content, error  # a bug, not a refusal
    return answer


def refused(answer: Answer, text: str) -> bool:
    return answer.ephemeral and answer.content.startswith("⚠️") and text in answer.content and answer.error is not None


def ok(answer: Answer, text: str) -> bool:
    return not answer.ephemeral and text in answer.content and answer.error is None


async def playing(world: World, *queries: str, user: Payload = ALICE) -> GuildSession:
    """``user`` joins voice and queues ``queries``; the first one plays."""
    await world.join(user)
    for query in queries:
        answer = await command(world, "play", {"query": query}, user=user)
        assert answer.error is None, answer.content
    session = world.bot.sessions.get(GUILD)
    assert session is not None and session.queue.current is not None
    return session


async def with_dj_role(world: World) -> None:
    await world.bot.update_guild_settings(GUILD, ADMIN["id"], dj_role_id=DJ_ROLE)


def names(session: GuildSession) -> list[str]:
    return [e.track.id.removeprefix("local:") for e in session.queue.upcoming]


# ---------------------------------------------------------------- /pause, /resume
async def test_pause_and_resume(world: World) -> None:
    session = await playing(world, "long440")
    assert ok(await command(world, "pause"), "Paused")
    assert session.paused
    assert refused(await command(world, "pause"), "already paused")
    assert ok(await command(world, "resume"), "Resumed")
    assert not session.paused
    assert refused(await command(world, "resume"), "not paused")


async def test_pause_refusals_not_in_voice_wrong_channel_not_connected(world: World) -> None:
    assert refused(await command(world, "pause"), "I'm not in a voice channel")
    session = await playing(world, "long440")
    assert refused(await command(world, "pause", user=BOB), "Join a voice channel")
    await world.join(BOB, VOICE2)
    assert refused(await command(world, "pause", user=BOB), "Join it to control the music")
    assert not session.paused


async def test_pause_needs_the_dj_role_unless_alone(world: World) -> None:
    session = await playing(world, "long440")
    await with_dj_role(world)
    assert ok(await command(world, "pause"), "Paused")  # alone with the bot: allowed
    await command(world, "resume")
    await world.join(BOB)
    assert refused(await command(world, "pause", user=BOB), "needs the DJ role")
    assert not session.paused
    await world.join(DJ)
    assert ok(await command(world, "pause", user=DJ), "Paused")
    assert session.paused


async def test_the_dj_role_still_applies_while_the_database_is_down(world: World) -> None:
    session = await playing(world, "long440")
    await with_dj_role(world)
    await world.join(BOB)
    world.bot._settings_cache.clear()  # the short-lived cache expired …
    await world.bot.db.close()  # … and the database went away: the last settings read still apply
    assert refused(await command(world, "pause", user=BOB), "needs the DJ role")
    assert not session.paused


async def test_pause_with_nothing_playing(world: World) -> None:
    await world.join(ALICE)
    await command(world, "join")
    assert refused(await command(world, "pause"), "Nothing is playing")
    assert refused(await command(world, "resume"), "Nothing is playing")


# ---------------------------------------------------------------- /skip, /forceskip
async def test_skip_by_the_requester_is_immediate(world: World) -> None:
    session = await playing(world, "long440", "long660")
    await with_dj_role(world)
    await world.join(BOB)
    answer = await command(world, "skip")
    assert ok(answer, "Skipped (you requested it)") and "Now playing: Generator - Tone long660" in answer.content
    assert session.queue.current is not None and session.queue.current.track.id == "local:long660"


async def test_vote_skip_with_two_listeners(world: World) -> None:
    """DJ queued the tracks and left; ALICE and BOB listen; with a ratio of 1 both must vote."""
    session = await playing(world, "long440", "long660", user=DJ)
    await with_dj_role(world)
    await world.bot.update_guild_settings(GUILD, ADMIN["id"], vote_skip_ratio=1.0)
    await world.join(ALICE)
    await world.join(BOB)
    await leave_voice(world.bot, GUILD, DJ)
    first = await command(world, "skip", user=ALICE)
    assert ok(first, "Vote counted: 1 of 2 votes")
    assert session.queue.current is not None and session.queue.current.track.id == "local:long440"
    assert refused_softly(await command(world, "skip", user=ALICE), "You already voted: 1 of 2")
    last = await command(world, "skip", user=BOB)
    assert ok(last, "Skipped: 2 of 2 votes") and "Tone long660" in last.content
    assert session.queue.current.track.id == "local:long660"
    # A fresh track starts a fresh tally.
    assert ok(await command(world, "skip", user=BOB), "Vote counted: 1 of 2 votes")


def refused_softly(answer: Answer, text: str) -> bool:
    """An ephemeral note that is not an error (e.g. a repeated vote)."""
    return answer.ephemeral and text in answer.content and answer.error is None


async def test_skip_by_a_dj_is_immediate_and_the_last_skip_empties_the_queue(world: World) -> None:
    session = await playing(world, "long440")
    await with_dj_role(world)
    await world.join(BOB)
    await world.join(DJ)
    answer = await command(world, "skip", user=DJ)
    assert ok(answer, "Skipped.") and "The queue is empty now" in answer.content
    assert session.queue.current is None
    assert session.voice is not None and session.voice.is_connected()
    assert refused(await command(world, "skip", user=DJ), "Nothing is playing")


async def test_skip_to_a_position(world: World) -> None:
    session = await playing(world, "long440", "long660", "a440", "a660")
    answer = await command(world, "skip", {"to": 2})
    assert ok(answer, "Jumped to") and "Tone a440" in answer.content
    assert session.queue.current is not None and session.queue.current.track.id == "local:a440"
    assert names(session) == ["a660"]
    assert refused(await command(world, "skip", {"to": 5}), "There is no track 5; the queue has 1 track")


async def test_skip_to_needs_the_dj_role(world: World) -> None:
    session = await playing(world, "long440", "long660", "a440")
    await with_dj_role(world)
    await world.join(BOB)
    assert refused(await command(world, "skip", {"to": 2}, user=BOB), "needs the DJ role")
    assert refused(await command(world, "skip", {"to": 2}), "needs the DJ role")  # requester of one, not all
    assert names(session) == ["long660", "a440"]


async def test_skip_refused_outside_voice(world: World) -> None:
    session = await playing(world, "long440", "long660")
    assert refused(await command(world, "skip", user=BOB), "Join a voice channel")
    assert session.queue.current is not None and session.queue.current.track.id == "local:long440"


async def test_forceskip_is_for_djs(world: World) -> None:
    session = await playing(world, "long440", "long660", "a440")
    await with_dj_role(world)
    await world.join(BOB)
    assert refused(await command(world, "forceskip", user=BOB), "needs the DJ role")
    assert refused(await command(world, "forceskip"), "needs the DJ role")  # requesting is not enough here
    await world.join(DJ)
    answer = await command(world, "forceskip", user=DJ)
    assert ok(answer, "Skipped.") and "Tone long660" in answer.content
    assert session.queue.current is not None and session.queue.current.track.id == "local:long660"


# ---------------------------------------------------------------- /previous, /replay
async def test_previous_goes_back(world: World) -> None:
    session = await playing(world, "long440", "long660")
    assert refused(await command(world, "previous"), "There is no previous track")
    await command(world, "skip")
    answer = await command(world, "previous")
    assert ok(answer, "Back to") and "Tone long440" in answer.content
    assert session.queue.current is not None and session.queue.current.track.id == "local:long440"
    assert names(session) == ["long660"]


async def test_previous_needs_the_dj_role(world: World) -> None:
    session = await playing(world, "long440", "long660")
    await command(world, "skip")
    await with_dj_role(world)
    await world.join(BOB)
    assert refused(await command(world, "previous", user=BOB), "needs the DJ role")
    assert session.queue.current is not None and session.queue.current.track.id == "local:long660"


async def test_replay_restarts_the_track(world: World) -> None:
    session = await playing(world, "long440")
    await wait_for(lambda: session.position_s > 1.0)
    answer = await command(world, "replay")
    assert ok(answer, "Restarted") and "Tone long440" in answer.content
    await wait_for(lambda: session.position_s < 0.5)
    assert session.queue.current is not None and session.queue.current.track.id == "local:long440"


async def test_replay_refusals(world: World) -> None:
    await world.join(ALICE)
    await command(world, "join")
    assert refused(await command(world, "replay"), "Nothing is playing")
    await command(world, "play", {"query": "long440"})
    await with_dj_role(world)
    await world.join(BOB)
    assert refused(await command(world, "replay", user=BOB), "needs the DJ role")


# ---------------------------------------------------------------- /seek
async def test_seek_absolute_and_relative(world: World) -> None:
    session = await playing(world, "long440")
    answer = await command(world, "seek", {"position": "0:03"})
    assert ok(answer, "Jumped to 0:03 / 0:06")
    await wait_for(lambda: 3.0 <= session.position_s < 4.0)
    answer = await command(world, "seek", {"position": "-15"})  # clamps at the start
    assert ok(answer, "Jumped to 0:00 / 0:06")
    await wait_for(lambda: session.position_s < 1.0)
    await command(world, "seek", {"position": "+4"})
    await wait_for(lambda: session.position_s >= 4.0)


async def test_seek_refusals(world: World) -> None:
    session = await playing(world, "long440")
    assert refused(await command(world, "seek", {"position": "soon"}), "is not a time. Use 1:23")
    assert refused(await command(world, "seek", {"position": "0:10"}), "past the end: the track is 0:06 long")
    assert refused(await command(world, "seek", {"position": "+30"}), "past the end")
    assert session.position_s < 3.0  # nothing moved
    await with_dj_role(world)
    await world.join(BOB)
    assert refused(await command(world, "seek", {"position": "0:02"}, user=BOB), "needs the DJ role")


async def test_seek_in_a_live_stream_is_refused(world: World) -> None:
    member = await world.join(ALICE)
    session = await world.bot.sessions.ensure(world.guild, TEXT)
    radio = Track(id="local:radio", title="Radio", artist="", duration_s=None, url=str(world.media["long440"]),
                  is_live=True, source="local")
    await session.enqueue([radio], member)
    assert refused(await command(world, "seek", {"position": "0:02"}), "live stream")


async def test_seek_with_nothing_playing(world: World) -> None:
    await world.join(ALICE)
    await command(world, "join")
    assert refused(await command(world, "seek", {"position": "0:02"}), "Nothing is playing")


# ---------------------------------------------------------------- /stop
async def test_stop_clears_and_stays(world: World) -> None:
    session = await playing(world, "long440", "long660")
    assert ok(await command(world, "stop"), "Stopped and cleared the queue")
    assert session.queue.current is None and session.queue.upcoming == ()
    assert session.voice is not None and session.voice.is_connected()
    assert refused(await command(world, "stop"), "Nothing is playing")


async def test_stop_needs_the_dj_role(world: World) -> None:
    session = await playing(world, "long440", "long660")
    await with_dj_role(world)
    await world.join(BOB)
    assert refused(await command(world, "stop", user=BOB), "needs the DJ role")
    assert refused(await command(world, "stop"), "needs the DJ role")  # requesting is not DJ
    assert names(session) == ["long660"]


# ---------------------------------------------------------------- /volume
async def test_volume_sets_the_player_volume(world: World) -> None:
    session = await playing(world, "long440")
    assert ok(await command(world, "volume", {"percent": 50}), "Volume 50 %")
    await wait_for(lambda: session.player.engine.volume == 0.5)
    assert ok(await command(world, "volume", {"percent": 200}), "Volume 200 %")
    await wait_for(lambda: session.player.engine.volume == 2.0)


async def test_volume_refusals(world: World) -> None:
    session = await playing(world, "long440")
    # Discord enforces 0–200, but a client can send anything.
    assert refused(await command(world, "volume", {"percent": 500}), "from 0 to 200")
    assert refused(await command(world, "volume", {"percent": -1}), "from 0 to 200")
    await with_dj_role(world)
    await world.join(BOB)
    assert refused(await command(world, "volume", {"percent": 10}, user=BOB), "needs the DJ role")
    assert session.player.engine.volume == 1.0
