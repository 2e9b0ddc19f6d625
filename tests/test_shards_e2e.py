"""``SHARD_COUNT``/``SHARD_IDS`` end to end with real ``musicbot run`` processes against the fake Discord: a
process refuses shards another one runs (before it sends Discord anything), resumes and cleans up only its own
shards' snapshots on a shared Postgres, says which shards it runs in ``/metrics``, and only shard 0's process
registers the slash commands."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from musicbot.shards import ShardRange, shard_of
from musicbot.sources.local import LocalLibrary
from musicbot.sources.synth import tone, write_audio
from musicbot.storage import Database, SessionSnapshot, SnapshotEntry, SnapshotRepo
from musicbot.storage.columns import utcnow
from musicbot.storage.leases import LeaseOwner, ShardLeases, current_leases
from musicbot.storage.migrate import upgrade
from tests.harness import FakeDiscord, guild_payload, user
from tests.harness.bot_process import BotProcess, BotProcesses, bot_env
from tests.harness.fixtures import bot_processes  # noqa: F401  (fixture)
from tests.harness.tls import SelfSignedCert, make_self_signed_cert, openssl_available, server_context
from tests.storage.conftest import pg_factory  # noqa: F401  (fixture: fresh Postgres databases, CI=true rule)

pytestmark = [pytest.mark.slow]

ALICE = user(5001, "alice")
SHARDS = 2


def guild_on(shard: int, n: int) -> int:
    guild_id = ((1_000_000 + n * SHARDS + shard) << 22) | 4242
    assert shard_of(guild_id, SHARDS) == shard
    return guild_id


G0, G1 = guild_on(0, 1), guild_on(1, 1)  # in the fake Discord, Alice in their voice channels
G0_OLD, G1_OLD = guild_on(0, 2), guild_on(1, 2)  # only snapshots, older than MUSICBOT_SNAPSHOT_MAX_AGE
REFUSAL = re.compile(r"^musicbot: error: shard 1 of 2 is already run by pid (\d+) on (\S+) \(lease until "
                     r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\); stop that process or choose other SHARD_IDS$")


def text_of(guild_id: int) -> int:
    return guild_id + 1


def voice_of(guild_id: int) -> int:
    return guild_id + 2


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


async def test_musicbot_run_refuses_a_shard_another_process_runs(
        fake: FakeDiscord, tmp_path: Path, bot_processes: BotProcesses) -> None:  # noqa: F811
    """On the default SQLite database, whose lease this test's process holds."""
    env = bot_env(fake, tmp_path / "data", SHARD_COUNT="2", SHARD_IDS="1")
    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'musicbot.db'}"
    db = await Database.open(url)
    try:
        holder = ShardLeases(db, ShardRange(2, (1,)))  # this process: it runs, here, on this machine
        await holder.claim()
        assert holder.expires_at is not None
        bot = bot_processes.start(fake, env)
        assert await bot.wait_exit(timeout=120) == 1
        assert bot.log().strip().splitlines()[-1] == (
            f"musicbot: error: shard 1 of 2 is already run by pid {os.getpid()} on {socket.gethostname()} (lease "
            f"until {holder.expires_at:%Y-%m-%d %H:%M:%S} UTC); stop that process or choose other SHARD_IDS")
        assert fake.requests == [] and fake.main_gateway.connections == []  # Discord heard nothing of it
        assert [(lease.key, lease.owner) for lease in await current_leases(db)] == [((2, 1), holder.owner)]

        # Shard 0 is free: that process starts (and leaves shard 1's lease alone).
        other = bot_processes.start(fake, bot_env(fake, tmp_path / "data", SHARD_COUNT="2", SHARD_IDS="0"))
        await other.wait_ready(shards=(0,))
        assert sorted(lease.key for lease in await current_leases(db)) == [(2, 0), (2, 1)]
        other.send_signal(signal.SIGTERM)
        assert await other.wait_exit(timeout=30) == 0
        assert [lease.key for lease in await current_leases(db)] == [(2, 1)]  # its own released at the end
        await holder.release()
    finally:
        await db.close()


# ---------------------------------------------------------------- two shard processes on one Postgres
@pytest.fixture
def cert(tmp_path: Path) -> SelfSignedCert:
    return make_self_signed_cert(tmp_path / "tls")


@pytest.fixture
def pg_url(pg_factory: Callable[[], str]) -> str:  # noqa: F811
    """A fresh Postgres database of this test, migrated (dropped at the end of the session)."""
    url = pg_factory()
    asyncio.run(upgrade(url))
    return url


async def _saved_at(db: Database) -> dict[int, datetime]:
    return {s.guild_id: s.saved_at for s in await SnapshotRepo(db).load_all()}


def _metric(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(s.labels.items())): s.value for family in text_string_to_metric_families(text)
            for s in family.samples if s.name == name}


