"""Scaled out (issue 17), end to end: two real ``musicbot run --role bot`` processes (SHARD_COUNT=2, one
shard each) and one ``musicbot web`` process, on the real Postgres and the real Redis of this machine,
against the fake Discord (its gateway, OAuth2 and voice receiver). The dashboard in the web process
lists both shards' guilds, a play and a skip for a guild on shard 1 are carried out by shard 1's
process and heard, killing that process shows its guild unavailable within the heartbeat expiry, and
starting it again resumes the guild where it was. Then the same with one process and no Redis.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import redis.asyncio

from musicbot.cluster import NodeInfo, RedisBus
from musicbot.shards import shard_of
from musicbot.sources.synth import tone, write_audio
from musicbot.web.dashboard_ops import KINDS, OPS
from tests.harness import FakeDiscord, VoiceReceiver, dominant_hz, guild_payload, user
from tests.harness.bot_process import BotProcess, BotProcesses, bot_env, free_port
from tests.harness.fake_oauth import FakeOAuth
from tests.harness.fixtures import bot_processes  # noqa: F401  (fixture)
from tests.harness.tls import SelfSignedCert, make_self_signed_cert, openssl_available, server_context
from tests.storage.conftest import pg_factory  # noqa: F401  (fixture: fresh Postgres databases, CI=true rule)
from tests.web.test_dashboard import Site, checked, logged_in

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not openssl_available(), reason="needs the openssl command for the voice certificate"),
]

REDIS_URL = os.environ.get("MUSICBOT_TEST_REDIS", "redis://127.0.0.1:6379/0")
SHARDS = 2
CLIENT_ID, SECRET = "5550017", "cluster-secret"
ALICE = user(5001, "alice")
ALICE_LOGIN = {"id": "5001", "username": "alice", "global_name": "Alice", "avatar": None}
GUILDS = "/api/v1/guilds"
PLAYER = "/api/v1/guilds/{guild_id}/player"
ACT = "/api/v1/guilds/{guild_id}/player/{action}"
QUEUE = "/api/v1/guilds/{guild_id}/queue"


def guild_on(shard: int) -> int:
    guild_id = ((2_000_000 + shard) << 22) | 77
    assert shard_of(guild_id, SHARDS) == shard
    return guild_id


G0, G1 = guild_on(0), guild_on(1)


@pytest_asyncio.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own on the real Redis (nobody else's keys seen or touched); deleted after."""
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (OSError, redis.RedisError) as err:
        await client.aclose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {REDIS_URL} is not reachable: {err} (CI=true: the Redis tests must run)")
        pytest.skip(f"Redis at {REDIS_URL} is not reachable: {err}")
    prefix = f"musicbot:test-{secrets.token_hex(4)}:"
    try:
        yield prefix
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
def pg_url(pg_factory: Callable[[], str]) -> str:  # noqa: F811
    """A fresh Postgres database (made outside the test's event loop: the factory runs its own)."""
    return pg_factory()


class World:
    """The fake Discord with a guild on each shard, Alice in both voice channels, music, a certificate."""

    def __init__(self, fake: FakeDiscord, tmp: Path, cert: SelfSignedCert) -> None:
        self.fake, self.tmp, self.cert = fake, tmp, cert
        self.music = tmp / "music"
        self.receiver = VoiceReceiver(fake)

    async def setup(self) -> None:
        self.music.mkdir()
        write_audio(self.music / "tone-440.flac", tone(440.0, 60.0))
        write_audio(self.music / "tone-660.flac", tone(660.0, 60.0))
        await self.fake.serve_voice_tls(server_context(self.cert))
        for guild_id in (G0, G1):
            self.fake.main_gateway.add_guild(guild_payload(guild_id, text_id=guild_id + 1, voice_id=guild_id + 2,
                                                           members=[ALICE], name=f"Shard {shard_of(guild_id, 2)}"))
            await self.fake.main_gateway.set_user_voice(guild_id, ALICE, guild_id + 2)
        self.fake.oauth = FakeOAuth(CLIENT_ID, SECRET, ALICE_LOGIN, [{"id": str(G0), "name": "Shard 0"},
                                                                    {"id": str(G1), "name": "Shard 1"}])

    def env(self, name: str, **extra: str) -> dict[str, str]:
        return bot_env(self.fake, self.tmp / f"data-{name}", music_dir=self.music, ca_file=self.cert.cert, **extra)

    def web(self, port: int) -> dict[str, str]:
        url = f"http://127.0.0.1:{port}"
        return {"MUSICBOT_WEB_URL": url, "DISCORD_CLIENT_ID": CLIENT_ID, "DISCORD_CLIENT_SECRET": SECRET}

    async def slash_play(self, guild_id: int, query: str) -> None:
        play = self.fake.slash("play", {"query": query}, guild_id=guild_id, channel_id=guild_id + 1, user=ALICE)
        await self.fake.main_gateway.interaction(play)

    async def hear(self, guild_id: int, hz: float) -> None:
        """Listen to the last second until ``hz`` is the loudest in it."""
        heard = 0.0
        for _ in range(40):
            since = time.perf_counter()
            await self.receiver.wait_for_packets(guild_id, self.receiver.count(guild_id) + 50, timeout=20)
            heard = dominant_hz(self.receiver.decode_pcm(guild_id, since=since))
            if abs(heard - hz) < 15:
                return
        pytest.fail(f"guild {guild_id}: heard {heard:.0f} Hz, not {hz:.0f}")


