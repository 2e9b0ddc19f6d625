"""``/metrics`` of a whole bot on the offline harness: each value checked against what happened.

Voice packets go through the real path (``GuildSession`` → ``Player`` → discord.py's ``AudioPlayer``
→ ``voice/client.py``'s ``VoiceClient`` → the fake voice server's UDP receiver), commands through
discord.py's command tree, sources through the production ``Resolver`` and ``StreamOpener``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from musicbot.bot.ratelimit import Rate, RateLimiter
from musicbot.errors import MediaError
from musicbot.sources.errors import SOURCE_FAILURE_KINDS
from musicbot.sources.local import LocalLibrary
from musicbot.sources.models import StreamInfo
from musicbot.sources.resolver import Resolver
from musicbot.sources.ssrf import UrlGuard
from musicbot.sources.stream import StreamOpener
from musicbot.sources.ytdlp import YtDlpBackend
from musicbot.storage import Database, GuildSettingsRepo
from musicbot.track import Track
from musicbot.voice.client import VoiceClient
from musicbot.voice.player import Player
from musicbot.voice.processes import RenderProcesses
from musicbot.voice.render_client import RenderClient
from musicbot.web.server import OpsServer
from tests.bot.answers import command, playing
from tests.bot.world import ALICE, GUILD, TEXT, World, wait_for
from tests.harness import VoiceReceiver, invoke, play_to_end
from tests.harness.fixtures import *  # noqa: F403
from tests.harness.fixtures import FakeDiscord, OfflineBotFactory
from tests.media import FileOpener, tone, write_audio
from tests.web.scrape import Scrape, get_json, metrics_world, scrape

SILENCE_AT_END = 5  # discord.py's own silence frames when a player stops (not the players' packets)


@pytest.fixture
async def world(offline_bot_factory: OfflineBotFactory, fake_discord: FakeDiscord, tmp_path: Path) -> World:
    return await metrics_world(offline_bot_factory, fake_discord, tmp_path)


def port(world: World) -> int:
    return world.bot.config.http_port


async def test_a_played_track_is_counted_packet_for_packet(
    world: World, voice_receiver: VoiceReceiver, fast_playback: float
) -> None:
    before = await scrape(port(world))
    await playing(world, "a440")  # 1 s: 50 packets
    session = world.bot.sessions.get(GUILD)
    assert session is not None
    await wait_for(lambda: session.queue.current is None)
    await voice_receiver.wait_until_quiet(GUILD, quiet_ms=100)
    after = await scrape(port(world))

    received = len(voice_receiver.packets(GUILD))
    sent = after.delta(before, "musicbot_voice_packets_sent_total")
    assert sent == received - SILENCE_AT_END and sent >= 50
    assert 0 <= after.delta(before, "musicbot_voice_packets_late_total") <= sent
    underruns = after.delta(before, "musicbot_voice_underruns_total")
    assert underruns == session.player.underruns <= sent
    rendered = after.delta(before, "musicbot_frame_render_seconds_count")  # rendered here: no workers in tests
    assert sent - underruns <= rendered <= sent + 1  # the packet rendered ahead of the last send may be unsent
    assert 0 < after.delta(before, "musicbot_frame_render_seconds_sum") < rendered * 0.02
    assert after.delta(before, "musicbot_commands_total", command="play", outcome="ok") == 1


async def test_players_queues_guilds_shards_and_readiness_are_read_from_the_bot(world: World) -> None:
    idle = await scrape(port(world))
    assert idle.value("musicbot_players_active") == 0 and idle.value("musicbot_queue_tracks") == 0
    assert idle.value("musicbot_guilds") == 1 and idle.value("musicbot_ready") == 1
    assert idle.labels("musicbot_shard_latency_seconds") == [{"shard": "0"}]  # the harness's one shard

    await playing(world, "long440")
    assert (await command(world, "pause")).error is None
    assert (await command(world, "play", {"query": "a440"})).error is None
    assert (await command(world, "play", {"query": "a660"})).error is None
    paused = await scrape(port(world))
    assert paused.value("musicbot_players_active") == 1  # paused counts: the guild still has its player
    assert paused.value("musicbot_queue_tracks") == 2  # waiting; the paused one is not counted

    assert (await command(world, "stop")).error is None
    stopped = await scrape(port(world))
    assert stopped.value("musicbot_players_active") == 0 and stopped.value("musicbot_queue_tracks") == 0


async def test_commands_are_counted_by_outcome(
    offline_bot_factory: OfflineBotFactory, fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    class BrokenResolver:
        async def resolve(self, query: str) -> object:
            raise RuntimeError("a bug in the resolver")

    world = await metrics_world(offline_bot_factory, fake_discord, tmp_path, resolver=BrokenResolver())  # type: ignore[arg-type]
    await world.join(ALICE)
    before = await scrape(port(world))

    assert (await command(world, "stats")).error is None
    assert (await command(world, "skip")).error is not None  # nothing playing: told so
    payload = world.fake.slash("play", {"query": "anything"}, guild_id=GUILD, channel_id=TEXT, user=ALICE)
    assert isinstance(await invoke(world.bot, payload), Exception)  # the bug: logged, the user gets an apology
    world.bot.tree.rate_limiter = RateLimiter(Rate(1, 60.0), {})
    await command(world, "stats")
    await command(world, "stats")  # the second within the minute: refused before it runs

    async def counted() -> Scrape:
        return await scrape(port(world))

    expected = {("stats", "ok"): 2, ("skip", "user_error"): 1, ("play", "error"): 1, ("stats", "rate_limited"): 1}
    after = await counted()
    for _ in range(100):  # "ok" is counted by discord.py's completion event, a task of its own
        if all(after.delta(before, "musicbot_commands_total", command=c, outcome=o) == n
               for (c, o), n in expected.items()):
            break
        after = await counted()
    assert {key: after.delta(before, "musicbot_commands_total", command=key[0], outcome=key[1])
            for key in expected} == expected


async def test_source_failures_are_counted_by_kind_through_the_real_resolver(
    offline_bot_factory: OfflineBotFactory, fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    media = tmp_path / "music"
    media.mkdir()
    resolver = Resolver(ytdlp=YtDlpBackend(js_runtime=None), guard=UrlGuard(), local=LocalLibrary(media))
    world = await metrics_world(offline_bot_factory, fake_discord, tmp_path, resolver=resolver)
    await world.join(ALICE)
    before = await scrape(port(world))
    assert {labels["kind"] for labels in before.labels("musicbot_source_failures_total")} == set(SOURCE_FAILURE_KINDS)

    not_found = await command(world, "play", {"query": "local:no such song"})
    outside = await command(world, "play", {"query": "local:../../etc/passwd"})
    assert "Nothing in the music folder" in not_found.content and "not in the bot's music folder" in outside.content
    after = await scrape(port(world))
    assert after.delta(before, "musicbot_source_failures_total", kind="not_found") == 1
    assert after.delta(before, "musicbot_source_failures_total", kind="local_path") == 1
    assert after.delta(before, "musicbot_commands_total", command="play", outcome="user_error") == 2


async def test_a_stream_given_up_is_counted_as_a_stream_failure(tmp_path: Path) -> None:
    class VanishedFile:
        """Where the track's audio is: a file that is no longer there (every re-open fails too)."""

        async def stream_info(self, track: Track, *, fresh: bool = False) -> StreamInfo:
            return StreamInfo(url=str(tmp_path / "vanished.flac"))

    track = Track(id="local:vanished", title="vanished", artist="", duration_s=10.0, url="", source="local")
    server = OpsServer(port=0)
    await server.start()
    try:
        before = await scrape(server.port)
        stream = await StreamOpener(VanishedFile()).open(track)
        with pytest.raises(MediaError):
            # in a thread: the stream's re-resolution runs stream_info on this loop
            await asyncio.to_thread(stream.read, 30.0)
        stream.close()
        after = await scrape(server.port)
    finally:
        await server.stop()
    assert after.delta(before, "musicbot_source_failures_total", kind="stream") == 1