async def _poll(condition: Callable[[], bool], what: str, bot: BotProcess, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"{what}: not after {timeout} s\n{bot.tail()}"
        await asyncio.sleep(0.1)


async def _playing(bot: BotProcess, shard: int) -> str:
    """Wait until ``bot``'s /metrics counts a player on ``shard`` (in voice with the track: the voice connection
    takes a moment after the bot joins the channel); returns that /metrics text."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while _metric(text := (await bot.http_get("/metrics"))[1], "musicbot_shard_players_active") \
            != {(("shard", str(shard)),): 1.0}:
        assert loop.time() < deadline, f"no player on shard {shard} in /metrics\n{text}"
        await asyncio.sleep(0.2)
    return text


@pytest.mark.skipif(not openssl_available(), reason="needs the openssl command for the voice certificate")
async def test_shard_processes_resume_and_clean_only_their_own_guilds_and_only_shard_0_registers_commands(
        fake: FakeDiscord, cert: SelfSignedCert, tmp_path: Path, bot_processes: BotProcesses,  # noqa: F811
        pg_url: str) -> None:
    url = pg_url
    await fake.serve_voice_tls(server_context(cert))
    for guild_id in (G0, G1):
        fake.main_gateway.add_guild(guild_payload(guild_id, text_id=text_of(guild_id), voice_id=voice_of(guild_id),
                                                  members=[ALICE]))
        await fake.main_gateway.set_user_voice(guild_id, ALICE, voice_of(guild_id))
    music = tmp_path / "music"
    music.mkdir()
    write_audio(music / "tone.flac", tone(440.0, 60.0))
    track = LocalLibrary(music).track_for(music / "tone.flac")
    now = utcnow()
    db = await Database.open(url)
    try:
        for guild_id, saved_at in ((G0, now), (G1, now), (G0_OLD, now - timedelta(days=2)),
                                   (G1_OLD, now - timedelta(days=2))):
            await SnapshotRepo(db).save(SessionSnapshot(
                guild_id=guild_id, voice_channel_id=voice_of(guild_id), text_channel_id=text_of(guild_id),
                current=SnapshotEntry(track, requester_id=int(ALICE["id"])), position_s=1.0, saved_at=saved_at))
        seeded = await _saved_at(db)

        def env(shard: int) -> dict[str, str]:
            return bot_env(fake, tmp_path / f"data-{shard}", music_dir=music, ca_file=cert.cert, DATABASE_URL=url,
                           SHARD_COUNT=str(SHARDS), SHARD_IDS=str(shard))

        def registrations() -> int:
            return len(fake.calls("PUT", r"^/applications/\d+/commands$"))

        # 1. Shard 0's process: resumes G0, drops G0_OLD, leaves shard 1's snapshots as they are; registers the
        #    commands; /metrics says which shards it runs.
        shard0 = bot_processes.start(fake, env(0))
        await shard0.wait_ready(shards=(0,))
        await fake.main_gateway.wait_bot_channel(G0, voice_of(G0), timeout=60)
        assert registrations() == 1
        saved = await _saved_at(db)
        assert G0_OLD not in saved and {g: saved[g] for g in (G1, G1_OLD)} == {g: seeded[g] for g in (G1, G1_OLD)}
        assert fake.main_gateway.bot_channel(G1) is None and fake.main_gateway.identifies(1) == []
        text = await _playing(shard0, 0)  # back in voice with its track (a shutdown before keeps the old snapshot)
        assert _metric(text, "musicbot_process_shards") == {(("shard_count", "2"), ("shard_ids", "0")): 1.0}
        assert _metric(text, "musicbot_shard_guilds") == {(("shard", "0"),): 1.0}

        # 2. Its shutdown snapshots G0 and releases its lease; shard 1's snapshots are still untouched.
        shard0.send_signal(signal.SIGTERM)
        assert await shard0.wait_exit(timeout=30) == 0
        saved = await _saved_at(db)
        assert saved[G0] > seeded[G0] and {g: saved[g] for g in (G1, G1_OLD)} == {g: seeded[g] for g in (G1, G1_OLD)}
        assert await current_leases(db) == []
        g0_at_shutdown = saved[G0]

        # 3. Shard 1's process: resumes G1, drops G1_OLD, leaves G0's snapshot alone, does not register commands.
        shard1 = bot_processes.start(fake, env(1))
        await shard1.wait_ready(shards=(1,))
        await fake.main_gateway.wait_bot_channel(G1, voice_of(G1), timeout=60)
        await shard1.wait_for_log(r"slash commands not registered here \(shard 1 of 2\): shard 0's process or "
                                  r"`musicbot sync` does that")
        assert registrations() == 1
        saved = await _saved_at(db)
        assert G1_OLD not in saved and saved[G0] == g0_at_shutdown
        await _poll(lambda: fake.main_gateway.bot_channel(G0) is None, "G0 left by shard 0's process", shard1)
        [lease] = await current_leases(db)
        assert lease.key == (2, 1) and lease.owner.pid == shard1.pid
        text = await _playing(shard1, 1)
        assert _metric(text, "musicbot_process_shards") == {(("shard_count", "2"), ("shard_ids", "1")): 1.0}
        assert _metric(text, "musicbot_shard_guilds") == {(("shard", "1"),): 1.0}

        # 4. A second process for shard 1 while it runs: refused, naming it, before any contact with Discord.
        logins, identifies = len(fake.calls("GET", r"^/users/@me$")), len(fake.main_gateway.identifies(1))
        intruder = bot_processes.start(fake, env(1))
        assert await intruder.wait_exit(timeout=120) == 1
        refused = REFUSAL.match(intruder.log().strip().splitlines()[-1])
        assert refused is not None, intruder.tail()
        assert (int(refused[1]), refused[2]) == (shard1.pid, LeaseOwner.this_process().host)
        assert (len(fake.calls("GET", r"^/users/@me$")), len(fake.main_gateway.identifies(1))) == (logins, identifies)
        assert fake.main_gateway.bot_channel(G1) == voice_of(G1)  # the running one plays on

        shard1.send_signal(signal.SIGTERM)
        assert await shard1.wait_exit(timeout=30) == 0
        assert await current_leases(db) == []
        assert sorted(await _saved_at(db)) == sorted([G0, G1])  # both resume at the next start of their shard
    finally:
        await db.close()
