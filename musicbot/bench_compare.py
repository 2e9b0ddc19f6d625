"""``musicbot bench --compare``: our engine against the same effects as an FFmpeg filter graph, in one run.

Every design gets the same input, generated music (``sources/synth.music_like``) encoded as Opus in
WebM like YouTube's itag 251 (20 ms packets, 128 kbps), demuxed once; each turns those packets into
128 kbps Opus packets in this process:

* the **codec floor**: FFmpeg's Opus decoder + libopus at FFmpeg's defaults (complexity 10, 20 ms,
  no FEC) at 128 kbps, through PyAV: what any design that re-encodes pays at least;
* **ours** (``voice/engine.AudioEngine``): passthrough, transcode (no filters, normalizer on: our
  default) and the full chain (``bench.FULL_CHAIN``), plus decode + encode through our ctypes
  libopus (the pair ``musicbot bench`` times), for reference;
* the **FFmpeg graph** (``bench_ffmpeg_graph``): the same output stage (loudnorm + alimiter) and the
  same full chain as FFmpeg filters, between the floor's decoder and encoder; two variants swap the
  normalizer (dynaudnorm) or the reverb (a convolution as dense as ours).

Cost is process CPU time (``time.process_time``) per 20 ms frame of output, the median of
``repeats`` runs over the whole input, and as a ratio to the floor measured in the same run (the
machine is shared and noisy: compare ratios, not µs). Per frame of *output*: a timescale of speed
1.1 consumes 1.1 input frames per output frame, ours and FFmpeg's alike, and a listener hears output.
Real-time streams per core = 20 ms / that cost. Resident memory per stream is the growth of this
process's RSS while ``memory_streams`` more streams are alive mid-track (Linux; else not measured).
The one-``ffmpeg``-process-per-stream design and the plot: ``python -m benchmarks.compare``.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from musicbot.audio import END_OF_STREAM, Chunk, EndOfStream
from musicbot.bench import FRAME_BUDGET_US, FULL_CHAIN
from musicbot.bench_ffmpeg_graph import GraphStream, OpusInput, full_chain, output_stage, read_opus
from musicbot.dsp.frame import FRAME_SAMPLES

WARM_UP_PACKETS = 250  # 5 s through a throw-away stream: libraries, tables and caches built lazily
MEMORY_WARM_PACKETS = 100  # each stream of the memory measurement is this far into its track


class Stream(Protocol):
    def run(self, packets: Sequence[bytes], *, finish: bool = True) -> int:
        """Feed ``packets``; return how many Opus packets came out. ``finish``: end the track."""


@dataclass(frozen=True)
class Design:
    key: str
    label: str
    family: str  # "floor", "ours" or "ffmpeg-graph": the plot's colours and the report's groups
    start: Callable[[OpusInput], Stream]


@dataclass(frozen=True)
class DesignCost:
    key: str
    label: str
    family: str
    us_per_frame: float  # median over the runs of process CPU time per output frame
    runs_us: tuple[float, ...]
    frames: int  # output frames of one run
    ratio_to_floor: float
    streams_per_core: float  # 20 ms / us_per_frame
    rss_per_stream_mib: float | None


class EngineStream:
    """Our engine on a stream of Opus packets, as the player drives it (one ``next_packet`` per 20 ms)."""

    def __init__(self, filters: Mapping[str, object] | None, *, normalize: bool) -> None:
        from musicbot.dsp.params import FilterSettings
        from musicbot.dsp.settings import parse_filters
        from musicbot.voice.engine import AudioEngine

        self._engine = AudioEngine(parse_filters(dict(filters)) if filters else FilterSettings(), normalize=normalize)
        self._engine.start_track(packet_mode=True)
        self._next_sample = 0

    def run(self, packets: Sequence[bytes], *, finish: bool = True) -> int:
        feed = iter(packets)
        exhausted = False

        def pull() -> Chunk | EndOfStream | None:
            nonlocal exhausted
            packet = next(feed, None)
            if packet is None:
                exhausted = True
                return END_OF_STREAM if finish else None
            chunk = Chunk(self._next_sample, packet=packet)
            self._next_sample += FRAME_SAMPLES
            return chunk

        produced = 0
        while not exhausted or finish:
            if self._engine.next_packet(pull) is None:
                break
            produced += 1
        return produced - (0 if finish else 1)  # the last call met the end of the packets: silence


class CtypesCodecStream:
    """Decode + encode through our ctypes libopus: the floor as ``musicbot bench`` measures it."""

    def __init__(self) -> None:
        from musicbot.voice.encoder import OpusEncoder
        from musicbot.voice.packet_decoder import PacketDecoder

        self._decoder = PacketDecoder()
        self._encoder = OpusEncoder()

    def run(self, packets: Sequence[bytes], *, finish: bool = True) -> int:
        for packet in packets:
            self._encoder.encode(self._decoder.decode(packet))
        return len(packets)


def designs(*, variants: bool = True) -> list[Design]:
    """The designs of one run, the floor first (the others' ratios are to it)."""
    full = dict(FULL_CHAIN)
    out = [
        Design("floor", "codec floor: FFmpeg decode + libopus encode (PyAV)", "floor", GraphStream),
        Design("ours_codec", "ours: decode + encode (ctypes libopus, as `musicbot bench`)", "ours",
               lambda _: CtypesCodecStream()),
        Design("ours_passthrough", "ours: passthrough", "ours", lambda _: EngineStream(None, normalize=False)),
        Design("ours_transcode", "ours: transcode (normalizer + limiter)", "ours",
               lambda _: EngineStream(None, normalize=True)),
        Design("ours_full", "ours: full chain", "ours", lambda _: EngineStream(full, normalize=True)),
        Design("ffmpeg_transcode", "FFmpeg graph: transcode (loudnorm + alimiter)", "ffmpeg-graph",
               lambda source: GraphStream(source, output_stage())),
        Design("ffmpeg_full", "FFmpeg graph: full chain (aecho, loudnorm)", "ffmpeg-graph",
               lambda source: GraphStream(source, full_chain())),
    ]
    if variants:
        out += [
            Design("ffmpeg_full_dynaudnorm", "FFmpeg graph: full chain, dynaudnorm for loudnorm", "ffmpeg-graph",
                   lambda source: GraphStream(source, full_chain(normalizer="dynaudnorm"))),
            Design("ffmpeg_full_afir", "FFmpeg graph: full chain, afir 1.4 s reverb for aecho", "ffmpeg-graph",
                   lambda source: GraphStream(source, full_chain(reverb="afir"))),
        ]
    return out


def generated_input(seconds: float, folder: Path) -> OpusInput:
    from musicbot.sources.synth import music_like, write_audio

    return read_opus(write_audio(folder / "music.webm", music_like(seconds)))


def cpu_per_frame(design: Design, source: OpusInput, repeats: int) -> tuple[list[float], int]:
    """µs of process CPU per output frame for each of ``repeats`` runs over the whole input."""
    design.start(source).run(source.packets[:WARM_UP_PACKETS])
    runs, frames = [], 0
    for _ in range(repeats):
        stream = design.start(source)
        started = time.process_time()
        frames = stream.run(source.packets)
        runs.append((time.process_time() - started) * 1e6 / max(1, frames))
    return runs, frames


def resident_mib() -> float | None:
    """This process's resident memory in MiB (Linux ``/proc``), or None."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def rss_per_stream(key: str, streams: int) -> float | None:
    """MiB a fresh process grows by per stream of design ``key``, with ``streams`` of them alive
    mid-track. A fresh process, because this one would lay new streams into memory that earlier
    measurements freed, and undercount them. None where it cannot be measured (not Linux, frozen)."""
    import json
    import subprocess
    import sys

    if streams <= 0 or resident_mib() is None or getattr(sys, "frozen", False):
        return None
    script = f"import musicbot.bench_compare as b; print(b.measure_memory_here({key!r}, {streams}))"
    try:
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                              check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    value: float | None = json.loads(done.stdout.strip().splitlines()[-1])
    return value


def measure_memory_here(key: str, streams: int) -> float | None:
    """The child side of ``rss_per_stream``. The slope between ``streams`` and 4 × ``streams`` alive:
    the first ones also fill the heap's holes, which would make a small stream look free."""
    design = next(d for d in designs() if d.key == key)
    with tempfile.TemporaryDirectory() as folder:
        source = generated_input(MEMORY_WARM_PACKETS * FRAME_SAMPLES / 48_000 + 0.5, Path(folder))
    packets = source.packets[:MEMORY_WARM_PACKETS]
    alive: list[Stream] = []
    readings: list[float | None] = []
    for count in (streams, 4 * streams):
        while len(alive) < count:
            stream = design.start(source)
            stream.run(packets, finish=False)
            alive.append(stream)
        gc.collect()
        readings.append(resident_mib())
    first, last = readings
    if first is None or last is None:
        return None
    return max(0.0, last - first) / (3 * streams)


def machine() -> dict[str, object]:
    """What the numbers were measured on: cores, CPU model, load while measuring, versions."""
    import av

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {"cores": os.cpu_count(), "cpu": model, "load_average": [round(x, 2) for x in load],
            "python": platform.python_version(), "pyav": av.__version__,
            "libavfilter": ".".join(map(str, av.library_versions["libavfilter"]))}


def collect(seconds: float = 10.0, repeats: int = 3, *, memory_streams: int = 8, variants: bool = True,
            source_path: Path | None = None) -> dict[str, Any]:
    """Measure every design on one input (``source_path``, else ``seconds`` of generated music): the
    JSON-ready report."""
    if source_path is None:
        with tempfile.TemporaryDirectory() as folder:
            source = generated_input(seconds, Path(folder))
    else:
        source = read_opus(source_path)
    costs: list[DesignCost] = []
    floor_us = 0.0
    for design in designs(variants=variants):
        runs, frames = cpu_per_frame(design, source, repeats)
        median = statistics.median(runs)
        floor_us = floor_us or median
        costs.append(DesignCost(
            key=design.key, label=design.label, family=design.family, us_per_frame=round(median, 1),
            runs_us=tuple(round(r, 1) for r in runs), frames=frames, ratio_to_floor=round(median / floor_us, 3),
            streams_per_core=round(FRAME_BUDGET_US / median, 1) if median > 0 else float("inf"),
            rss_per_stream_mib=_rounded(rss_per_stream(design.key, memory_streams)),
        ))
    return {
        "machine": machine(),
        "input": {"seconds": round(len(source.packets) * FRAME_SAMPLES / 48_000, 2), "packets": len(source.packets),
                  "repeats": repeats,
                  "what": "generated music (music_like), Opus 128 kbps in WebM, 20 ms packets (like YouTube itag 251)"},
        "floor_us_per_frame": round(floor_us, 1),
        "process_rss_mib": _rounded(resident_mib()),
        "in_process": [asdict(c) for c in costs],
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """Designs as a markdown table: CPU per frame, ratio to the floor, streams per core, memory."""
    lines = ["| design | CPU µs/frame | × floor | real-time streams/core | RSS/stream MiB |",
             "|---|---:|---:|---:|---:|"]
    for row in rows:
        rss = row.get("rss_per_stream_mib")
        lines.append(f"| {row['label']} | {row['us_per_frame']:.0f} | {row['ratio_to_floor']:.2f} "
                     f"| {row['streams_per_core']:.0f} | {'–' if rss is None else f'{rss:.2f}'} |")
    return "\n".join(lines)


def run_compare(seconds: float = 10.0, *, repeats: int = 3, as_json: bool = False) -> int:
    """What ``musicbot bench --compare`` prints (all in this process; no ffmpeg command needed)."""
    import json

    report = collect(seconds, repeats)
    if as_json:
        print(json.dumps(report, indent=2))
        return 0
    info = report["machine"]
    print(f"musicbot bench --compare — {seconds:g} s of generated music, {repeats} runs per design; "
          f"{info['cores']} cores, {info['cpu']}, load {info['load_average'][0]}\n")
    print(markdown_table(report["in_process"]))
    print(f"\nfloor: {report['floor_us_per_frame']} µs per 20 ms frame; ratios are to it (same run). "
          "One ffmpeg process per stream, streams 1–100, plot: python -m benchmarks.compare")
    return 0
