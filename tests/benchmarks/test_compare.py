"""benchmarks/compare.py and ``musicbot bench --compare`` measure what they say, on a few seconds of
generated audio: the FFmpeg graph really filters (it is not a plain transcode), the ffmpeg command runs
the same graph, the report has every design with a cost, the plot is a PNG. No timing is asserted
(the machine is shared and noisy), and nothing touches the network."""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks import compare, compare_ffmpeg
from benchmarks.compare_report import markdown, plot
from musicbot.bench_compare import designs
from musicbot.bench_ffmpeg_graph import GraphStream, OpusInput, full_chain, graph_text, output_stage, read_opus
from musicbot.cli import main as musicbot_main
from musicbot.sources.synth import music_like, opus_packets, write_audio
from musicbot.voice.packet_decoder import PacketDecoder

FFMPEG = compare_ffmpeg.find_ffmpeg()
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason=compare_ffmpeg.HOW_TO_GET_FFMPEG)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def webm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_audio(tmp_path_factory.mktemp("compare") / "music.webm", music_like(4.0))


@pytest.fixture(scope="module")
def source(webm: Path) -> OpusInput:
    return read_opus(webm)


def _decoded(packets: list[bytes]) -> np.ndarray:
    decoder = PacketDecoder()
    return np.concatenate([decoder.decode(p) for p in packets])


def _kept(source: OpusInput, filters: Any = ()) -> list[bytes]:
    stream = GraphStream(source, filters, keep=True)
    produced = stream.run(source.packets)
    assert stream.kept is not None and len(stream.kept) == produced
    return stream.kept


def test_the_floor_is_a_plain_transcode_of_the_input(source: OpusInput) -> None:
    floor = _kept(source)
    assert abs(len(floor) - len(source.packets)) <= 2
    original, transcoded = _decoded(list(source.packets)), _decoded(floor)
    n = min(len(original), len(transcoded))
    # libopus's own delay aside, the same music: the level matches within a dB
    level = 20 * np.log10(np.std(transcoded[:n]) / np.std(original[:n]))
    assert abs(level) < 1.0


def test_the_ffmpeg_full_chain_really_filters(source: OpusInput) -> None:
    floor, full = _kept(source), _kept(source, full_chain())
    # the timescale's speed 1.1: about 1/1.1 of the frames (loudnorm keeps a tail of the track to the end)
    assert len(full) == pytest.approx(len(floor) / 1.1, rel=0.06)
    plain, filtered = _decoded(floor), _decoded(full)
    n = min(len(plain), len(filtered))
    difference = np.std(filtered[:n] - plain[:n]) / np.std(plain[:n])
    assert difference > 0.5  # not the same audio with a little noise: another signal
    # the stereo image moves (apulsator): the left/right balance changes over the clip, unlike the input
    halves = [filtered[i:i + 48_000] for i in range(0, len(filtered) - 48_000, 48_000)]
    balance = [np.std(h[:, 0]) / np.std(h[:, 1]) for h in halves]
    assert max(balance) / min(balance) > 1.2
    assert np.abs(filtered).max() <= 10 ** (-1 / 20) + 0.05  # the limiter's −1 dBFS, give or take the codec


def test_the_transcode_graph_and_the_variants_run(source: OpusInput) -> None:
    floor = _decoded(_kept(source))
    transcoded = _decoded(_kept(source, output_stage()))
    assert len(transcoded) == pytest.approx(len(floor), rel=0.03)
    assert not np.allclose(transcoded[:48_000], floor[:48_000], atol=1e-3)  # loudnorm moves the level
    for filters in (full_chain(normalizer="dynaudnorm"), full_chain(reverb="afir")):
        assert len(_kept(source, filters)) > 0.8 * len(source.packets) / 1.1
    with pytest.raises(ValueError, match="side input"):
        graph_text(full_chain(reverb="afir"))


