"""The design of FFmpeg-based bots: one ``ffmpeg`` process per stream, its Ogg Opus output read from a pipe.

The command is the one discord.py's ``FFmpegOpusAudio`` runs (``-f opus -blocksize 8192 pipe:1``,
48 kHz stereo, 128 kbps), with the filters as ``-af`` (``musicbot/bench_ffmpeg_graph.py``) and
libopus set up as our encoder (complexity 10, 20 ms, application audio, in-band FEC off), and one
filter thread, as the graph runs in process. Two rows show what a discord.py bot actually starts:
FFmpeg's default filter threads (one per core), and with discord.py's encoder options too (FEC on
at an expected loss of 15 %).

* ``run_once``: one process over the whole input as fast as it goes; its CPU (user + sys) and peak
  resident memory come from ``wait4`` on that process alone. The CPU includes what the in-process
  designs do not pay: starting the process, demuxing the WebM, muxing Ogg.
* ``run_concurrent``: N processes at once, each read as Discord's sender reads it: one packet every
  20 ms from the stream's first packet on, the pipe refilled only while less than 0.5 s is buffered
  (discord.py's 8 KiB reader), so ffmpeg runs ahead by the pipe's 64 KiB and then at the pace of
  playback. A packet is late when it arrives more than 5 ms after its turn (as in
  ``benchmarks/voice_load.py``); packets that never came within the time allowed count as late too.
  CPU is read from ``/proc`` in the second half of the run (after the start-up burst of every
  process filling its pipe), resident and proportional-set (PSS) memory of each process halfway.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from musicbot.bench_ffmpeg_graph import COMPLEXITY, full_chain, graph_text, output_stage

HOW_TO_GET_FFMPEG = ("no ffmpeg command found: the one-process-per-stream design is skipped. "
                     "Install it with `pip install imageio-ffmpeg` (`make install` does: it is in the dev "
                     "and bench extras), or put ffmpeg on PATH")
FRAME_S = 0.020
LATE_S = 0.005
AHEAD_PACKETS = 25  # 0.5 s: discord.py reads the pipe through an 8 KiB buffer (about 0.5 s at 128 kbps)
READ_BYTES = 8192  # one read takes at most that buffer's worth: the rest stays in the pipe, ffmpeg waits
HEADER_PACKETS = 2  # OpusHead and OpusTags come before the audio


DISCORD_PY_FEC = ("-fec", "1", "-packet_loss", "15")  # what discord.py's FFmpegOpusAudio adds


@dataclass(frozen=True)
class CliDesign:
    key: str
    label: str
    filters: str | None  # the -af argument; None: no filters
    copy: bool = False  # -c:a copy: the source's packets go out as they are (passthrough)
    encoder_options: tuple[str, ...] = ("-fec", "0", "-packet_loss", "0")
    # One filter thread, as the graph runs in process: FFmpeg's default (one per core) slice-threads
    # the biquads (equalizer, bass), and their per-frame hand-offs cost more CPU than they save.
    filter_threads: int | None = 1


def cli_designs() -> list[CliDesign]:
    full = graph_text(full_chain())
    return [
        CliDesign("cli_copy", "ffmpeg process: copy (passthrough)", None, copy=True),
        CliDesign("cli_codec", "ffmpeg process: decode + encode, no filters", None),
        CliDesign("cli_transcode", "ffmpeg process: transcode (loudnorm + alimiter)", graph_text(output_stage())),
        CliDesign("cli_full", "ffmpeg process: full chain (aecho, loudnorm)", full),
        CliDesign("cli_full_threads", "ffmpeg process: full chain, default filter threads", full,
                  filter_threads=None),
        CliDesign("cli_full_as_discord_py", "ffmpeg process: full chain as a discord.py bot starts it (default "
                  "filter threads, FEC on, loss 15 %)", full, encoder_options=DISCORD_PY_FEC, filter_threads=None),
    ]


def find_ffmpeg() -> str | None:
    """The ffmpeg that imageio-ffmpeg ships (a static build), else one on PATH, else None."""
    try:
        import imageio_ffmpeg

        exe: str = imageio_ffmpeg.get_ffmpeg_exe()
        return exe
    except (ImportError, RuntimeError):
        return shutil.which("ffmpeg")


def ffmpeg_version(exe: str) -> str:
    done = subprocess.run([exe, "-hide_banner", "-version"], capture_output=True, text=True, timeout=30, check=False)
    return done.stdout.split("\n", 1)[0].removeprefix("ffmpeg version ").split(" Copyright")[0]


def command(exe: str, source: Path, design: CliDesign) -> list[str]:
    args = [exe, "-nostdin", "-hide_banner", "-loglevel", "error"]
    if design.filter_threads is not None:
        args += ["-filter_threads", str(design.filter_threads)]
    args += ["-i", str(source), "-map_metadata", "-1"]
    if design.copy:
        args += ["-c:a", "copy"]
    else:
        if design.filters:
            args += ["-af", design.filters]
        args += ["-c:a", "libopus", "-ar", "48000", "-ac", "2", "-b:a", "128k", "-application", "audio",
                 "-frame_duration", "20", "-compression_level", str(COMPLEXITY), *design.encoder_options]
    return [*args, "-f", "opus", "-blocksize", "8192", "pipe:1"]


class OggPackets:
    """Counts the packets of an Ogg stream fed in pieces of any size (a packet ends at a lacing value < 255)."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.packets = 0

    @property
    def audio_packets(self) -> int:
        return max(0, self.packets - HEADER_PACKETS)

    def feed(self, data: bytes) -> int:
        """Add bytes; return how many packets they completed."""
        self._buffer += data
        completed = 0
        while len(self._buffer) >= 27:
            if self._buffer[:4] != b"OggS":
                raise ValueError("not an Ogg stream (no page starts here)")
            segments = self._buffer[26]
            if len(self._buffer) < 27 + segments:
                break
            lacing = self._buffer[27:27 + segments]
            size = 27 + segments + sum(lacing)
            if len(self._buffer) < size:
                break
            completed += sum(1 for value in lacing if value < 255)
            del self._buffer[:size]
        self.packets += completed
        return completed


