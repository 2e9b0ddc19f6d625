"""The single-file binary (``make binary``: packaging/build.py → dist/musicbot) on a machine without Python.

Every command runs the binary with an empty environment but ``PATH=/usr/bin:/bin`` and a temporary
``HOME`` (as ``env -i`` would), from a temporary folder: no virtualenv, no PYTHONPATH, no Python on the
PATH that it could lean on. The build runs once per test session, through the same script as
``make binary``; that script skips the build when dist/musicbot was built from the same sources and
installed packages (see packaging/build.py), so a second run of these tests starts at once.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from musicbot import __version__
from musicbot.cli import version_line
from musicbot.dsp.frame import FRAME_SAMPLES
from musicbot.dsp.params import TimescaleParams
from musicbot.dsp.presets import FILTER_PRESETS
from musicbot.dsp.settings import parse_filters
from musicbot.sources.decoder import END_OF_STREAM, Chunk, _EndOfStream
from musicbot.storage.migrate import head_revision
from musicbot.voice.engine import AudioEngine
from musicbot.voice.processes import RenderProcesses
from musicbot.voice.remote import RemoteEngine
from tests.dsp.signals import dominant_hz
from tests.media import opus_packets, tone, write_audio

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
BUILD_TIMEOUT_S = 1800.0  # a hang guard: the build takes about 3 minutes on two busy cores
RUN_TIMEOUT_S = 300.0  # each start unpacks the binary (a few seconds); a hang guard too
SAMPLE_RATE = 48_000

Item = Chunk | _EndOfStream | None


@pytest.fixture(scope="session")
def binary() -> Path:
    """dist/musicbot, built by the command ``make binary`` runs."""
    subprocess.run([sys.executable, str(ROOT / "packaging" / "build.py")], check=True, cwd=ROOT,
                   timeout=BUILD_TIMEOUT_S)
    path = ROOT / "dist" / "musicbot"
    with path.open("rb") as file:
        assert file.read(4) == b"\x7fELF"  # a native executable, not a script for some Python
    return path


def bare_env(home: Path, **extra: str) -> dict[str, str]:
    """What ``env -i PATH=/usr/bin:/bin HOME=<home>`` leaves, plus ``extra``."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), **extra}


def run(binary: Path, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(binary), *args], cwd=cwd, env=bare_env(cwd, **env), capture_output=True,
                          text=True, timeout=RUN_TIMEOUT_S, check=False)


def decode(path: Path) -> npt.NDArray[np.float32]:
    """A rendered file decoded with PyAV to float32 (n, 2) at 48 kHz."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        assert stream.rate == SAMPLE_RATE and stream.channels == 2
        resampler = av.AudioResampler(format="flt", layout="stereo", rate=SAMPLE_RATE)
        frames = [f for frame in container.decode(stream) for f in resampler.resample(frame)]
    return np.concatenate([f.to_ndarray().reshape(-1, 2) for f in frames])


def test_version_is_the_packages(binary: Path, tmp_path: Path) -> None:
    result = run(binary, "--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == version_line()  # the same version and the same Python as the venv's
    assert __version__ in result.stdout


def test_render_a_generated_tone(binary: Path, tmp_path: Path) -> None:
    # MP3 in: decoded and resampled from 44.1 kHz; .ogg out: our own Opus encoder (ctypes, the
    # libopus found next to PyAV inside the binary).
    write_audio(tmp_path / "tone.mp3", tone(440.0, 3.0, rate=44_100), rate=44_100)
    result = run(binary, "render", "tone.mp3", "out.ogg", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("wrote out.ogg: 3.0")
    pcm = decode(tmp_path / "out.ogg")
    assert abs(len(pcm) / SAMPLE_RATE - 3.0) < 0.05
    assert abs(dominant_hz(pcm[9600:-9600, 0]) - 440.0) < 440.0 * 0.005


def test_render_with_filters(binary: Path, tmp_path: Path) -> None:
    write_audio(tmp_path / "tone.webm", tone(440.0, 4.0))
    filters = tmp_path / "reverb.json"
    filters.write_text(json.dumps({"reverb": {"roomSize": 0.3, "wetLevel": 0.2}}))
    result = run(binary, "render", "tone.webm", "out.wav", "--preset", "nightcore", "--filters", "@reverb.json",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    nightcore = TimescaleParams(**FILTER_PRESETS["nightcore"]["timescale"])
    pcm = decode(tmp_path / "out.wav")
    assert abs(len(pcm) / SAMPLE_RATE - 4.0 / nightcore.tempo_ratio) < 0.1
    expected_hz = 440.0 * nightcore.pitch_ratio
    assert abs(dominant_hz(pcm[9600:-9600, 0]) - expected_hz) < expected_hz * 0.005
    assert np.max(np.abs(pcm)) <= 10 ** (-1 / 20) + 1e-3  # the limiter ran too


def test_a_bad_filter_is_refused_by_name(binary: Path, tmp_path: Path) -> None:
    write_audio(tmp_path / "tone.webm", tone(440.0, 1.0))
    result = run(binary, "render", "tone.webm", "out.wav", "--filters", '{"timescale": {"speed": 9}}', cwd=tmp_path)
    assert result.returncode == 2
    assert "timescale.speed: 9 is out of range" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out.wav").exists()


def doctor_lines(output: str) -> dict[str, tuple[str, str]]:
    """``musicbot doctor``'s lines by check name: (status, the rest)."""
    lines = [re.split(r"\s{2,}", line.strip(), maxsplit=2) for line in output.splitlines() if line.strip()]
    return {name: (status, detail) for status, name, detail in lines}


