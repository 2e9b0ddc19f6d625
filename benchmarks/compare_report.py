"""The report of ``benchmarks/compare.py``: markdown tables and the plot of CPU cost versus streams.

Works on the JSON report alone, so a saved run can be redrawn (``python -m benchmarks.compare
--replot run.json``). matplotlib is imported only to draw (Agg backend: no display).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

FRAME_US = 20_000.0
# The derived lines of the plot: design key → (label, colour, line style)
PLOTTED = {
    "floor": ("codec floor (decode + encode)", "0.5", ":"),
    "ours_passthrough": ("ours: passthrough", "tab:green", "-"),
    "ours_transcode": ("ours: transcode", "tab:blue", "-"),
    "ours_full": ("ours: full chain", "tab:purple", "-"),
    "ffmpeg_full": ("FFmpeg graph in PyAV: full chain", "tab:orange", "-"),
    "cli_full": ("ffmpeg process per stream: full chain", "tab:red", "--"),
    "cli_full_as_discord_py": ("ffmpeg process, as a discord.py bot starts it", "tab:brown", "-."),
}


def cost_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every design with a CPU cost: the in-process ones, then the ffmpeg processes."""
    return [*report["in_process"], *report.get("ffmpeg", {}).get("runs", [])]


def cpu_table(report: dict[str, Any]) -> str:
    lines = ["| design | CPU µs/frame | × floor | real-time streams/core |", "|---|---:|---:|---:|"]
    for row in cost_rows(report):
        lines.append(f"| {row['label']} | {row['us_per_frame']:.0f} | {row['ratio_to_floor']:.2f} "
                     f"| {row['streams_per_core']:.0f} |")
    return "\n".join(lines)


def memory_table(report: dict[str, Any]) -> str:
    lines = ["| design | resident memory per stream | how |", "|---|---:|---|"]
    for row in report["in_process"]:
        if row.get("rss_per_stream_mib") is not None:
            lines.append(f"| {row['label']} | {row['rss_per_stream_mib']:.2f} MiB | growth of one process's RSS "
                         "per added stream |")
    ffmpeg = report.get("ffmpeg", {})
    for row in ffmpeg.get("runs", []):
        lines.append(f"| {row['label']} | {row['peak_rss_mib']:.0f} MiB | peak RSS of the process (wait4) |")
    points = [p for p in ffmpeg.get("scaling", {}).get("points", []) if p["rss_mib_median"] > 0]
    if points:
        widest = max(points, key=lambda p: p["streams"])
        lines.append(f"| {ffmpeg['scaling']['label']}, {widest['streams']} at once | {widest['rss_mib_median']:.0f} "
                     f"MiB RSS, {widest['pss_mib_median']:.0f} MiB PSS | median per process, halfway; PSS "
                     "divides shared pages (the binary) among the processes |")
    if report.get("process_rss_mib"):
        lines.append(f"| (ours: the process itself, all libraries loaded) | {report['process_rss_mib']:.0f} MiB "
                     "| RSS of the measuring process, shared by all its streams |")
    return "\n".join(lines)


def scaling_table(report: dict[str, Any]) -> str:
    ffmpeg = report.get("ffmpeg", {})
    points = ffmpeg.get("scaling", {}).get("points", [])
    lines = ["| streams | design | CPU cores | late packets (> 5 ms) | of | per-process RSS / PSS MiB "
             "| other load, cores |", "|---:|---|---:|---:|---:|---:|---:|"]
    for p in points:
        lines.append(f"| {p['streams']} | {ffmpeg['scaling']['label']} | {p['cores']:.2f} | {p['late_packets']} "
                     f"| {p['expected_packets']} | {_memory(p)} "
                     f"| {p['other_cores']:.2f} |")
    for p in report.get("ours_voice_load", []):
        lines.append(f"| {p['streams']} | ours: full chain through discord.py (voice_load) | {p['cores']:.2f} "
                     f"| {p['late_packets']} | {p['expected_packets']} | {p['rss_mib']:.0f} all processes | "
                     f"{p['other_cores']:.2f} |")
    return "\n".join(lines)