async def test_database_transactions_are_timed(tmp_path: Path) -> None:
    db = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    server = OpsServer(port=0)
    await server.start()
    try:
        before = await scrape(server.port)
        await GuildSettingsRepo(db).update(GUILD, actor_id=1, default_volume=40)
        after = await scrape(server.port)
    finally:
        await server.stop()
        await db.close()
    assert after.delta(before, "musicbot_database_seconds_count") >= 1
    assert after.delta(before, "musicbot_database_seconds_sum") > 0


async def test_health_and_ready_answer_from_the_bots_own_server(world: World) -> None:
    assert await get_json(port(world), "/health") == (200, {"status": "ok"})
    status, body = await get_json(port(world), "/ready")
    assert status == 200 and body["waiting_for"] == [] and body["database"]["state"] == "ok"
    assert list(body["shards"]) == ["0"]


async def test_render_time_measured_in_a_render_worker_reaches_the_main_process(
    offline_bot_factory: OfflineBotFactory, voice_receiver: VoiceReceiver, fast_playback: float, tmp_path: Path
) -> None:
    guild_id = 7100
    processes = RenderProcesses(1)
    processes.start()
    server = OpsServer(port=0)
    await server.start()
    try:
        bot, vc = await offline_bot_factory.in_voice(guild_id, cls=VoiceClient)
        path = write_audio(tmp_path / "tone.flac", tone(440.0, 1.0))
        track = Track(id="local:tone", title="tone", artist="", duration_s=1.0, url=str(path), source="local")
        engine = RenderClient(connect=processes.connect)
        player = Player(engine)
        player.play(await FileOpener().open(track), token=1)
        before = await scrape(server.port)
        await play_to_end(bot, vc, player)
        await voice_receiver.wait_until_quiet(guild_id, quiet_ms=100)
        after = await scrape(server.port)
        await vc.disconnect(force=True)
        engine.close()
    finally:
        await server.stop()
        processes.stop()
    # What the worker says it rendered (its engine's own counts, sent back with each answer) ...
    in_worker = engine.stats.dsp_frames + engine.stats.passthrough_frames + engine.stats.underruns
    assert engine.stats.dsp_frames >= 50  # a FLAC file: decoded, normalized, limited and encoded there
    # ... is what this process observed, each with the time the worker measured.
    assert after.delta(before, "musicbot_frame_render_seconds_count") == in_worker
    assert after.delta(before, "musicbot_frame_render_seconds_sum") > 0
    sent = after.delta(before, "musicbot_voice_packets_sent_total")
    assert sent == len(voice_receiver.packets(guild_id)) - SILENCE_AT_END and sent >= 50