def test_database_migrations_and_doctor(binary: Path, tmp_path: Path) -> None:
    # Alembic reads the revision scripts as files: they must be inside the binary.
    result = run(binary, "db", "upgrade", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"schema at revision {head_revision()} (newest)" in result.stdout
    assert (tmp_path / "data" / "musicbot.db").is_file()

    result = run(binary, "doctor", cwd=tmp_path)
    checks = doctor_lines(result.stdout)
    # Every check the doctor of this checkout makes, none failed (no token: Discord's is a warning).
    assert result.returncode == 0, result.stdout + result.stderr
    python = subprocess.run([sys.executable, "-m", "musicbot", "doctor"], cwd=tmp_path, env=bare_env(tmp_path),
                            capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
    assert list(checks) == list(doctor_lines(python.stdout))
    assert not [name for name, (status, _) in checks.items() if status == "FAIL"]
    for name in ("python", "libopus", "pyav", "js runtime", "database"):
        assert checks[name][0] == "ok", checks[name]
    # libopus from inside the unpacked binary, not from this virtualenv's PyAV
    assert "av.libs/libopus" in checks["libopus"][1] and sys.prefix not in checks["libopus"][1]
    # deno travels inside the binary, in the folder yt-dlp searches first (Python's "scripts")
    assert checks["js runtime"][1].startswith("deno ") and sys.prefix not in checks["js runtime"][1]


def test_run_without_a_token_says_so(binary: Path, tmp_path: Path) -> None:
    result = run(binary, "run", cwd=tmp_path)
    assert result.returncode == 2
    assert "DISCORD_TOKEN" in result.stderr and "Traceback" not in result.stderr


def test_run_starts_its_render_workers_from_the_binary(binary: Path, tmp_path: Path) -> None:
    """``musicbot run`` starts one render worker per core (the binary again, with ``-m
    musicbot.voice.worker``) and waits for each to answer before it connects to Discord. Pointed at a
    port where nothing listens, getting as far as "cannot reach Discord" means the workers started."""
    assert (os.cpu_count() or 1) >= 2  # on one core the bot renders in its own process and starts none
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = run(binary, "run", cwd=tmp_path, DISCORD_TOKEN="x.y.z", MUSICBOT_HTTP_PORT="0",
                 DISCORD_API_BASE=f"http://127.0.0.1:{port}/api/v10")
    assert result.returncode == 1, result.stderr
    assert f"cannot reach Discord at http://127.0.0.1:{port}" in result.stderr, result.stderr
    assert "render worker" not in result.stderr and "Traceback" not in result.stderr


def render_packets(engine: AudioEngine | RemoteEngine, items: list[Item]) -> list[bytes]:
    def chunks() -> Iterator[Item]:  # like a decoder: the chunks, then the end for good
        yield from items
        while True:
            yield END_OF_STREAM

    source = chunks()
    engine.start_track(packet_mode=True)
    out: list[bytes] = []
    while (packet := engine.next_packet(lambda: next(source))) is not None:
        out.append(packet)
    return out


def test_a_render_worker_in_the_binary_sends_what_this_process_would(
    binary: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The render worker of the binary, started by ``voice/processes.py`` exactly as ``musicbot run``
    starts its own (``<binary> -m musicbot.voice.worker FD``, the engine's socket passed over), filters,
    re-encodes and answers each packet: the same packets as an engine in this process."""
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.chdir(tmp_path)
    packets = opus_packets(write_audio(tmp_path / "tone.webm", tone(440.0, 3.0)))
    items: list[Item] = [Chunk(i * FRAME_SAMPLES, packet=p) for i, p in enumerate(packets)]
    filters = parse_filters({"timescale": {"speed": 1.2}, "reverb": {}})
    workers = RenderProcesses(1, executable=str(binary))
    try:
        [pid] = workers.start()
        engine = RemoteEngine(filters, processes=workers)
        frozen = render_packets(engine, items)
        mapped = worker_mappings(pid)
        engine.close()
    finally:
        workers.stop()
    assert frozen == render_packets(AudioEngine(filters), items)
    # Nothing fell back to this process (RemoteEngine logs an error when it does).
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    libopus = {path for path in mapped if "libopus" in path}
    assert libopus and all("/_MEI" in path for path in libopus), libopus
    assert not [path for path in mapped if path.startswith((sys.prefix, sys.base_prefix))]


def worker_mappings(pid: int) -> set[str]:
    """The files mapped by the Python of a worker: the one-file binary's bootloader (``pid``) unpacks
    itself and runs the program in a child process."""
    paths: set[str] = set()
    for process in [pid, *map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]:
        for line in Path(f"/proc/{process}/maps").read_text().splitlines():
            fields = line.split(maxsplit=5)
            if len(fields) == 6 and fields[5].startswith("/"):
                paths.add(fields[5])
    return paths
