"""The client and its shards on the offline harness: it leases its shards when it starts and frees them when it
closes, registers the slash commands only from shard 0's process, and stops when another process took a shard of
its own. The real ``musicbot run`` processes are ``tests/test_shards_e2e.py``."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from musicbot.bot.client import MusicBotClient
from musicbot.config import load_config
from musicbot.storage import Database
from musicbot.storage.columns import utcnow
from musicbot.storage.leases import current_leases
from musicbot.storage.models import ShardLeaseRow
from tests.harness import FakeDiscord
from tests.harness.fixtures import OfflineBotFactory


def sharded(tmp_path: Path, ids: str) -> MusicBotClient:
    config = load_config({"MUSICBOT_DATA_DIR": str(tmp_path / f"data-{ids}"), "MUSICBOT_HTTP_PORT": "0",
                          "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}",
                          "SHARD_COUNT": "2", "SHARD_IDS": ids}, toml_path=tmp_path / "none.toml")
    return MusicBotClient(config)


async def test_only_shard_0s_process_registers_the_commands_and_each_leases_its_shard(
        offline_bot_factory: OfflineBotFactory, fake_discord: FakeDiscord, tmp_path: Path) -> None:
    shard1 = await offline_bot_factory(sharded(tmp_path, "1"))
    assert fake_discord.commands == {}  # left to shard 0
    shard0 = await offline_bot_factory(sharded(tmp_path, "0"))
    assert [c["name"] for c in fake_discord.commands["global"]] == [c.name for c in shard0.tree.get_commands()]
    assert shard0.database is not None
    assert [lease.key for lease in await current_leases(shard0.database)] == [(2, 0), (2, 1)]
    await shard1.close()
    assert [lease.key for lease in await current_leases(shard0.database)] == [(2, 0)]


async def test_a_process_whose_shard_was_taken_over_stops(
        offline_bot_factory: OfflineBotFactory, tmp_path: Path) -> None:
    bot = sharded(tmp_path, "1")
    bot.lease_ttl_s = 0.3
    await offline_bot_factory(bot)
    assert bot.leases is not None and bot.leases.renewals == 0
    # As after a database outage longer than the lease: another process took shard 1 over.
    db = await Database.open(bot.config.database_url)
    try:
        async with db.transaction() as session:
            await session.execute(sa.update(ShardLeaseRow).values(owner="thief", host="elsewhere", pid=7,
                                                                  expires_at=utcnow() + timedelta(minutes=5)))
        deadline = time.monotonic() + 30
        while not bot.is_closed():
            assert time.monotonic() < deadline, "the client did not stop"
            await asyncio.sleep(0.02)
        assert bot.lease_lost is not None and str(bot.lease_lost).startswith(
            "shard 1 of 2 was taken over by pid 7 on elsewhere (lease until ")
        assert [(lease.key, lease.owner.id) for lease in await current_leases(db)] == [((2, 1), "thief")]
    finally:
        await db.close()