@pytest_asyncio.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    fake = FakeDiscord()
    await fake.start()
    try:
        world = World(fake, tmp_path, make_self_signed_cert(tmp_path / "tls"))
        await world.setup()
        yield world
    finally:
        await fake.stop()


async def eventually(check: Callable[[], Any], what: str, limit_s: float = 45.0) -> Any:
    deadline = time.monotonic() + limit_s
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"not within {limit_s:.0f} s: {what}")
        await asyncio.sleep(0.2)


async def get(session: aiohttp.ClientSession, url: str, path: str, **ids: int | str) -> tuple[int, Any]:
    async with session.get(url + path.format(**ids)) as response:
        return response.status, await checked(response, path)


async def post(session: aiohttp.ClientSession, url: str, path: str, csrf: dict[str, str], body: Any = None,
               **ids: int | str) -> tuple[int, Any]:
    async with session.post(url + path.format(**ids), headers=csrf, json=body) as response:
        return response.status, await checked(response, path, "post")


async def csrf_of(session: aiohttp.ClientSession, url: str) -> dict[str, str]:
    async with session.get(f"{url}/api/v1/me") as me:
        return {"X-CSRF-Token": (await me.json())["csrf_token"]}


async def availability(session: aiohttp.ClientSession, url: str) -> dict[int, bool]:
    status, guilds = await get(session, url, GUILDS)
    assert status == 200, guilds
    return {int(g["id"]): g["available"] for g in guilds}


