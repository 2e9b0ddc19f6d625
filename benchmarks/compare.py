"""Three designs measured in one run: ours, an FFmpeg filter graph in process, one ffmpeg process per stream.

    python -m benchmarks.compare [--seconds 30] [--streams 1,10,25,50,100] [--stream-seconds 10]
                                 [--voice-load 1,10,25] [--out DIR] [--png PATH] [--quick]

1. In process (``musicbot/bench_compare.py``, also ``musicbot bench --compare``): the codec floor,
   ours (passthrough, transcode, full chain) and the same effects as an FFmpeg filter graph through
   PyAV: CPU per 20 ms frame, as a ratio to the floor, and resident memory per stream.
2. One ``ffmpeg`` process per stream (``compare_ffmpeg.py``), as FFmpeg-based bots run it: CPU per
   frame and peak memory of one process over the same input; then N processes at once for each N of
   ``--streams``, listened to in real time for ``--stream-seconds`` each: CPU cores and late packets.
   Skipped, with a line saying how to get it, when there is no ffmpeg command.
3. ``--voice-load``: ours at N guilds at once in real time, through discord.py's voice stack
   (``benchmarks/voice_load.py``, the full chain), for the same plot. Off by default (slow).

Writes ``compare.json``, ``compare.md`` and the plot ``cost-vs-streams.png`` to ``--out`` (the plot to
``--png`` when given); ``--replot run.json`` redraws a saved run. ``--quick`` is for the tests: seconds
of audio, one run each, 1 and 2 streams. The machine is shared and noisy: read ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks import compare_ffmpeg as cli
from benchmarks.compare_report import markdown, plot
from musicbot.bench import FRAME_BUDGET_US
from musicbot.bench_compare import collect
from musicbot.sources.synth import music_like, write_audio

# The scaling runs need input beyond their window: ~5 s that ffmpeg runs ahead, loudnorm's 3 s, and
# the 1.1× speed of the timescale.
SCALING_INPUT_MARGIN_S = 12.0


def measure_processes(exe: str, source: Path, long_source: Path, floor_us: float, *, repeats: int,
                      streams: list[int], stream_seconds: float) -> dict[str, Any]:
    """Part 2: the ffmpeg processes, single runs first, then ``streams`` at once (full chain)."""
    runs = []
    for design in cli.cli_designs():
        results = [cli.run_once(exe, source, design) for _ in range(repeats)]
        per_frame = sorted(r.cpu_s * 1e6 / max(1, r.audio_packets) for r in results)
        median = per_frame[len(per_frame) // 2]
        runs.append({
            "key": design.key, "label": design.label, "family": "ffmpeg-process", "us_per_frame": round(median, 1),
            "runs_us": [round(x, 1) for x in per_frame], "frames": results[0].audio_packets,
            "ratio_to_floor": round(median / floor_us, 3), "streams_per_core": round(FRAME_BUDGET_US / median, 1),
            "peak_rss_mib": round(max(r.peak_rss_mib for r in results), 1),
            "command": " ".join(cli.command("ffmpeg", Path("INPUT.webm"), design)),
        })
    full = next(d for d in cli.cli_designs() if d.key == "cli_full")
    points = []
    for count in streams:
        point = cli.run_concurrent(exe, long_source, full, count, stream_seconds)
        print(f"  {count} ffmpeg processes: {point.cores:.2f} cores, {point.late_packets} late of "
              f"{point.expected_packets}", file=sys.stderr)
        points.append(asdict(point))
    return {"exe": exe, "version": cli.ffmpeg_version(exe), "skipped": None, "runs": runs,
            "scaling": {"design": full.key, "label": full.label, "points": points}}


def measure_voice_load(streams: list[int], seconds: float) -> list[dict[str, Any]]:
    """Part 3: ours, N guilds in real time through discord.py (one voice_load run per N)."""
    points = []
    for count in streams:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.voice_load", "--guilds", str(count), "--seconds", str(seconds),
             "--chain", "full", "--json"],
            capture_output=True, text=True, timeout=600, check=False, cwd=Path(__file__).resolve().parent.parent,
        )
        try:
            result = json.loads(done.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            print(f"  voice_load with {count} guilds failed: {done.stderr[-500:]}", file=sys.stderr)
            continue
        usage = result["usage"]
        points.append({"streams": count, "cores": round(usage["cpu_cores"], 3), "late_packets": result["late_total"],
                       "expected_packets": sum(g["expected"] for g in result["guilds"]),
                       "rss_mib": round(usage["rss_mb"], 1), "other_cores": round(usage["other_cores"], 3)})
        print(f"  ours, {count} guilds: {points[-1]['cores']:.2f} cores, {points[-1]['late_packets']} late",
              file=sys.stderr)
    return points


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        source = write_audio(Path(folder) / "music.webm", music_like(args.seconds))
        print(f"in process: {args.seconds:g} s of audio, {args.repeats} runs per design…", file=sys.stderr)
        report = collect(args.seconds, args.repeats, memory_streams=args.memory_streams, source_path=source)
        exe = cli.find_ffmpeg()
        if exe is None:
            print(cli.HOW_TO_GET_FFMPEG, file=sys.stderr)
            report["ffmpeg"] = {"skipped": cli.HOW_TO_GET_FFMPEG, "runs": []}
        else:
            print(f"ffmpeg processes ({exe})…", file=sys.stderr)
            long_source = source
            if args.stream_seconds * 1.1 + SCALING_INPUT_MARGIN_S > args.seconds:
                long_source = write_audio(Path(folder) / "long.webm",
                                          music_like(args.stream_seconds * 1.1 + SCALING_INPUT_MARGIN_S))
            report["ffmpeg"] = measure_processes(
                exe, source, long_source, report["floor_us_per_frame"], repeats=args.repeats,
                streams=args.streams, stream_seconds=args.stream_seconds)
    if args.voice_load:
        report["ours_voice_load"] = measure_voice_load(args.voice_load, args.stream_seconds)
    report["command"] = "python -m benchmarks.compare " + " ".join(sys.argv[1:])
    return report


def _numbers(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="audio per CPU measurement (default 30)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per design; the median is reported")
    parser.add_argument("--streams", type=_numbers, default=[1, 10, 25, 50, 100],
                        help="ffmpeg processes at once, comma-separated (default 1,10,25,50,100)")
    parser.add_argument("--stream-seconds", type=float, default=10.0, help="real-time window of each (default 10)")
    parser.add_argument("--memory-streams", type=int, default=8, help="streams per memory measurement")
    parser.add_argument("--voice-load", type=_numbers, default=[], metavar="N,N",
                        help="also run ours at these guild counts through discord.py (benchmarks/voice_load.py)")
    parser.add_argument("--out", type=Path, default=Path("benchmark-results"), help="folder for the results")
    parser.add_argument("--png", type=Path, help="where the plot goes (default: OUT/cost-vs-streams.png)")
    parser.add_argument("--replot", type=Path, metavar="JSON", help="redraw the plot and tables of a saved run")
    parser.add_argument("--quick", action="store_true", help="tiny and fast, for the tests: numbers mean nothing")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.repeats, args.streams, args.stream_seconds, args.memory_streams = 3.0, 1, [1, 2], 1.0, 1
    report = json.loads(args.replot.read_text()) if args.replot else run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "compare.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "compare.md").write_text(markdown(report))
    measured = [p["streams"] for p in report.get("ffmpeg", {}).get("scaling", {}).get("points", [])]
    png = plot(report, args.png or args.out / "cost-vs-streams.png", streams=sorted({1, 10, 25, 50, 100, *measured}))
    print(markdown(report))
    print(f"wrote {args.out / 'compare.json'}, {args.out / 'compare.md'}, {png}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.exit(main())
