"""Voice load test: N guilds streaming at once, in real time, through discord.py's real voice stack.

    python -m benchmarks.voice_load --guilds 10 --seconds 30 --chain full

Each guild gets its own ``GuildSession`` (``Player`` + engine) and discord.py ``VoiceClient``
connected to the offline harness (``tests/harness``: a local fake voice gateway + UDP receiver that
takes kernel receive timestamps). Every guild plays generated music (an Opus/WebM file, like
YouTube's itag 251) with the chosen filters, at discord.py's real 20 ms pacing, set up as
``musicbot run`` sets up the bot (``prepare_for_voice``: render worker processes, a 1 ms GIL switch
interval, ``gc.freeze``; ``--render thread`` renders in this process instead). Printed per guild: packets
received in the measured window, inter-arrival jitter p50/p99 (|gap − 20 ms|), and late packets
(more than 5 ms behind the 20 ms schedule); also CPU used, and by other processes (a busy machine
spoils the run: wait for a quiet one), and the bot's resident memory while all guilds play.
Exit status 0 when the issue's goal is met (no late packet, p99 jitter under 3 ms, every packet
there).

The fake Discord (its voice websocket and the UDP receiver that decrypts every packet) runs in a
process of its own, as Discord is elsewhere in production: its work does not compete with the
bot's threads for the bot's GIL. ``--fake inline`` runs it in the bot's process instead.

Chains: ``full`` (the issue's EQ + bassboost + timescale + rotation + tremolo + reverb, as in
``musicbot bench``), ``transcode`` (no filters, normalizer on: decode + encode), ``passthrough``.
Only loopback traffic; the run is bounded by ``--seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import discord
import discord.http
import numpy as np

from musicbot.bench import FULL_CHAIN
from musicbot.dsp.params import FilterSettings
from musicbot.dsp.settings import parse_filters
from musicbot.session import GuildSession
from musicbot.sources.decoder import Decoder
from musicbot.sources.models import Resolved, ResolvedKind
from musicbot.sources.synth import music_like, write_audio
from musicbot.track import Track
from musicbot.voice import realtime
from musicbot.voice.processes import RenderProcesses, prepare_for_voice
from musicbot.voice.protocol import EngineConfig, OpusSettings
from musicbot.voice.render_client import RenderClient
from musicbot.voice.transport import LocalTransport
from tests.harness import (
    FakeDiscord,
    RtpPacket,
    guild_payload,
    inter_arrival_jitter,
    join_voice,
    late_packets,
    user,
)
from tests.harness.fixtures import OfflineBotFactory

LATE_MS = 5.0
STARTUP_S = 2.0  # start-up left out of the steady CPU figure: every decoder fills its 2 s buffer at once
LISTENER = user(9001, "listener")
CHAINS = ("full", "transcode", "passthrough")


@dataclass(frozen=True)
class GuildResult:
    guild_id: int
    packets: int
    expected: int
    jitter_p50_ms: float
    jitter_p99_ms: float
    jitter_max_ms: float
    late: int
    underruns: int
    first_at: float = 0.0  # arrival of the guild's first packet (perf_counter clock)
    late_at: tuple[float, ...] = ()  # arrivals of its late packets


class _OneFile:
    """Resolver + opener: every query plays ``path``."""

    def __init__(self, path: Path, seconds: float) -> None:
        self.track = Track(id="load:music", title="music", artist="", duration_s=seconds, url=str(path), source="local")

    async def resolve(self, query: str) -> Resolved:
        return Resolved(ResolvedKind.TRACK, (self.track,))

    async def open(self, track: Track, *, start_s: float = 0.0) -> Decoder:
        decoder = Decoder(track.url, start_s=start_s).start()

        def ready() -> None:
            decoder.wait_open(10.0)
            deadline = time.perf_counter() + 10.0
            while decoder.buffered_frames < 50 and time.perf_counter() < deadline:
                time.sleep(0.005)

        await asyncio.to_thread(ready)
        return decoder


def _settings(chain: str) -> tuple[FilterSettings, bool]:
    """Filters and whether the normalizer is on (passthrough needs it off)."""
    if chain == "full":
        return parse_filters(FULL_CHAIN), True
    if chain == "transcode":
        return FilterSettings(), True
    return FilterSettings(), False


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


@dataclass
class _FakeEndpoint:
    """What the bot side needs of a FakeDiscord that runs in another process."""

    port: int
    pid: int

    @property
    def voice_endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"


@contextlib.asynccontextmanager
async def _fake_discord(where: str) -> AsyncIterator[tuple[Any, Callable[[], list[RtpPacket]]]]:
    """A started fake Discord and a function returning every RTP packet it received so far."""
    if where == "inline":
        fake = FakeDiscord()
        await fake.start()
        try:
            yield fake, fake.packets
        finally:
            await fake.stop()
        return
    child = subprocess.Popen([sys.executable, "-m", "benchmarks.voice_load", "--serve-fake"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdin is not None and child.stdout is not None
    ports = json.loads(await asyncio.to_thread(child.stdout.readline))
    old_base = discord.http.Route.BASE
    discord.http.Route.BASE = f"http://127.0.0.1:{ports['port']}/api/v10"

    def packets() -> list[RtpPacket]:
        assert child.stdin is not None and child.stdout is not None
        with tempfile.NamedTemporaryFile(suffix=".pickle") as dump:
            child.stdin.write(f"dump {dump.name}\n")
            child.stdin.flush()
            child.stdout.readline()
            received: list[RtpPacket] = pickle.loads(Path(dump.name).read_bytes())
        return received

    try:
        yield _FakeEndpoint(ports["port"], child.pid), packets
    finally:
        discord.http.Route.BASE = old_base
        child.stdin.close()
        child.wait(10)


async def _serve_fake() -> None:
    """The child side of ``_fake_discord``: serve until stdin closes, dumping packets on request."""
    fake = FakeDiscord()
    await fake.start()
    print(json.dumps({"port": fake.port}), flush=True)
    while line := await asyncio.to_thread(sys.stdin.readline):
        Path(line.split(maxsplit=1)[1].strip()).write_bytes(pickle.dumps(fake.packets()))
        print("dumped", flush=True)
    await fake.stop()


async def run_load(
    guilds: int, seconds: float, chain: str, render: str, fake_where: str = "process", *,
    opus: OpusSettings | None = None,
) -> tuple[list[GuildResult], dict[str, float]]:
    filters, normalize = _settings(chain)
    # As `musicbot run` sets the process up (musicbot/cli.py).
    processes = await asyncio.to_thread(prepare_for_voice, render_workers=render == "process")
    # Started before the clock runs: this measures streams, not the workers' start.
    workers = await asyncio.to_thread(processes.start) if processes is not None else []
    with tempfile.TemporaryDirectory() as tmp:
        media = write_audio(Path(tmp) / "music.webm", music_like(seconds + 4.0))
        source = _OneFile(media, seconds + 4.0)
        async with _fake_discord(fake_where) as (fake, received):
            return await _play_all(fake, received, guilds=guilds, seconds=seconds, source=source, filters=filters,
                                   normalize=normalize, processes=processes, workers=workers,
                                   opus=opus or OpusSettings())


async def _play_all(
    fake: Any,
    received: Callable[[], list[RtpPacket]],
    *,
    guilds: int,
    seconds: float,
    source: _OneFile,
    filters: FilterSettings,
    normalize: bool,
    processes: RenderProcesses | None,
    workers: list[int],
    opus: OpusSettings,
) -> tuple[list[GuildResult], dict[str, float]]:
    factory = OfflineBotFactory(fake)
    try:
        ids = [10_000 + 10 * i for i in range(guilds)]
        bot = await factory(
            guilds=[guild_payload(g, text_id=g + 1, voice_id=g + 2, members=[LISTENER]) for g in ids]
        )
        sessions = []
        for g in ids:
            guild = bot.get_guild(g)
            assert guild is not None
            listener = await join_voice(bot, g, g + 2, LISTENER)
            engine = RenderClient(EngineConfig(filters, normalize=normalize, opus=opus),
                                  connect=LocalTransport if processes is None else processes.connect)
            session = GuildSession(guild, resolver=source, opener=source, engine=engine)
            await session.connect(listener)
            sessions.append((session, listener))
        fake_pid = getattr(fake, "pid", 0)
        fake_start = _cpu_seconds([fake_pid], own=False)
        cpu_start, busy_start, wall_start = _cpu_seconds(workers), _machine_busy_seconds(), time.perf_counter()
        await asyncio.gather(*(session.play("music", listener) for session, listener in sessions))
        # Steady state, after the start-up (every decoder filling its buffer at once): what each
        # further second of streaming costs, the figure streams per core are counted from.
        startup = min(STARTUP_S, seconds / 2)
        await asyncio.sleep(startup)
        steady_cpu, steady_wall = _cpu_seconds(workers), time.perf_counter()
        steady_workers_cpu = _cpu_seconds(workers, own=False)
        await asyncio.sleep(seconds + 1.0 - startup)
        cpu_end, wall_end = _cpu_seconds(workers), time.perf_counter()
        workers_cores = (_cpu_seconds(workers, own=False) - steady_workers_cpu) / (wall_end - steady_wall)
        cpu, wall = cpu_end - cpu_start, wall_end - wall_start
        steady_cores = (cpu_end - steady_cpu) / (wall_end - steady_wall)
        rss_mb = _rss_mb([os.getpid(), *workers])  # while every guild still plays
        fake_cpu = _cpu_seconds([fake_pid], own=False) - fake_start
        others = max(0.0, _machine_busy_seconds() - busy_start - cpu - fake_cpu)
        packets = await asyncio.to_thread(received)
        results = [_measure([p for p in packets if p.guild_id == g], g, s, seconds)
                   for g, (s, _) in zip(ids, sessions, strict=True)]
        for session, _ in sessions:
            await session.disconnect()
        # Other processes on the machine take cores from the run: shown so a bad run can be told apart.
        return results, {"cpu_s": cpu, "wall_s": wall, "cpu_cores": cpu / wall, "other_cores": others / wall,
                         "fake_cores": fake_cpu / wall, "rss_mb": rss_mb, "steady_cores": steady_cores,
                         "streams_per_core": guilds / steady_cores if steady_cores > 0 else 0.0,
                         "steady_workers_cores": workers_cores}
    finally:
        await factory.close_all()


def _measure(packets: list[RtpPacket], guild_id: int, session: GuildSession, seconds: float) -> GuildResult:
    """The window: ``seconds`` from the guild's first packet (each guild starts a little apart)."""
    if not packets:
        return GuildResult(guild_id, 0, round(seconds * 50), 0.0, 0.0, 0.0, 0, 0)
    start = packets[0].t_recv
    window = [p for p in packets if p.t_recv < start + seconds]
    jitter = inter_arrival_jitter(window)
    late = late_packets(window, LATE_MS)
    return GuildResult(
        guild_id=guild_id,
        packets=len(window),
        expected=round(seconds * 50),
        jitter_p50_ms=_percentile(jitter, 50),
        jitter_p99_ms=_percentile(jitter, 99),
        jitter_max_ms=max(jitter, default=0.0),
        late=len(late),
        underruns=session.player.underruns,
        first_at=start,
        late_at=tuple(x.packet.t_recv for x in late),
    )