def _memory(point: dict[str, Any]) -> str:
    if point["rss_mib_median"] <= 0:
        return "– (none got halfway)"
    return f"{point['rss_mib_median']:.0f} / {point['pss_mib_median']:.0f}"


def markdown(report: dict[str, Any]) -> str:
    info = report["machine"]
    parts = [
        f"Machine: {info['cores']} cores, {info['cpu']}, load average {' '.join(map(str, info['load_average']))} "
        f"at the start; Python {info['python']}, PyAV {info['pyav']} (libavfilter {info['libavfilter']})"
        + (f", ffmpeg {report['ffmpeg']['version']}" if report.get("ffmpeg", {}).get("version") else "") + ".",
        f"Input: {report['input']['seconds']:g} s of {report['input']['what']}; median of "
        f"{report['input']['repeats']} runs; floor {report['floor_us_per_frame']} µs per frame.",
        "", "CPU per 20 ms frame of output", "", cpu_table(report),
        "", "Resident memory", "", memory_table(report),
    ]
    if report.get("ffmpeg", {}).get("skipped"):
        parts += ["", f"ffmpeg processes: {report['ffmpeg']['skipped']}"]
    if report.get("ffmpeg", {}).get("scaling") or report.get("ours_voice_load"):
        parts += ["", "Streams at once, in real time", "", scaling_table(report)]
    return "\n".join(parts) + "\n"


def plot(report: dict[str, Any], path: Path, streams: Sequence[int] = (1, 10, 25, 50, 100)) -> Path:
    """CPU cores versus concurrent streams: derived lines (streams × cost per frame ÷ 20 ms) for each
    design, the measured ffmpeg-process runs (and ours through discord.py, when run) as points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    costs = {row["key"]: row["us_per_frame"] for row in cost_rows(report)}
    xs = list(range(1, max(streams) + 1))
    figure, axes = plt.subplots(figsize=(10, 5), dpi=100)
    for key, (label, colour, style) in PLOTTED.items():
        if key in costs:
            wide = key == "ffmpeg_full"  # a broad band: the ffmpeg process's line often runs right on it
            axes.plot(xs, [n * costs[key] / FRAME_US for n in xs], style, color=colour, linewidth=4 if wide else 1.5,
                      alpha=0.45 if wide else 1.0, label=f"{label}: {costs[key]:.0f} µs/frame")
    points = report.get("ffmpeg", {}).get("scaling", {}).get("points", [])
    _measured(axes, points, "tab:red", "ffmpeg processes, measured")
    _measured(axes, report.get("ours_voice_load", []), "tab:purple", "ours through discord.py, measured",
              above=True)
    cores = report["machine"]["cores"]
    axes.axhline(cores, color="black", linewidth=0.8)
    axes.text(1.05, cores * 1.08, f"this machine: {cores} cores", fontsize=8)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xticks(list(streams), [str(n) for n in streams])
    axes.set_xlabel("streams playing at once")
    axes.set_ylabel("CPU cores used")
    axes.set_title("CPU cost versus streams (lines: cost per frame × streams; points: measured in real time)",
                   fontsize=9)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def _measured(axes: Any, points: Sequence[dict[str, Any]], colour: str, label: str, *, above: bool = False) -> None:
    """Points that kept real time (no late packet) are filled; with late packets a cross, and the share late."""
    on_time = [p for p in points if p["late_packets"] == 0]
    late = [p for p in points if p["late_packets"] > 0]
    if on_time:
        axes.scatter([p["streams"] for p in on_time], [p["cores"] for p in on_time], color=colour, zorder=3,
                     label=f"{label}: 0 late packets")
    if late:
        axes.scatter([p["streams"] for p in late], [p["cores"] for p in late], color=colour, marker="x", s=60,
                     zorder=3, label=f"{label}: late packets (share)")
    for p in late:
        share = 100 * p["late_packets"] / max(1, p["expected_packets"])
        axes.annotate(f"{share:.0f} % late" if share >= 1 else f"{p['late_packets']} late",
                      (p["streams"], p["cores"]), textcoords="offset points", xytext=(5, 6 if above else -13),
                      fontsize=7, color=colour)