def test_the_graph_follows_the_full_chain() -> None:
    text = graph_text(full_chain())
    for piece in ("apulsator=hz=0.2", "tremolo=f=4:d=0.5", "asetrate=50400", "atempo=1.047619",
                  "bass=g=8:f=110", "aecho=", "loudnorm=I=-14:TP=-1", "alimiter=limit=0.891251"):
        assert piece in text
    # the bands whose gain is not 0, with Lavalink's peak gain 1 + 4·gain: band 0 at 0.2 → +5.1 dB
    assert text.count("equalizer=") == 12 and "equalizer=f=25:t=q:w=2.1449:g=5.105" in text


def test_ogg_packets_are_counted_whatever_the_pieces(tmp_path: Path) -> None:
    ogg = write_audio(tmp_path / "clip.ogg", music_like(1.0))
    data = ogg.read_bytes()
    counter, position, rng = compare_ffmpeg.OggPackets(), 0, random.Random(5)
    while position < len(data):
        step = rng.randint(1, 700)
        counter.feed(data[position:position + step])
        position += step
    assert counter.audio_packets == len(opus_packets(ogg))
    with pytest.raises(ValueError, match="not an Ogg"):
        compare_ffmpeg.OggPackets().feed(b"RIFF" + bytes(40))


@needs_ffmpeg
def test_each_ffmpeg_command_runs_and_filters(webm: Path, source: OpusInput) -> None:
    assert FFMPEG is not None
    runs = {design.key: compare_ffmpeg.run_once(FFMPEG, webm, design) for design in compare_ffmpeg.cli_designs()}
    assert runs["cli_copy"].audio_packets == len(source.packets)
    assert runs["cli_codec"].audio_packets == pytest.approx(len(source.packets), abs=2)
    assert runs["cli_full"].audio_packets == pytest.approx(len(source.packets) / 1.1, rel=0.06)
    for run in runs.values():
        assert run.cpu_s > 0 and run.peak_rss_mib > 0


@needs_ffmpeg
def test_concurrent_processes_are_listened_to_in_real_time(tmp_path: Path) -> None:
    assert FFMPEG is not None
    # longer than what ffmpeg writes ahead into the pipe, so that the processes are still there halfway
    longer = write_audio(tmp_path / "long.webm", music_like(10.0))
    design = next(d for d in compare_ffmpeg.cli_designs() if d.key == "cli_codec")
    point = compare_ffmpeg.run_concurrent(FFMPEG, longer, design, streams=2, seconds=1.0)
    assert point.expected_packets == 100
    assert point.wall_s >= 1.0  # a listener takes 20 ms per packet: a second of audio lasts a second
    assert point.cpu_s > 0 and point.rss_mib_median > 0 and point.pss_mib_median > 0
    assert 0 <= point.late_packets <= point.expected_packets