def late_bursts(results: list[GuildResult], gap_s: float = 0.1) -> list[tuple[float, int, int]]:
    """Late packets of all guilds grouped in time (a new group after ``gap_s`` without one):
    (seconds after the first guild's first packet, packets, guilds). Tells a stall of the whole
    machine (every guild at once), the start-up of the other guilds, and one guild's trouble apart."""
    start = min((r.first_at for r in results if r.packets), default=0.0)
    late = sorted((t, r.guild_id) for r in results for t in r.late_at)
    bursts: list[list[tuple[float, int]]] = []
    for t, guild in late:
        if bursts and t - bursts[-1][-1][0] <= gap_s:
            bursts[-1].append((t, guild))
        else:
            bursts.append([(t, guild)])
    return [(b[0][0] - start, len(b), len({g for _, g in b})) for b in bursts]


def _rss_mb(pids: list[int]) -> float:
    """Resident memory of the bot's processes (this one and its render workers), in MiB (Linux)."""
    total_kb = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total_kb += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total_kb / 1024


def _cpu_seconds(children: list[int], *, own: bool = True) -> float:
    """This process's CPU time (``own``) plus its running children's (read from /proc)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    total = usage.ru_utime + usage.ru_stime if own else 0.0
    for pid in filter(None, children):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has used (Linux /proc/stat; 0 elsewhere)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0
    ticks = [int(f) for f in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.voice_load", description=__doc__.split("\n")[0])
    parser.add_argument("--guilds", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--chain", choices=CHAINS, default="full")
    parser.add_argument("--render", choices=("process", "thread"), default="process",
                        help="render in worker processes or in this process (on the send threads)")
    parser.add_argument("--fake", choices=("process", "inline"), default="process",
                        help="run the fake Discord in a process of its own (as Discord is elsewhere) or in this one")
    parser.add_argument("--opus-complexity", type=int, default=OpusSettings().complexity,
                        help="the encoder's complexity, 0-10 (MUSICBOT_OPUS_COMPLEXITY; default: the bot's)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_fake:
        asyncio.run(_serve_fake())
        return 0
    discord.utils.setup_logging(level=40)  # errors only: a warning per guild would bury the table
    opus = OpusSettings(complexity=args.opus_complexity)
    results, usage = asyncio.run(run_load(args.guilds, args.seconds, args.chain, args.render, args.fake, opus=opus))
    late_total = sum(r.late for r in results)
    usage["send_threads_real_time"] = bool(realtime.first_outcome())
    all_jitter_p99 = max((r.jitter_p99_ms for r in results), default=0.0)
    if args.json:
        print(json.dumps({"guilds": [asdict(r) for r in results], "usage": usage, "late_total": late_total}))
    else:
        print(f"{args.guilds} guilds × {args.seconds:g} s, chain {args.chain}, Opus complexity {opus.complexity}, "
              f"render {args.render}, "
              f"{os.cpu_count()} cores, send threads "
              f"{'real-time (SCHED_FIFO)' if usage['send_threads_real_time'] else 'at normal priority'}, "
              f"Python {sys.version.split()[0]}")
        print(f"{'guild':>6} {'packets':>12} {'jitter p50':>11} {'p99':>7} {'max':>7} {'late >5ms':>10}"
              f" {'underruns':>10}")
        for r in results:
            print(f"{r.guild_id:>6} {r.packets:>6}/{r.expected:<5} {r.jitter_p50_ms:>9.2f}ms {r.jitter_p99_ms:>5.2f}ms"
                  f" {r.jitter_max_ms:>5.1f}ms {r.late:>10} {r.underruns:>10}")
        print(f"late packets: {late_total}; worst p99 jitter: {all_jitter_p99:.2f} ms; "
              f"CPU {usage['cpu_cores']:.2f} cores ({usage['cpu_s']:.1f} s over {usage['wall_s']:.1f} s), "
              f"{usage['steady_cores']:.3f} after the start-up ({usage['streams_per_core']:.0f} streams per core; "
              f"render workers {usage['steady_workers_cores']:.3f} of it); "
              f"fake Discord {usage['fake_cores']:.2f} cores; other processes {usage['other_cores']:.2f} cores; "
              f"bot memory (RSS, main + render workers) {usage['rss_mb']:.0f} MiB")
        if late_total:
            print("late packets came at: " + ", ".join(
                f"{at:.2f} s ({packets} from {guilds} guilds)" for at, packets, guilds in late_bursts(results)))
    ok = late_total == 0 and all_jitter_p99 < 3.0 and all(r.packets >= r.expected - 1 for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
