"""Shutdown and resume through the whole client on the offline harness: what a listener notices across a
restart (the same track, from where it stopped, paused if it was), what the database keeps, and what people
using the bot while it shuts down are told. The subprocess version (real ``musicbot run``, SIGTERM, SIGKILL)
is ``tests/test_run_e2e.py``."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from musicbot.bot.cogs.nowplaying import NowPlayingCog
from musicbot.queue import LoopMode
from musicbot.sources.synth import sweep_position
from musicbot.storage import Database, HistoryRepo, PlayOutcome, SessionSnapshot, SnapshotRepo
from musicbot.storage.columns import utcnow
from tests.bot.world import ALICE, GUILD, TEXT, VOICE, World, add_sweep, restart_world, wait_for
from tests.harness import VoiceReceiver, decode_opus, dominant_hz, invoke
from tests.harness.fixtures import OfflineBotFactory
from tests.harness.payloads import Payload

WINDOW_PACKETS = 20  # 0.4 s: the sweep moves 8 Hz in it; FFT bins of 2.5 Hz


def panel_of(world: World) -> tuple[int, int] | None:
    cog = world.bot.get_cog("NowPlayingCog")
    assert isinstance(cog, NowPlayingCog)
    return cog.panels.location(GUILD)


def restarting_count() -> float:
    return REGISTRY.get_sample_value("musicbot_commands_total", {"command": "play", "outcome": "restarting"}) or 0.0


async def command(world: World, name: str, options: dict[str, object] | None = None) -> Payload:
    payload = world.fake.slash(name, options, guild_id=GUILD, channel_id=TEXT, user=ALICE)
    assert await invoke(world.bot, payload) is None
    [callback] = world.fake.callbacks(payload)
    answer: Payload = callback["data"] if callback["type"] == 4 else world.fake.followups(payload)[-1].json
    return answer


async def position_heard(receiver: VoiceReceiver, since: float) -> float:
    """Where in the sweep the first audio that arrived after ``since`` was, from its pitch."""
    deadline = time.perf_counter() + 10.0
    while len(receiver.packets(GUILD, since=since, include_silence=False)) < WINDOW_PACKETS + 1:
        assert time.perf_counter() < deadline, "no audio arrived"
        await asyncio.sleep(0.02)
    packets = receiver.packets(GUILD, since=since, include_silence=False)[: WINDOW_PACKETS + 1]
    pcm = decode_opus([p.opus for p in packets])
    # The window's middle is half a window after its start; a fresh decoder needs one frame to settle.
    return sweep_position(dominant_hz(pcm, skip=960)) - WINDOW_PACKETS * 0.02 / 2


async def stored_snapshot(world: World) -> SessionSnapshot | None:
    """What the next start would resume, read as that start would (the bot's own database is closed)."""
    database = await Database.open(world.config.database_url)
    try:
        return await SnapshotRepo(database).load(GUILD)
    finally:
        await database.close()


async def playing_sweep(world: World, at_least_s: float) -> float:
    add_sweep(world)
    await world.join(ALICE)
    await command(world, "play", {"query": "sweep"})
    session = world.bot.sessions.get(GUILD)
    assert session is not None
    await wait_for(lambda: session.position_s >= at_least_s)
    return session.position_s


@pytest.mark.slow
async def test_a_restart_carries_on_the_same_track_from_where_it_stopped(
    world: World, voice_receiver: VoiceReceiver, offline_bot_factory: OfflineBotFactory
) -> None:
    await playing_sweep(world, 2.0)
    await command(world, "play", {"query": "a660"})  # queued behind it
    await command(world, "loop", {"mode": "queue"})
    await command(world, "volume", {"percent": 80})
    session = world.bot.sessions.get(GUILD)
    assert session is not None
    await wait_for(lambda: panel_of(world) is not None)
    panel = panel_of(world)
    assert panel is not None and panel[0] == TEXT
    stopped_at = session.position_s

    again = await restart_world(offline_bot_factory, world)
    # Shutdown: voice left, the open play closed as stopped, the snapshot written (database closed = flushed).
    assert world.bot.ws.sent[-1]["d"] == {"guild_id": GUILD, "channel_id": None, "self_mute": False,
                                          "self_deaf": False}
    [play, *_] = await HistoryRepo(again.bot.db).recent_by_guild(GUILD)
    assert play.track.id == "local:sweep" and play.outcome is PlayOutcome.STOPPED
    snapshot = await SnapshotRepo(again.bot.db).load(GUILD)
    assert snapshot is not None and snapshot.current is not None and snapshot.current.track.id == "local:sweep"
    assert abs(snapshot.position_s - stopped_at) < 0.2
    assert [e.track.id for e in snapshot.queue] == ["local:a660"] and snapshot.loop_mode is LoopMode.QUEUE

    await again.join(ALICE)  # Alice is still in the channel when the bot comes back
    restarted = time.perf_counter()
    again.bot.dispatch("ready")
    heard = await position_heard(voice_receiver, restarted)
    assert abs(heard - stopped_at) < 1.0, (heard, stopped_at)
    resumed = again.bot.sessions.get(GUILD)
    assert resumed is not None and resumed.queue.current is not None
    assert resumed.queue.current.requester_id == int(ALICE["id"]) == resumed.queue.upcoming[0].requester_id
    assert [e.track.id for e in resumed.queue.upcoming] == ["local:a660"]
    assert resumed.queue.loop is LoopMode.QUEUE and resumed.volume == pytest.approx(0.8)
    assert again.bot.ws.sent[0]["d"]["channel_id"] == VOICE
    # The panel of the first run is edited in place: not looked for, not posted again.
    edits = rf"^/channels/{TEXT}/messages/{panel[1]}$"
    await wait_for(lambda: any(r.t > restarted for r in again.fake.calls("PATCH", edits)))
    after = [r for r in again.fake.calls(None, rf"^/channels/{TEXT}/messages") if r.t > restarted]
    assert [r.method for r in after if r.method != "PATCH"] == []


@pytest.mark.slow
async def test_a_paused_session_comes_back_paused_and_resume_plays_from_there(
    world: World, voice_receiver: VoiceReceiver, offline_bot_factory: OfflineBotFactory
) -> None:
    await playing_sweep(world, 2.0)
    await command(world, "pause")
    session = world.bot.sessions.get(GUILD)
    assert session is not None
    paused_at = session.position_s

    again = await restart_world(offline_bot_factory, world)
    await again.join(ALICE)
    restarted = time.perf_counter()
    again.bot.dispatch("ready")
    await wait_for(lambda: (s := again.bot.sessions.get(GUILD)) is not None and s.voice is not None
                   and s.voice.is_connected())
    resumed = again.bot.sessions.get(GUILD)
    assert resumed is not None and resumed.paused
    await asyncio.sleep(0.5)
    assert voice_receiver.packets(GUILD, since=restarted, include_silence=False) == []  # not a sound while paused
    answer = await command(again, "resume")
    assert "⚠️" not in answer.get("content", "")
    assert abs(await position_heard(voice_receiver, restarted) - paused_at) < 1.0


async def test_an_empty_channel_waits_for_a_listener_before_resuming(
    world: World, offline_bot_factory: OfflineBotFactory
) -> None:
    await playing_sweep(world, 0.5)
    again = await restart_world(offline_bot_factory, world)
    again.bot.keeper.listener_wait_s = 30.0
    await again.bot.keeper.resume_all()  # nobody in the channel: nothing joins yet
    assert again.bot.ws.sent == []
    await again.join(ALICE)
    await wait_for(lambda: (s := again.bot.sessions.get(GUILD)) is not None and s.queue.current is not None)
    assert again.bot.ws.sent[0]["d"]["channel_id"] == VOICE


async def test_nobody_joining_drops_the_snapshot_but_a_24_7_guild_rejoins_anyway(
    world: World, offline_bot_factory: OfflineBotFactory
) -> None:
    await playing_sweep(world, 0.5)
    again = await restart_world(offline_bot_factory, world)
    again.bot.keeper.listener_wait_s = 0.05
    await again.bot.keeper.resume_all()
    repo = SnapshotRepo(again.bot.db)
    await asyncio.sleep(0.3)  # far past the wait for a listener
    await again.bot.db.outbox.flush(5.0)
    assert await repo.load(GUILD) is None and again.bot.ws.sent == []

    # The same, in a 24/7 guild: it rejoins its empty channel and plays.
    await again.bot.update_guild_settings(GUILD, actor_id=int(ALICE["id"]), stay_24_7=True)
    await playing_sweep(again, 0.5)
    third = await restart_world(offline_bot_factory, again)
    await third.bot.keeper.resume_all()
    await wait_for(lambda: (s := third.bot.sessions.get(GUILD)) is not None and s.queue.current is not None)


async def test_a_track_that_no_longer_opens_is_skipped_with_a_message(
    world: World, offline_bot_factory: OfflineBotFactory
) -> None:
    await playing_sweep(world, 0.5)
    await command(world, "play", {"query": "long660"})
    again = await restart_world(offline_bot_factory, world)
    again.media["sweep"].unlink()  # gone while the bot was down
    await again.join(ALICE)
    await again.bot.keeper.resume_all()
    await wait_for(lambda: any("Skipped Generator - Tone sweep: No such file" in m.get("content", "")
                               for m in again.fake.channel_messages(TEXT)))
    resumed = again.bot.sessions.get(GUILD)
    assert resumed is not None
    await wait_for(lambda: resumed.queue.current is not None and resumed.queue.current.track.id == "local:long660")


async def test_old_snapshots_are_dropped_not_resumed(world: World, offline_bot_factory: OfflineBotFactory) -> None:
    await playing_sweep(world, 0.5)
    again = await restart_world(offline_bot_factory, world)
    repo = SnapshotRepo(again.bot.db)
    stored = await repo.load(GUILD)
    assert stored is not None
    await repo.save(replace(stored, saved_at=utcnow() - timedelta(days=2)))  # longer ago than the 1 day default
    await again.join(ALICE)
    await again.bot.keeper.resume_all()
    assert await repo.load(GUILD) is None and again.bot.ws.sent == []


async def test_leaving_on_purpose_forgets_the_session(world: World, offline_bot_factory: OfflineBotFactory) -> None:
    await playing_sweep(world, 0.3)
    await world.bot.db.outbox.flush(5.0)
    assert await SnapshotRepo(world.bot.db).load(GUILD) is not None
    await command(world, "leave")
    await world.bot.db.outbox.flush(5.0)
    assert await SnapshotRepo(world.bot.db).load(GUILD) is None


async def test_a_shutdown_while_a_resume_is_still_joining_keeps_the_snapshot(
    world: World, offline_bot_factory: OfflineBotFactory
) -> None:
    """Restarted twice in quick succession (a crash loop, a deploy rolled back): the second shutdown comes
    while the resume still waits for Discord's voice answer. The queue must survive it for the next start."""
    await playing_sweep(world, 0.5)
    await command(world, "play", {"query": "a660"})
    again = await restart_world(offline_bot_factory, world)
    again.bot.ws.respond = False  # Discord does not answer the voice join (yet)
    await again.join(ALICE)
    resuming = asyncio.get_running_loop().create_task(again.bot.keeper.resume_all())
    await wait_for(lambda: any(op["op"] == 4 for op in again.bot.ws.sent))
    again.bot.ws.respond = True  # the leave at shutdown is confirmed (else discord.py waits 10 s for it)
    await again.bot.close()
    await asyncio.wait_for(resuming, 10.0)
    snapshot = await asyncio.create_task(stored_snapshot(world))  # a task of its own: not under /play's deadline
    assert snapshot is not None and snapshot.current is not None and snapshot.current.track.id == "local:sweep"
    assert [e.track.id for e in snapshot.queue] == ["local:a660"]


async def test_while_shutting_down_commands_and_clicks_are_told_to_wait(world: World) -> None:
    world.bot.closing = True
    restarting_before = restarting_count()
    await world.join(ALICE)
    payload = world.fake.slash("play", {"query": "a440"}, guild_id=GUILD, channel_id=TEXT, user=ALICE)
    assert await invoke(world.bot, payload) is None
    [callback] = world.fake.callbacks(payload)
    assert callback["data"]["flags"] & 64 and "restarting, back in a moment" in callback["data"]["content"]
    assert world.resolver.queries == []  # nothing started
    assert restarting_count() == restarting_before + 1


async def test_play_after_pause_and_stop_is_heard(world: World, voice_receiver: VoiceReceiver) -> None:
    """Issue 14, item 2: /stop while paused left discord.py's player paused; the next /play answered
    "Playing" and sent nothing."""
    await playing_sweep(world, 0.3)
    await command(world, "pause")
    await command(world, "stop")
    again = time.perf_counter()
    answer = await command(world, "play", {"query": "sweep"})
    assert "Playing" in answer["content"]
    assert await position_heard(voice_receiver, again) < 1.0  # the track from its start, heard