async def test_two_shard_processes_and_a_web_process_on_postgres_and_redis(
        world: World, bot_processes: BotProcesses, pg_url: str, redis_prefix: str) -> None:  # noqa: F811
    common = {"DATABASE_URL": pg_url, "REDIS_URL": REDIS_URL, "MUSICBOT_REDIS_PREFIX": redis_prefix,
              "SHARD_COUNT": str(SHARDS)}
    role_bot = ("run", "--role", "bot")

    def start_shard(shard: int) -> BotProcess:
        return bot_processes.start(world.fake, world.env(f"shard{shard}", SHARD_IDS=str(shard), **common),
                                   args=role_bot)

    shard0, shard1 = start_shard(0), start_shard(1)
    port = free_port()
    web = bot_processes.start(world.fake, world.env("web", http_port=port, **world.web(port), **common),
                              args=("web",))
    await shard0.wait_ready(shards=(0,))
    await shard1.wait_ready(shards=(1,))
    await web.wait_ready(shards=())
    url = f"http://127.0.0.1:{port}"
    for guild_id in (G0, G1):
        await world.slash_play(guild_id, "local:tone-440.flac")
        await world.receiver.wait_for_packets(guild_id, 25, timeout=30)

    # Routing: each guild's questions go to the process that runs its shard, and to no other.
    probe = RedisBus(REDIS_URL, ops=OPS, errors=KINDS, prefix=redis_prefix)
    await probe.start(NodeInfo.new("web", SHARDS))
    try:
        owners = {g: await probe.owner_of(g) for g in (G0, G1)}
        assert {g: (o.shard_ids, o.http) for g, o in owners.items() if o} == {
            G0: ((0,), f"127.0.0.1:{shard0.http_port}"), G1: ((1,), f"127.0.0.1:{shard1.http_port}")}
    finally:
        await probe.stop()

    site = Site(url, world.fake, world.fake.oauth)  # type: ignore[arg-type]
    async with await logged_in(site) as alice:
        csrf = await csrf_of(alice, url)
        # The web process lists both shards' guilds, and answers for each from its own process.
        assert await eventually(lambda: _both_available(alice, url), "both guilds listed as available")
        for guild_id in (G0, G1):
            status, player = await get(alice, url, PLAYER, guild_id=guild_id)
            assert status == 200 and player["current"]["title"] == "tone-440", player
        # A play and a skip for the guild on shard 1, from the web process: shard 1's process plays them.
        status, queued = await post(alice, url, QUEUE, csrf, {"query": "local:tone-660.flac"}, guild_id=G1)
        assert status == 200 and [e["title"] for e in queued["queued"]] == ["tone-660"], queued
        status, player = await post(alice, url, ACT, csrf, guild_id=G1, action="skip")
        assert status == 200 and player["current"]["title"] == "tone-660", player
        await world.hear(G1, 660.0)
        await world.hear(G0, 440.0)  # shard 0's guild plays on, untouched

        # Shard 1's process dies: its guild is unavailable within the heartbeat expiry, the other is not.
        shard1.kill()
        assert await eventually(lambda: _only_g0_available(alice, url), "shard 1's guild listed as unavailable")
        status, refused = await get(alice, url, PLAYER, guild_id=G1)
        assert status == 503 and "(shard 1) is not running right now" in refused["error"], refused

        # Started again, it takes its shard back and resumes the guild where it was.
        again = start_shard(1)
        await again.wait_ready(shards=(1,))
        assert await eventually(lambda: _both_available(alice, url), "shard 1's guild available again")

        async def resumed() -> bool:
            status, player = await get(alice, url, PLAYER, guild_id=G1)
            return status == 200 and (player["current"] or {}).get("title") == "tone-660"

        assert await eventually(resumed, "shard 1's guild resumed, playing tone-660")
        await world.hear(G1, 660.0)
    assert shard0.returncode is None and web.returncode is None


async def _both_available(session: aiohttp.ClientSession, url: str) -> bool:
    return await availability(session, url) == {G0: True, G1: True}


async def _only_g0_available(session: aiohttp.ClientSession, url: str) -> bool:
    return await availability(session, url) == {G0: True, G1: False}


async def test_one_process_with_everything_in_it_and_no_redis(
        world: World, bot_processes: BotProcesses) -> None:  # noqa: F811
    """The same, for the default: one ``musicbot run`` running both shards and the dashboard, on SQLite."""
    port = free_port()
    env = world.env("all", http_port=port, SHARD_COUNT=str(SHARDS), **world.web(port))
    bot = bot_processes.start(world.fake, env)
    await bot.wait_ready(shards=(0, 1))
    url = f"http://127.0.0.1:{port}"
    await world.slash_play(G1, "local:tone-440.flac")
    await world.receiver.wait_for_packets(G1, 25, timeout=30)
    site = Site(url, world.fake, world.fake.oauth)  # type: ignore[arg-type]
    async with await logged_in(site) as alice:
        csrf = await csrf_of(alice, url)
        assert await _both_available(alice, url)
        status, queued = await post(alice, url, QUEUE, csrf, {"query": "local:tone-660.flac"}, guild_id=G1)
        assert status == 200 and [e["title"] for e in queued["queued"]] == ["tone-660"], queued
        status, player = await post(alice, url, ACT, csrf, guild_id=G1, action="skip")
        assert status == 200 and player["current"]["title"] == "tone-660", player
        await world.hear(G1, 660.0)
    # Restarted (SIGTERM, as a deploy does): the guild resumes where it was.
    bot.send_signal(15)
    assert await bot.wait_exit() == 0
    again = bot_processes.start(world.fake, env)
    await again.wait_ready(shards=(0, 1))
    async with await logged_in(site) as alice:

        async def resumed() -> bool:
            status, player = await get(alice, url, PLAYER, guild_id=G1)
            return status == 200 and (player["current"] or {}).get("title") == "tone-660"

        assert await eventually(resumed, "the guild resumed, playing tone-660")
    await world.hear(G1, 660.0)
