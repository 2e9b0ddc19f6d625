"""Scaled out: two real ``musicbot run`` processes (SHARD_COUNT=2, one shard each) on the real Postgres and
Redis, both with ``TELEGRAM_TOKEN``. Only shard 0's process runs the bridge; a guild on shard 1 is linked from
Discord (the command runs in shard 1's process and asks the bridge over the bus), and a song asked for in the
Telegram chat is played by shard 1's process, heard, and mirrored to the chat."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from tests.harness import OWNER_USER, FakeDiscord
from tests.harness.bot_process import BotProcess, BotProcesses
from tests.harness.fake_telegram import TOKEN, FakeTelegram
from tests.harness.tls import make_self_signed_cert
from tests.storage.conftest import pg_factory  # noqa: F401  (fixture)
from tests.telegram.helpers import CHAT, TOM, make_chat, say
from tests.telegram.test_run_e2e import answer_of, until_state
from tests.test_cluster_e2e import ALICE, G1, REDIS_URL, SHARDS, pg_url, pytestmark, redis_prefix  # noqa: F401
from tests.test_cluster_e2e import World as Cluster

__all__ = ["pytestmark"]


@pytest_asyncio.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    fake = FakeDiscord()
    await fake.start()
    try:
        world = Cluster(fake, tmp_path, make_self_signed_cert(tmp_path / "tls"))
        await world.setup()
        yield world
    finally:
        await fake.stop()


async def test_a_telegram_command_for_a_guild_of_another_process_goes_where_it_plays(
        cluster: Cluster, bot_processes: BotProcesses, fake_telegram: FakeTelegram,
        pg_url: str, redis_prefix: str) -> None:  # noqa: F811  (fixtures)
    telegram = fake_telegram
    make_chat(telegram)
    common = {"DATABASE_URL": pg_url, "REDIS_URL": REDIS_URL, "MUSICBOT_REDIS_PREFIX": redis_prefix,
              "SHARD_COUNT": str(SHARDS), "TELEGRAM_TOKEN": TOKEN, "TELEGRAM_API_BASE": telegram.base_url}

    def start_shard(shard: int) -> BotProcess:
        return bot_processes.start(cluster.fake, cluster.env(f"shard{shard}", SHARD_IDS=str(shard), **common),
                                   args=("run", "--role", "bot"))

    shard0, shard1 = start_shard(0), start_shard(1)
    await shard0.wait_ready(shards=(0,))
    await shard1.wait_ready(shards=(1,))
    await until_state(shard0, "connected")
    status, body = await shard1.http_get("/ready")
    assert status == 200 and "telegram" not in json.loads(body)  # one reader of the bot's updates: shard 0's

    fake = cluster.fake
    link = fake.slash("telegram link", {"chat_id": CHAT}, guild_id=G1, channel_id=G1 + 1, user=OWNER_USER)
    await fake.main_gateway.interaction(link)  # run by shard 1's process
    found = re.search(r"/confirm ([A-Z0-9]{8})", await answer_of(fake, link))
    assert found is not None
    await say(telegram, TOM, f"/confirm {found.group(1)}", expect="linked to the Discord server")

    join = fake.slash("join", guild_id=G1, channel_id=G1 + 1, user=ALICE)
    await fake.main_gateway.interaction(join)
    await answer_of(fake, join)
    assert "Playing" in await say(telegram, TOM, "/play local:tone-660.flac", expect="Playing")
    await cluster.hear(G1, 660.0)
    message = await telegram.wait_for_text(CHAT, "Now playing")  # shard 1's changes, heard by shard 0's bridge
    assert "tone-660" in message.visible and "Requested by Tom (Telegram)" in message.visible
    assert "Paused" in await say(telegram, TOM, "/pause", expect="Paused")
    assert shard0.returncode is None and shard1.returncode is None
