"""The single-file binary (``make binary``: packaging/build.py → dist/musicbot) on a machine without Python.

Every command runs the binary with an empty environment but ``PATH=/usr/bin:/bin`` and a temporary
``HOME`` (as ``env -i`` would), from a temporary folder: no virtualenv, no PYTHONPATH, no Python on the
PATH that it could lean on (``musicbot run`` gets the harness's whole environment for a bot process,
``bot_env``, which also names the fake Discord; its PATH is ``/usr/bin:/bin`` too). The files each
process of the running bot has mapped show that nothing comes from this virtualenv or its Python.

The build runs once per test session, through the same script as ``make binary``; that script skips
the build when dist/musicbot was built from the same sources and installed packages (see
packaging/build.py), so a second run of these tests starts at once.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from musicbot import __version__
from musicbot.cli import version_line
from musicbot.dsp.params import TimescaleParams
from musicbot.dsp.presets import FILTER_PRESETS
from musicbot.storage.migrate import head_revision
from tests.dsp.signals import dominant_hz
from tests.harness import FakeDiscord, VoiceReceiver, guild_payload, user
from tests.harness import bot_process as bot_process_module
from tests.harness import dominant_hz as heard_hz
from tests.harness.bot_process import BotProcesses, bot_env
from tests.harness.fixtures import bot_processes  # noqa: F401  (fixture)
from tests.harness.tls import make_self_signed_cert, openssl_available, server_context
from tests.media import tone, write_audio

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
BUILD_TIMEOUT_S = 1800.0  # a hang guard: the build takes about 3 minutes on two busy cores
RUN_TIMEOUT_S = 300.0  # each start unpacks the binary (a few seconds); a hang guard too
SAMPLE_RATE = 48_000


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


def test_the_commands_carry_every_shipped_language(binary: Path, tmp_path: Path) -> None:
    # The catalogs (.po files read at start: musicbot/i18n/catalogs.py) are inside the binary, next to the package.
    result = run(binary, "sync", "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    play = next(c for c in json.loads(result.stdout) if c["name"] == "play")
    assert play["name_localizations"]["de"] == "abspielen"
    assert play["name_localizations"]["pt-BR"] == "tocar"
    assert set(play["description_localizations"]) >= {"de", "es-ES", "fr", "pt-BR", "ru"}


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


GUILD, TEXT, VOICE = 1_200_000_000_000_000_001, 1_200_000_000_000_000_002, 1_200_000_000_000_000_003
ALICE = user(5001, "alice")


@pytest.mark.skipif(not openssl_available(), reason="needs the openssl command for the voice certificate")
async def test_musicbot_run_from_the_binary_plays_and_stops_on_sigterm(
    binary: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bot_processes: BotProcesses  # noqa: F811
) -> None:
    """The binary as the bot: logs in (REST and gateway of the fake Discord), /play of a local file, the
    voice connection over TLS trusted through SSL_CERT_FILE, the audio rendered by its render workers
    (the binary again) and heard at the voice server; SIGTERM to the binary (the one-file launcher,
    which passes it on) ends it cleanly, out of voice."""
    cert = make_self_signed_cert(tmp_path / "tls")
    music = tmp_path / "music"
    music.mkdir()
    write_audio(music / "tone-440.flac", tone(440.0, 30.0))
    fake = FakeDiscord()
    await fake.start()
    # The harness starts what musicbot_command() names: here the binary instead of the venv's script.
    monkeypatch.setattr(bot_process_module, "musicbot_command", lambda *args: [str(binary), *(args or ("run",))])
    try:
        await fake.serve_voice_tls(server_context(cert))
        fake.main_gateway.add_guild(guild_payload(GUILD, text_id=TEXT, voice_id=VOICE, members=[ALICE]))
        await fake.main_gateway.set_user_voice(GUILD, ALICE, VOICE)
        bot = bot_processes.start(fake, bot_env(fake, tmp_path / "data", music_dir=music, ca_file=cert.cert,
                                                PATH="/usr/bin:/bin"))
        await bot.wait_ready()
        play = fake.slash("play", {"query": "local:tone-440.flac"}, guild_id=GUILD, channel_id=TEXT, user=ALICE)
        await fake.main_gateway.interaction(play)
        await fake.main_gateway.wait_bot_channel(GUILD, VOICE)
        receiver = VoiceReceiver(fake)
        await receiver.wait_for_packets(GUILD, 100, timeout=60)
        assert abs(heard_hz(receiver.decode_pcm(GUILD, skip_silence=True)) - 440.0) < 5
        processes = group_processes(bot.pid)
        bot.send_signal(signal.SIGTERM)
        assert await bot.wait_exit(timeout=30) == 0
    finally:
        await fake.stop()
    assert fake.main_gateway.bot_channel(GUILD) is None  # it left voice on its way out
    # One render worker for the one guild playing (started when it began, voice/processes.py), the
    # binary run with -m (not a Python), and not given up on (a stream whose worker failed would carry
    # on in the bot's process, and say so in the log).
    workers = {pid: cmd for pid, (cmd, _) in processes.items() if "musicbot.voice.worker" in cmd}
    assert len(workers) == 1 and (os.cpu_count() or 1) >= 2
    assert all(cmd == [str(binary), "-m", "musicbot.voice.worker", cmd[3]] for cmd in workers.values()), workers
    assert "render worker process" not in bot.log()
    # Nothing loaded from this virtualenv or its Python; each worker's libopus is the binary's own.
    for _, mapped in processes.values():
        assert not [path for path in mapped if path.startswith((sys.prefix, sys.base_prefix))]
    for pid in workers:
        libopus = {path for path in processes[pid][1] if "/libopus" in path}
        assert libopus and all("/_MEI" in path for path in libopus), libopus


def group_processes(group: int) -> dict[int, tuple[list[str], set[str]]]:
    """Every process of a process group: its command line and the files it has mapped (the one-file
    binary's launcher, the bot it unpacked and started, and the bot's render workers)."""
    found: dict[int, tuple[list[str], set[str]]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.getpgid(int(proc.name)) != group:
                continue
            cmdline = (proc / "cmdline").read_bytes().decode().split("\0")[:-1]
            maps = (proc / "maps").read_text().splitlines()
        except (ProcessLookupError, FileNotFoundError):
            continue  # ended meanwhile
        mapped = {fields[5] for fields in (line.split(maxsplit=5) for line in maps)
                  if len(fields) == 6 and fields[5].startswith("/")}
        found[int(proc.name)] = (cmdline, mapped)
    return found
