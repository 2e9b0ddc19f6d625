"""Leaving after the queue ended, and pausing while nobody listens (issue 14, item 20), through the real
client: what the fake voice server hears, what the channel reads, and the two /settings that steer it."""

from __future__ import annotations

import asyncio
import time

from tests.bot.answers import command, refused
from tests.bot.test_control import ok, playing
from tests.bot.test_session_races import audible
from tests.bot.test_settings import admin, done, fields
from tests.bot.world import ADMIN, ALICE, GUILD, TEXT, World, wait_for
from tests.harness import VoiceReceiver
from tests.harness.gateway import leave_voice

LEFT_ENDED = "Left the voice channel: the queue ended and nothing played for a while."


def connected(world: World) -> bool:
    return world.guild.voice_client is not None and world.guild.voice_client.is_connected()


def said(world: World, text: str) -> bool:
    return any(m.get("content") == text for m in world.fake.channel_messages(TEXT))


async def admin_sets(world: World, **changes: object) -> None:
    await world.bot.update_guild_settings(GUILD, ADMIN["id"], **changes)


# ---------------------------------------------------------------- leaving after the queue ended
async def test_leaves_a_while_after_the_queue_ended(world: World) -> None:
    await admin_sets(world, ended_leave_s=0.3)
    session = await playing(world, "a440")  # one second long
    await wait_for(lambda: session.queue.current is None)
    await wait_for(lambda: not connected(world), timeout=5.0)
    await wait_for(lambda: said(world, LEFT_ENDED))
    await wait_for(lambda: world.bot.sessions.get(GUILD) is None)  # freed: the next /play starts afresh


async def test_music_before_the_timer_runs_out_keeps_the_bot(world: World) -> None:
    await admin_sets(world, ended_leave_s=1.5)
    session = await playing(world, "a440")
    await wait_for(lambda: session.queue.current is None)
    assert ok(await command(world, "play", {"query": "long440"}), "Playing")
    await asyncio.sleep(2.0)  # past the timer that ran while nothing played
    assert connected(world) and session.queue.current is not None
    assert not said(world, LEFT_ENDED)


async def test_24_7_never_leaves_after_the_queue_ended(world: World) -> None:
    await admin_sets(world, ended_leave_s=0.2, stay_24_7=True)
    session = await playing(world, "a440")
    await wait_for(lambda: session.queue.current is None)
    await asyncio.sleep(0.8)
    assert connected(world) and not said(world, LEFT_ENDED)


async def test_turning_24_7_on_stops_a_timer_already_running(world: World) -> None:
    await admin_sets(world, ended_leave_s=1.0)
    session = await playing(world, "a440")
    await wait_for(lambda: session.queue.current is None)
    assert done(await admin(world, "stay", {"enabled": True}), "24/7 is on")
    await asyncio.sleep(1.5)
    assert connected(world) and not said(world, LEFT_ENDED)


# ---------------------------------------------------------------- pausing while nobody listens
async def test_pauses_when_everyone_left_and_goes_on_when_someone_is_back(
    world: World, voice_receiver: VoiceReceiver
) -> None:
    world.bot.sessions.idle_leave_s = 60.0  # nobody leaves for being alone during this test
    session = await playing(world, "long440")
    await wait_for(lambda: audible(voice_receiver, 0.0) >= 10)
    await leave_voice(world.bot, GUILD, ALICE)
    await wait_for(lambda: session.paused)
    position = session.position_s
    await voice_receiver.wait_until_quiet(GUILD, quiet_ms=100)
    quiet_since = time.perf_counter()
    await asyncio.sleep(0.5)
    assert audible(voice_receiver, quiet_since) == 0  # nothing is sent to an empty channel
    await world.join(ALICE)
    await wait_for(lambda: not session.paused)
    back = time.perf_counter()
    await wait_for(lambda: audible(voice_receiver, back) >= 25, timeout=5.0)
    assert session.position_s >= position  # it goes on where it paused, not from the start
    assert session.position_s < position + 3.0


async def test_a_pause_by_a_user_stays_when_someone_comes_back(world: World) -> None:
    world.bot.sessions.idle_leave_s = 60.0
    session = await playing(world, "long440")
    assert ok(await command(world, "pause"), "Paused")
    await leave_voice(world.bot, GUILD, ALICE)
    await world.join(ALICE)
    await asyncio.sleep(0.2)
    assert session.paused  # only what was paused for the empty channel resumes by itself


async def test_pause_when_alone_off_keeps_playing(world: World, voice_receiver: VoiceReceiver) -> None:
    world.bot.sessions.idle_leave_s = 60.0
    assert done(await admin(world, "pause-when-alone", {"enabled": False}), "Pausing while nobody listens is off")
    session = await playing(world, "long440")
    await leave_voice(world.bot, GUILD, ALICE)
    since = time.perf_counter()
    await wait_for(lambda: audible(voice_receiver, since) >= 25, timeout=5.0)
    assert not session.paused


async def test_turning_pause_when_alone_off_resumes_what_it_paused(world: World) -> None:
    world.bot.sessions.idle_leave_s = 60.0
    session = await playing(world, "long440")
    await leave_voice(world.bot, GUILD, ALICE)
    await wait_for(lambda: session.paused)
    await admin_sets(world, pause_when_alone=False)
    assert not session.paused


# ---------------------------------------------------------------- the settings
async def test_the_settings_answer_and_show(world: World) -> None:
    answer = await admin(world, "leave-when-ended", {"minutes": 2.5})
    assert done(answer, "I leave when nothing played for 2:30 after the queue ended.")
    assert done(await admin(world, "leave-when-ended", {"minutes": 0.0}), "I leave as soon as the queue has ended.")
    shown = fields(await admin(world, "show"))
    assert shown["Leave after the queue ended"] == "at once"
    assert shown["Pause while nobody listens"] == "on"
    answer = await command(world, "settings pause-when-alone", {"enabled": False}, user=ALICE)
    assert refused(answer, "needs the Manage Server permission")
