"""Resident memory of the real ``musicbot run``: idle, one guild playing, N guilds playing (issue 15, item 5).

    python -m benchmarks.memory --guilds 5

The bot is the real ``musicbot run`` as a subprocess (nothing patched: only its environment differs from
production, ``tests/harness/bot_process.py``), against the fake Discord of ``tests/harness`` running in this
process, as ``tests/test_run_e2e.py`` runs it: REST and gateway through ``DISCORD_API_BASE`` and
``DISCORD_GATEWAY_URL``, voice over TLS. Guilds start playing through real ``/play`` interactions of a generated
FLAC in the music folder (decoded, normalized and encoded as a user's file would be), and a stage is measured
only once the fake's voice server has heard music from each of its guilds. The bot starts on a database a
previous start left at the newest schema, as a restart does (``--fresh-database``: a first start). No internet.

Measured for the bot's process and each process under it (render workers): ``VmRSS`` (``/proc/PID/status``),
``Pss`` and USS (``Private_Clean`` + ``Private_Dirty``, ``/proc/PID/smaps_rollup``). RSS counts every shared
page (the interpreter, libraries) in full in each process, so RSS summed over processes overstates what they
hold together; PSS divides each shared page among the processes that map it, so its sum is their real total;
USS is what a process alone holds (what its exit would free). The issue's goals (idle ≤ 150 MiB in all, one
guild playing ≤ 200 MiB, each further player ≤ 5 MiB) are checked against the PSS total. This process (the
fake Discord) maps some of the same libraries (Python's, PyAV's, numpy's), which takes a little off the
bot's PSS: RSS is the bound from above.

The bot imports the ``musicbot`` package next to this file (``PYTHONPATH``): run from a git worktree of an
older commit, it measures that commit's bot. Exit status 0 when the goals are met.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from musicbot.sources.synth import music_like, write_audio
from tests.harness import FakeDiscord, VoiceReceiver, guild_payload, user
from tests.harness.bot_process import BotProcess, bot_env
from tests.harness.tls import make_self_signed_cert, openssl_available, server_context

REPO = Path(__file__).resolve().parents[1]
TRACK_S = 180.0  # longer than any run: no guild's track ends (and its player goes idle) before it is measured
FIRST_GUILD = 1_200_000_000_000_000_000
HEARD_PACKETS = 50  # a second of music from a guild's voice session: it plays
GOAL_IDLE_MIB, GOAL_ONE_MIB, GOAL_FURTHER_MIB = 150.0, 200.0, 5.0


@dataclass(frozen=True)
class ProcessMemory:
    pid: int
    role: str  # "main", "render worker", or the command's name
    rss_mib: float
    pss_mib: float
    uss_mib: float


@dataclass(frozen=True)
class Stage:
    name: str
    players: int
    processes: tuple[ProcessMemory, ...]
    total_rss_mib: float = field(init=False)
    total_pss_mib: float = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "total_rss_mib", sum(p.rss_mib for p in self.processes))
        object.__setattr__(self, "total_pss_mib", sum(p.pss_mib for p in self.processes))

    @property
    def main(self) -> ProcessMemory:
        return self.processes[0]


# ---------------------------------------------------------------- /proc
def _kib_field(text: str, name: str) -> float:
    """``name:   1234 kB`` of a /proc file, in MiB (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:  # the process ended meanwhile
        return ""


def descendants(pid: int) -> list[int]:
    """Every process under ``pid`` (children, their children, …), parents before children."""
    parent_of: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _read(f"/proc/{entry.name}/stat")
            if stat:  # "pid (comm) state ppid ...": comm may hold spaces and parentheses
                parent_of[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop(0)
        children = sorted(p for p, pp in parent_of.items() if pp == parent)
        found += children
        pending += children
    return found


def _role(pid: int) -> str:
    argv = _read(f"/proc/{pid}/cmdline").split("\0")
    if "musicbot.voice.worker" in argv:
        return "render worker"
    return Path(argv[0]).name if argv and argv[0] else "?"


def process_memory(pid: int, role: str) -> ProcessMemory:
    rollup = _read(f"/proc/{pid}/smaps_rollup")
    return ProcessMemory(pid, role, _kib_field(_read(f"/proc/{pid}/status"), "VmRSS"), _kib_field(rollup, "Pss"),
                         _kib_field(rollup, "Private_Clean") + _kib_field(rollup, "Private_Dirty"))


def measure(name: str, players: int, bot_pid: int) -> Stage:
    processes = [process_memory(bot_pid, "main")]
    processes += [process_memory(pid, _role(pid)) for pid in descendants(bot_pid)]
    return Stage(name, players, tuple(p for p in processes if p.rss_mib > 0))


# ---------------------------------------------------------------- driving the bot
@dataclass(frozen=True)
class Guild:
    guild_id: int
    listener: dict[str, Any]

    @property
    def text_id(self) -> int:
        return self.guild_id + 1

    @property
    def voice_id(self) -> int:
        return self.guild_id + 2


async def _play(fake: FakeDiscord, receiver: VoiceReceiver, guilds: list[Guild], timeout: float) -> None:
    """``/play`` in each guild at once; returns when each guild's voice session has carried music."""
    for guild in guilds:
        play = fake.slash("play", {"query": "local:music.flac"}, guild_id=guild.guild_id,
                          channel_id=guild.text_id, user=guild.listener)
        await fake.main_gateway.interaction(play)
    deadline = time.perf_counter() + timeout
    for guild in guilds:
        while len(receiver.packets(guild.guild_id, include_silence=False)) < HEARD_PACKETS:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"guild {guild.guild_id}: no music heard after {timeout:g} s")
            await asyncio.sleep(0.1)


async def run(guild_count: int, idle_s: float, settle_s: float, keep_log: Path | None,
              fresh_database: bool = False) -> list[Stage]:
    with tempfile.TemporaryDirectory(prefix="musicbot-memory-") as tmp:
        folder = Path(tmp)
        if not fresh_database:
            # What a restart (the usual start) finds: the database a previous start migrated to the newest schema.
            from musicbot.storage import upgrade

            (folder / "data").mkdir()
            await upgrade(f"sqlite+aiosqlite:///{folder / 'data' / 'musicbot.db'}")
        music = folder / "music"
        music.mkdir()
        write_audio(music / "music.flac", music_like(TRACK_S))
        cert = make_self_signed_cert(folder / "tls")
        guilds = [Guild(FIRST_GUILD + 10 * i, user(9100 + i, f"listener{i}")) for i in range(guild_count)]
        fake = FakeDiscord()
        await fake.start()
        bot: BotProcess | None = None
        try:
            await fake.serve_voice_tls(server_context(cert))
            for guild in guilds:
                fake.main_gateway.add_guild(guild_payload(guild.guild_id, text_id=guild.text_id,
                                                          voice_id=guild.voice_id, members=[guild.listener]))
                await fake.main_gateway.set_user_voice(guild.guild_id, guild.listener, guild.voice_id)
            # PYTHONPATH: the bot runs the code beside this benchmark, not whatever the venv installed.
            env = bot_env(fake, folder / "data", music_dir=music, ca_file=cert.cert, PYTHONPATH=str(REPO),
                          MUSICBOT_LOG_LEVEL="info")
            bot = BotProcess(fake, env, log_path=keep_log or folder / "bot.log", cwd=folder).start()
            await bot.wait_ready()
            receiver = VoiceReceiver(fake)
            await asyncio.sleep(idle_s)
            stages = [measure("idle", 0, bot.pid)]
            await _play(fake, receiver, guilds[:1], timeout=60)
            await asyncio.sleep(settle_s)
            stages.append(measure("1 guild playing", 1, bot.pid))
            if guild_count > 1:
                await _play(fake, receiver, guilds[1:], timeout=90)
                await asyncio.sleep(settle_s)
                stages.append(measure(f"{guild_count} guilds playing", guild_count, bot.pid))
            bot.send_signal(signal.SIGTERM)
            await bot.wait_exit(timeout=15)
            return stages
        except Exception:
            if bot is not None:
                print(bot.tail(40), file=sys.stderr)
            raise
        finally:
            if bot is not None:
                bot.close()
            await fake.stop()


# ---------------------------------------------------------------- report
def per_further_player(stages: list[Stage]) -> dict[str, float] | None:
    """What each player after the first added: (N guilds − 1 guild) / (N − 1), in all and in the main process."""
    if len(stages) < 3:
        return None
    one, many = stages[1], stages[-1]
    further = many.players - one.players
    running = {p.pid for p in one.processes}
    # Told apart: what the players cost in the processes that ran already, and render workers started for them.
    new = [p for p in many.processes if p.pid not in running]
    return {"total_pss_mib": (many.total_pss_mib - one.total_pss_mib) / further,
            "total_rss_mib": (many.total_rss_mib - one.total_rss_mib) / further,
            "main_pss_mib": (many.main.pss_mib - one.main.pss_mib) / further,
            "main_rss_mib": (many.main.rss_mib - one.main.rss_mib) / further,
            "new_processes": len(new),
            "new_processes_pss_mib": sum(p.pss_mib for p in new) / further}


def goals(stages: list[Stage]) -> dict[str, bool]:
    met = {"idle": stages[0].total_pss_mib <= GOAL_IDLE_MIB, "one_guild": stages[1].total_pss_mib <= GOAL_ONE_MIB}
    further = per_further_player(stages)
    if further is not None:
        met["each_further_player"] = further["total_pss_mib"] <= GOAL_FURTHER_MIB
    return met


def _commit() -> str:
    done = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], check=False,
                          capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def print_table(stages: list[Stage]) -> None:
    print(f"musicbot run at {_commit()} ({REPO}), Python {sys.version.split()[0]}, {os.cpu_count()} cores; MiB")
    print(f"{'stage':<18} {'process':<16} {'pid':>8} {'RSS':>8} {'PSS':>8} {'USS':>8}")
    for stage in stages:
        for process in stage.processes:
            print(f"{stage.name:<18} {process.role:<16} {process.pid:>8} {process.rss_mib:>8.1f} "
                  f"{process.pss_mib:>8.1f} {process.uss_mib:>8.1f}")
        print(f"{stage.name:<18} {'= all':<16} {len(stage.processes):>8} {stage.total_rss_mib:>8.1f} "
              f"{stage.total_pss_mib:>8.1f} {sum(p.uss_mib for p in stage.processes):>8.1f}")
    further = per_further_player(stages)
    if further is not None:
        print(f"each further player: {further['total_pss_mib']:+.1f} MiB PSS in all "
              f"({further['total_rss_mib']:+.1f} RSS), of which {further['new_processes_pss_mib']:.1f} for the "
              f"{further['new_processes']:.0f} new process(es) since one guild played; main process "
              f"{further['main_pss_mib']:+.1f} PSS")
    met = goals(stages)
    print(f"goals (PSS in all): idle {stages[0].total_pss_mib:.0f} ≤ {GOAL_IDLE_MIB:.0f} "
          f"{'met' if met['idle'] else 'NOT met'}; one guild {stages[1].total_pss_mib:.0f} ≤ {GOAL_ONE_MIB:.0f} "
          f"{'met' if met['one_guild'] else 'NOT met'}"
          + (f"; each further player ≤ {GOAL_FURTHER_MIB:.0f} {'met' if met['each_further_player'] else 'NOT met'}"
             if "each_further_player" in met else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__.split("\n")[0])
    parser.add_argument("--guilds", type=int, default=5, help="guilds playing at the last stage (default 5)")
    parser.add_argument("--idle", type=float, default=5.0, metavar="S",
                        help="seconds the ready bot idles before the first measurement (default 5)")
    parser.add_argument("--settle", type=float, default=5.0, metavar="S",
                        help="seconds of playing before a stage is measured (default 5)")
    parser.add_argument("--fresh-database", action="store_true",
                        help="start on an empty database (a first start, which migrates it) instead of one a "
                             "previous start left at the newest schema")
    parser.add_argument("--log", type=Path, help="keep the bot's log in this file")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    if args.guilds < 1:
        parser.error("--guilds must be at least 1")
    if not openssl_available():
        parser.error("needs the openssl command (the fake's voice endpoint is TLS, as Discord's is)")
    stages = asyncio.run(run(args.guilds, args.idle, args.settle, args.log, args.fresh_database))
    if args.json:
        print(json.dumps({"commit": _commit(), "stages": [asdict(s) for s in stages],
                          "per_further_player": per_further_player(stages), "goals_met": goals(stages)}))
    else:
        print_table(stages)
    return 0 if all(goals(stages).values()) else 1


if __name__ == "__main__":
    sys.exit(main())