@dataclass(frozen=True)
class ProcessRun:
    cpu_s: float
    peak_rss_mib: float
    audio_packets: int


# Started by a small Python that forks ffmpeg and reports its rusage. Linux carries a process's peak
# RSS across exec, and a child forked from this (large) process starts with all of it: ffmpeg's own
# ru_maxrss would be ours. Forked from the helper instead, it starts from a few MiB.
_RUSAGE_HELPER = """
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print("\\nrusage " + json.dumps([usage.ru_utime + usage.ru_stime, usage.ru_maxrss]), file=sys.stderr)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_once(exe: str, source: Path, design: CliDesign) -> ProcessRun:
    """One ffmpeg over the whole input, read as fast as it writes."""
    import sys

    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen([sys.executable, "-S", "-c", _RUSAGE_HELPER, *command(exe, source, design)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors)
        assert proc.stdout is not None
        ogg = OggPackets()
        while data := proc.stdout.read(65536):
            ogg.feed(data)
        proc.stdout.close()
        code = proc.wait()
        errors.seek(0)
        report = errors.read().decode(errors="replace")
    if code != 0 or "\nrusage " not in report:
        raise RuntimeError(f"ffmpeg failed ({code}): {report[-800:]}")
    cpu_s, peak_kib = json.loads(report.rsplit("\nrusage ", 1)[1])
    return ProcessRun(cpu_s, peak_kib / 1024, ogg.audio_packets)


@dataclass
class _Listener:
    """One stream's consumer: Discord's sender, one packet per 20 ms from the first one on."""

    proc: subprocess.Popen[bytes]
    window: int  # packets to play
    ogg: OggPackets = field(default_factory=OggPackets)
    start: float | None = None
    received: int = 0
    late: int = 0
    done: bool = False
    halfway: tuple[float, float] | None = None  # (time, CPU seconds of the process) halfway through
    cores: float | None = None  # the process's CPU per second of wall time in the second half
    memory: tuple[float, float] = (0.0, 0.0)  # (RSS, PSS) in MiB halfway

    def tick(self, now: float) -> None:
        """Halfway: note the process's CPU and memory; at the end: its CPU rate since."""
        if self.done or self.start is None:
            return
        played = (now - self.start) / (self.window * FRAME_S)
        if played >= 0.5 and self.halfway is None:
            self.halfway = (now, _cpu_s([self.proc.pid]))
            self.memory = _memory_mib(self.proc.pid)
        if played >= 1.0:
            self.done = True
            if self.halfway is not None and now > self.halfway[0]:
                self.cores = (_cpu_s([self.proc.pid]) - self.halfway[1]) / (now - self.halfway[0])

    def wants_data(self, now: float) -> bool:
        if self.done:
            return False
        if self.start is None:
            return True
        due = int((now - self.start) / FRAME_S) + 1
        return self.received - due < AHEAD_PACKETS

    def arrived(self, data: bytes, now: float) -> None:
        if not data:
            self.done = True  # ended before the window did: the rest count as missing
            return
        before = self.ogg.audio_packets
        self.ogg.feed(data)
        for index in range(before, min(self.ogg.audio_packets, self.window)):
            if self.start is None:
                self.start = now
            if now > self.start + index * FRAME_S + LATE_S:
                self.late += 1
        self.received = self.ogg.audio_packets


