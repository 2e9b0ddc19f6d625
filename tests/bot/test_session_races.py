"""Session state and races through the real client (issue 14, items 2, 3, 4, 22): what a user hears at the
fake voice server and reads in the answers."""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

from tests.bot.test_control import command, ok, playing, refused
from tests.bot.test_panel import click, panel_messages, refusal
from tests.bot.world import ADMIN, ALICE, GUILD, TEXT, World, wait_for
from tests.harness import OPUS_SILENCE, VoiceReceiver, invoke


def audible(receiver: VoiceReceiver, since: float) -> int:
    return len([p for p in receiver.packets(GUILD, since=since) if p.opus != OPUS_SILENCE])


# ---------------------------------------------------------------- item 2: /pause, /stop, /play
async def test_play_after_pause_and_stop_is_heard(world: World, voice_receiver: VoiceReceiver) -> None:
    session = await playing(world, "long440")
    assert ok(await command(world, "pause"), "Paused")
    assert ok(await command(world, "stop"), "Stopped")
    assert not session.paused  # stopped is not "stopped but still paused"
    assert refused(await command(world, "resume"), "Nothing is playing")
    await voice_receiver.wait_until_quiet(GUILD, quiet_ms=100)
    since = time.perf_counter()
    answer = await command(world, "play", {"query": "long660"})
    assert ok(answer, "Playing")
    await wait_for(lambda: audible(voice_receiver, since) >= 25, timeout=5.0)  # half a second heard
    assert not session.paused


# ---------------------------------------------------------------- item 3: two /play at once
async def test_two_plays_at_once_on_a_fresh_session_both_succeed(world: World) -> None:
    await world.join(ALICE)
    payloads = [world.fake.slash("play", {"query": q}, guild_id=GUILD, channel_id=TEXT, user=ALICE)
                for q in ("long440", "long660")]
    errors = await asyncio.gather(*(invoke(world.bot, p) for p in payloads))
    assert errors == [None, None]
    answers = [world.fake.followups(p)[-1].json["content"] for p in payloads]
    assert any("Playing" in a for a in answers) and any("Queued" in a for a in answers), answers
    session = world.bot.sessions.get(GUILD)
    assert session is not None and session.voice is not None and session.voice.is_connected()
    assert session.queue.current is not None and len(session.queue.upcoming) == 1


# ---------------------------------------------------------------- item 4: sessions freed, volumes kept
async def test_after_leave_the_next_play_starts_a_new_session_with_the_requesters_volume(world: World) -> None:
    session = await playing(world, "long440")
    assert ok(await command(world, "volume", {"percent": 30}), "Volume 30")
    assert "70" in (await command(world, "me volume", {"percent": 70})).content
    assert ok(await command(world, "leave"), "Left")
    assert world.bot.sessions.get(GUILD) is None  # freed with its engine (and render-worker connection)
    again = await playing(world, "long660")
    assert again is not session
    assert round(again.volume * 100) == 70  # the requester's /me volume, not the old session's 30


async def test_a_setting_change_keeps_the_volume_set(world: World) -> None:
    session = await playing(world, "a440")
    assert ok(await command(world, "volume", {"percent": 40}), "Volume 40")
    await wait_for(lambda: session.queue.current is None, timeout=10.0)  # the track ended: nothing plays
    await world.bot.update_guild_settings(GUILD, ADMIN["id"], vote_skip_ratio=0.75)
    assert round(session.volume * 100) == 40


# ---------------------------------------------------------------- item 22: announcement in flight at shutdown
async def test_an_announcement_in_flight_at_shutdown_is_not_an_unretrieved_error(world: World) -> None:
    errors: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, context: errors.append(context))
    try:
        await playing(world, "long440")
        closing = asyncio.ensure_future(world.bot.close())
        for _ in range(50):  # an announcement made at any point of the shutdown (a track failing as voice closes)
            world.bot.sessions.announce(GUILD, "Skipped something: it broke.")
            await asyncio.sleep(0.002)
        await closing
        await asyncio.sleep(0.05)
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert [c.get("message") for c in errors] == []


# ---------------------------------------------------------------- item 9: one rule per action
async def test_a_panel_click_and_its_command_refuse_in_the_same_words(world: World) -> None:
    await playing(world, "long440")
    await wait_for(lambda: bool(panel_messages(world)), timeout=5)
    by_click = refusal(await click(world, "np:shuffle"))
    by_command = await command(world, "shuffle")
    assert refused(by_command, "nothing to shuffle")
    assert by_click == by_command.content


# ---------------------------------------------------------------- item 24: autoplay's pick opened ahead
async def test_autoplays_pick_follows_without_a_gap(
    world: World, fast_playback: float, voice_receiver: VoiceReceiver
) -> None:
    session = await playing(world, "a440")
    assert ok(await command(world, "autoplay", {"state": "on", "mode": "similar"}), "Autoplay on")
    await wait_for(lambda: session.queue.current is not None and session.queue.current.autoplay, timeout=10)
    await voice_receiver.wait_for_packets(GUILD, 80)  # a440 (50 packets) and the start of the pick
    audio = voice_receiver.packets(GUILD)[:80]
    assert [p for p in audio if p.opus == OPUS_SILENCE] == []  # no silence between the track and the pick
    assert voice_receiver.sequence_contiguous(GUILD)