def test_quick_run_reports_every_design_and_draws_the_plot(tmp_path: Path) -> None:
    assert compare.main(["--quick", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "compare.json").read_text())
    in_process = {row["key"]: row for row in report["in_process"]}
    assert set(in_process) == {d.key for d in designs()}
    assert in_process["floor"]["ratio_to_floor"] == 1.0
    for row in report["in_process"]:
        assert row["us_per_frame"] > 0 and row["ratio_to_floor"] > 0 and row["frames"] > 0
    assert in_process["ours_full"]["frames"] < in_process["ours_transcode"]["frames"]  # the timescale
    if FFMPEG is not None:
        processes = {row["key"] for row in report["ffmpeg"]["runs"]}
        assert processes == {d.key for d in compare_ffmpeg.cli_designs()}
        assert all(row["ratio_to_floor"] > 0 for row in report["ffmpeg"]["runs"])
        assert [p["streams"] for p in report["ffmpeg"]["scaling"]["points"]] == [1, 2]
    table = (tmp_path / "compare.md").read_text()
    assert "| ours: full chain |" in table and "| FFmpeg graph: full chain (aecho, loudnorm) |" in table
    png = (tmp_path / "cost-vs-streams.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    assert width >= 600 and height >= 300


def test_without_ffmpeg_the_process_part_is_skipped_and_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    report = {"machine": {"cores": 2, "cpu": "x", "load_average": [0.1, 0.1, 0.1], "python": "3", "pyav": "18",
                          "libavfilter": "11"},
              "input": {"seconds": 1.0, "packets": 50, "repeats": 1, "what": "music"}, "floor_us_per_frame": 200.0,
              "process_rss_mib": 100.0,
              "in_process": [{"key": "floor", "label": "codec floor", "family": "floor", "us_per_frame": 200.0,
                              "ratio_to_floor": 1.0, "streams_per_core": 100.0, "rss_per_stream_mib": 0.1}]}
    monkeypatch.setattr(compare, "collect", lambda *args, **kwargs: dict(report))
    monkeypatch.setattr(compare_ffmpeg, "find_ffmpeg", lambda: None)
    assert compare.main(["--quick", "--out", str(tmp_path)]) == 0
    assert "pip install imageio-ffmpeg" in capsys.readouterr().err
    saved = json.loads((tmp_path / "compare.json").read_text())
    assert saved["ffmpeg"]["skipped"] == compare_ffmpeg.HOW_TO_GET_FFMPEG
    assert "is skipped" in (tmp_path / "compare.md").read_text()
    assert (tmp_path / "cost-vs-streams.png").read_bytes().startswith(PNG_SIGNATURE)


def test_a_saved_run_is_redrawn(tmp_path: Path) -> None:
    report = {"machine": {"cores": 2, "cpu": "x", "load_average": [0.0, 0.0, 0.0], "python": "3", "pyav": "18",
                          "libavfilter": "11"},
              "input": {"seconds": 1.0, "packets": 50, "repeats": 1, "what": "music"}, "floor_us_per_frame": 200.0,
              "in_process": [{"key": "ours_full", "label": "ours: full chain", "family": "ours", "us_per_frame": 900.0,
                              "ratio_to_floor": 4.5, "streams_per_core": 22.0, "rss_per_stream_mib": None}],
              "ffmpeg": {"version": "9", "runs": [], "scaling": {"label": "ffmpeg", "points": [
                  {"streams": 10, "cores": 0.9, "late_packets": 0, "expected_packets": 5000, "rss_mib_median": 70,
                   "pss_mib_median": 45, "other_cores": 0.1},
                  {"streams": 50, "cores": 1.9, "late_packets": 900, "expected_packets": 25000, "rss_mib_median": 70,
                   "pss_mib_median": 40, "other_cores": 0.1}]}}}
    saved = tmp_path / "run.json"
    saved.write_text(json.dumps(report))
    assert compare.main(["--replot", str(saved), "--out", str(tmp_path / "out"), "--png", str(tmp_path / "p.png")]) == 0
    assert (tmp_path / "p.png").read_bytes().startswith(PNG_SIGNATURE)
    text = markdown(report)
    assert "| 50 | ffmpeg | 1.90 | 900 | 25000 |" in text
    assert plot(report, tmp_path / "again.png").stat().st_size > 10_000


def test_musicbot_bench_compare_prints_the_table(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    import musicbot.bench_compare

    monkeypatch.setattr(musicbot.bench_compare, "rss_per_stream", lambda key, streams: None)  # tested above
    assert musicbot_main(["bench", "--compare", "--seconds", "1"]) == 0
    out = capsys.readouterr().out
    for label in ("codec floor", "ours: passthrough", "ours: full chain", "FFmpeg graph: full chain (aecho, loudnorm)"):
        assert f"| {label}" in out
    assert "× floor" in out
    assert musicbot_main(["bench", "--compare", "--seconds", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {row["key"] for row in report["in_process"]} == {d.key for d in designs()}