@dataclass(frozen=True)
class ScalePoint:
    streams: int
    seconds: float
    cores: float  # CPU of all the ffmpeg processes, per second of wall time, in the second half of each
    late_packets: int  # late or missing, all streams
    expected_packets: int
    rss_mib_median: float  # per process, halfway
    pss_mib_median: float  # per process: shared pages (the binary) divided among the processes
    cpu_s: float  # all the ffmpeg processes, start-up and run-ahead included
    wall_s: float
    reader_cores: float  # this process, reading the pipes
    other_cores: float  # everything else on the machine meanwhile


def run_concurrent(exe: str, source: Path, design: CliDesign, streams: int, seconds: float) -> ScalePoint:
    """``streams`` ffmpeg processes at once, each listened to for ``seconds`` (bounded: + 10 s at most).

    The run-ahead at the start (each process fills its pipe, ~5 s of audio, as fast as it can) is left
    out of ``cores``: each process's CPU rate is taken over the second half of its own window, which
    for ``seconds`` ≥ 10 is the pace of playback."""
    window = round(seconds / FRAME_S)
    busy_start, own_start = _machine_busy_s(), time.process_time()
    started = time.perf_counter()
    listeners = [_Listener(subprocess.Popen(command(exe, source, design), stdin=subprocess.DEVNULL,
                                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL), window)
                 for _ in range(streams)]
    by_fd = {}
    for listener in listeners:
        assert listener.proc.stdout is not None
        os.set_blocking(listener.proc.stdout.fileno(), False)
        by_fd[listener.proc.stdout.fileno()] = listener
    deadline = started + seconds + 10.0
    pids = [listener.proc.pid for listener in listeners]
    try:
        while (now := time.perf_counter()) < deadline and not all(x.done for x in listeners):
            poller = select.poll()
            for fd, listener in by_fd.items():
                listener.tick(now)
                if listener.wants_data(now):
                    poller.register(fd, select.POLLIN)
            for fd, _ in poller.poll(2):
                data = _read(fd)
                if data is not None:
                    by_fd[fd].arrived(data, time.perf_counter())
        cpu = _cpu_s(pids)
    finally:
        for listener in listeners:
            listener.proc.kill()
            listener.proc.wait()
            if listener.proc.stdout is not None:
                listener.proc.stdout.close()
    wall = time.perf_counter() - started
    reader = (time.process_time() - own_start) / wall
    rates = [x.cores for x in listeners if x.cores is not None]
    # A process that never got through its window (overload) ran the whole time: its average rate.
    cores = sum(rates) + (cpu / wall) * (len(listeners) - len(rates)) / len(listeners)
    late = sum(x.late + max(0, window - x.received) for x in listeners)
    halfway = [x.memory for x in listeners if x.halfway is not None] or [(0.0, 0.0)]
    return ScalePoint(
        streams=streams, seconds=seconds, cores=round(cores, 3), late_packets=late, expected_packets=window * streams,
        rss_mib_median=round(statistics.median(m[0] for m in halfway), 1),
        pss_mib_median=round(statistics.median(m[1] for m in halfway), 1),
        cpu_s=round(cpu, 2), wall_s=round(wall, 2), reader_cores=round(reader, 3),
        other_cores=round(max(0.0, (_machine_busy_s() - busy_start) / wall - cpu / wall - reader), 3),
    )


def _read(fd: int) -> bytes | None:
    """What the pipe holds (b"" at its end), or None when poll's "readable" found nothing after all."""
    try:
        return os.read(fd, READ_BYTES)
    except BlockingIOError:
        return None


def _cpu_s(pids: list[int]) -> float:
    """CPU seconds (user + sys) the running processes ``pids`` have used so far (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _memory_mib(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of a running process in MiB: PSS shares each page among the processes mapping it."""
    values = {"Rss:": 0.0, "Pss:": 0.0}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            name, _, rest = line.partition(" ")
            if name in values:
                values[name] = int(rest.split()[0]) / 1024
    except OSError:
        pass
    return values["Rss:"], values["Pss:"]


def _machine_busy_s() -> float:
    """CPU seconds every process on the machine has used (Linux /proc/stat; 0 elsewhere)."""
    try:
        ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except OSError:
        return 0.0
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
