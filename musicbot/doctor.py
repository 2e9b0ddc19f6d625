"""``musicbot doctor``: checks the set-up and prints one line per check, with a fix for each problem.

Every check is a small function returning a frozen ``CheckResult``; tests call them directly.
They test the real thing the way the bot uses it (libopus loaded as discord.py loads it, a real
Opus encode and decode through PyAV, a real query to the database and to Discord), and the heavy
libraries are imported inside the checks, so ``musicbot doctor`` still reports a broken install
of one of them as a line, not a traceback. The network checks live in ``doctor_net.py``.

Exit code: 0 when nothing FAILed (warnings allowed), 1 otherwise.
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from musicbot.config import load_config, settings_file
from musicbot.errors import ConfigError

MIN_PYTHON = (3, 11)
ROUND_TRIP_SAMPLES = 24_000  # 0.5 s at 48 kHz: a few dozen Opus packets through encoder and decoder
REINSTALL_AV = "reinstall PyAV (its wheel bundles FFmpeg and libopus): `pip install --force-reinstall av`"


class Status(Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass(frozen=True)
class CheckResult:
    """One check's finding: ``detail`` says what was found, ``fix`` what to do (empty when ok)."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    def line(self) -> str:
        fix = f"; fix: {self.fix}" if self.fix and self.status is not Status.OK else ""
        return f"{self.status.value:<4}  {self.name:<12}  {self.detail}{fix}"


def ok(name: str, detail: str) -> CheckResult:
    return CheckResult(name, Status.OK, detail)


def warn(name: str, detail: str, fix: str) -> CheckResult:
    return CheckResult(name, Status.WARN, detail, fix)


def fail(name: str, detail: str, fix: str) -> CheckResult:
    return CheckResult(name, Status.FAIL, detail, fix)


def check_config(env: Mapping[str, str] | None = None) -> CheckResult:
    """Every setting valid (``load_config``'s own messages name the setting)."""
    try:
        load_config(env)
    except ConfigError as err:
        return fail("config", str(err), "correct the setting named here (README: Configuration); "
                    "the database, Discord and music folder checks need valid settings")
    path = settings_file(env)
    return ok("config", f"settings valid (file: {path if path.is_file() else 'none, environment only'})")


def check_python(version: tuple[int, int, int] | None = None) -> CheckResult:
    found = version or (sys.version_info.major, sys.version_info.minor, sys.version_info.micro)
    text = ".".join(map(str, found))
    if found[:2] < MIN_PYTHON:
        return fail("python", f"Python {text}; musicbot needs {'.'.join(map(str, MIN_PYTHON))} or newer",
                    "install Python 3.11+ (or use the Docker image or the single-file binary)")
    return ok("python", f"Python {text} ({sys.executable})")


def check_libopus(path: str | None = None) -> CheckResult:
    """The libopus in the PyAV wheel (or ``path``), loaded through discord.py as the bot loads it
    (``bot/client.py``'s ``load_bundled_opus``), then one frame encoded and decoded with it."""
    try:
        import discord.opus

        if path is None:
            from musicbot.voice.opus import library_path

            path = library_path()
        discord.opus.load_opus(path)
        version = discord.opus._OpusStruct.get_opus_version()
        encoder, decoder = discord.opus.Encoder(), discord.opus.Decoder()  # type: ignore[no-untyped-call]
        frame = bytes(discord.opus.Encoder.FRAME_SIZE)  # 20 ms of 16-bit stereo silence
        decoded = decoder.decode(encoder.encode(frame, discord.opus.Encoder.SAMPLES_PER_FRAME), fec=False)
    except Exception as err:  # an import, load or codec failure: each is this check's finding
        where = f" at {path}" if path else ""
        return fail("libopus", f"cannot load libopus{where}: {err}", REINSTALL_AV)
    if len(decoded) != len(frame):
        return fail("libopus", f"{version} at {path}: decoded {len(decoded)} bytes of a {len(frame)}-byte frame",
                    REINSTALL_AV)
    return ok("libopus", f"{version} at {path}")


def check_pyav(encoder: str = "libopus") -> CheckResult:
    """PyAV and its FFmpeg, and a real Opus round trip: 0.5 s of a tone encoded with ``encoder``
    into Ogg, then demuxed and decoded as the decoder thread does."""
    try:
        import av
    except Exception as err:
        return fail("pyav", f"cannot import PyAV: {err}", REINSTALL_AV)
    found = f"PyAV {av.__version__}, FFmpeg {getattr(av, 'ffmpeg_version_info', '?')}"
    try:
        samples, rms = _opus_round_trip(av, encoder)
    except Exception as err:  # the codec's own error says what is missing
        return fail("pyav", f"{found}: cannot encode and decode Opus with {encoder}: {type(err).__name__}: {err}",
                    REINSTALL_AV)
    if samples < 0.9 * ROUND_TRIP_SAMPLES or rms < 0.1:
        return fail("pyav", f"{found}: the Opus round trip gave {samples} samples at RMS {rms:.3f}", REINSTALL_AV)
    return ok("pyav", f"{found}; Opus encodes and decodes")


def _opus_round_trip(av: Any, encoder: str) -> tuple[int, float]:
    import numpy as np

    t = np.arange(ROUND_TRIP_SAMPLES) / 48_000
    tone = (0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    pcm = np.stack([tone, tone])
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="ogg") as out:
        stream = out.add_stream(encoder, rate=48_000, layout="stereo")
        for start in range(0, ROUND_TRIP_SAMPLES, 960):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm[:, start:start + 960]), format="fltp",
                                               layout="stereo")
            frame.sample_rate, frame.pts = 48_000, start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    buffer.seek(0)
    with av.open(buffer, "r") as source:
        decoded = np.concatenate([f.to_ndarray() for f in source.decode(audio=0)], axis=1)
    return decoded.shape[1], float(np.sqrt(np.mean(np.square(decoded, dtype=np.float64))))


def check_js_runtime() -> CheckResult:
    """The JavaScript runtime yt-dlp will use (YouTube needs one since 2025), found as the bot
    finds it (``sources/jsruntime.py``: yt-dlp's own search)."""
    from musicbot.sources.jsruntime import discover_js_runtime, rejected_js_runtimes

    runtime = discover_js_runtime()
    if runtime is None:
        too_old = "; ".join(r.describe() for r in rejected_js_runtimes())
        return fail("js runtime", "no JavaScript runtime yt-dlp supports: YouTube will not play"
                    + (f" ({too_old})" if too_old else ""),
                    "`make update` (or `pip install --upgrade 'yt-dlp[default,deno]'` in the bot's environment) "
                    "installs deno next to the bot; or put node ≥ 22, deno or bun on PATH")
    return ok("js runtime", runtime.describe())


def check_realtime() -> CheckResult:
    """Whether a send thread may run at real-time priority: tried for real on a throwaway thread,
    exactly as ``voice/realtime.py`` promotes discord.py's send threads."""
    from musicbot.voice import realtime

    outcome: list[bool] = []
    thread = threading.Thread(target=lambda: outcome.append(realtime.promote_current_thread()), name="doctor-rt")
    thread.start()
    thread.join()
    if outcome and outcome[0]:
        return ok("real-time", f"allowed: voice send threads run at SCHED_FIFO {realtime.SEND_THREAD_PRIORITY}")
    return warn("real-time", f"not allowed ({_rtprio_limits()}, no CAP_SYS_NICE): voice send threads run at normal "
                "priority, with more packet jitter under load",
                "`docker run --ulimit rtprio=10`, systemd `LimitRTPRIO=10`, or run as root")


def _rtprio_limits() -> str:
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_RTPRIO)
    except (ImportError, AttributeError, OSError):
        return "this system has no real-time scheduling limits"

    def show(value: int) -> str:
        return "unlimited" if value == resource.RLIM_INFINITY else str(value)

    return f"RLIMIT_RTPRIO {show(soft)}/{show(hard)}"


def check_music_dir(path: Path | None) -> CheckResult:
    """``MUSICBOT_MUSIC_DIR`` exists and this user can list it (the bot plays what is in it)."""
    if path is None:
        return ok("music folder", "MUSICBOT_MUSIC_DIR not set: local files are off")
    if not path.is_dir():
        what = "is not a folder" if path.exists() else "does not exist"
        return fail("music folder", f"{path} {what}", "create the folder, or unset MUSICBOT_MUSIC_DIR")
    try:
        with os.scandir(path) as entries:
            count = sum(1 for _ in entries)
    except OSError as err:
        return fail("music folder", f"cannot read {path}: {err.strerror or err}",
                    f"let the user running the bot (uid {os.geteuid()}) read and list it "
                    f"(e.g. `chmod -R o+rX {path}`), or unset MUSICBOT_MUSIC_DIR")
    return ok("music folder", f"{path}: readable, {count} {'entry' if count == 1 else 'entries'}")


def run_checks(env: Mapping[str, str] | None = None) -> Iterator[CheckResult]:
    """Every check in order, each yielded as soon as it is done (the network ones take a moment)."""
    from musicbot import doctor_net

    config_result = check_config(env)
    yield config_result
    config = load_config(env) if config_result.status is Status.OK else None
    yield _guarded("python", check_python)
    yield _guarded("libopus", check_libopus)
    yield _guarded("pyav", check_pyav)
    yield _guarded("js runtime", check_js_runtime)
    if config is not None:
        yield _guarded("database", lambda: asyncio.run(doctor_net.check_database(config.database_url)))
        yield _guarded("discord", lambda: asyncio.run(
            doctor_net.check_discord(config.discord_token, config.discord_api_base)))
        if config.redis_url:
            redis_url = config.redis_url
            yield _guarded("redis", lambda: asyncio.run(doctor_net.check_redis(redis_url, config.redis_prefix)))
    yield _guarded("real-time", check_realtime)
    if config is not None:
        yield _guarded("music folder", lambda: check_music_dir(config.music_dir))


def _guarded(name: str, check: Callable[[], CheckResult]) -> CheckResult:
    """A check that raised (a library it imports is broken or missing) is that check's FAIL line,
    and the other checks still run."""
    try:
        return check()
    except Exception as err:
        return fail(name, f"the check could not run: {type(err).__name__}: {err}",
                    "reinstall the bot's dependencies (`make install`, or `pip install -e .` in its environment)")


def run_doctor(env: Mapping[str, str] | None = None) -> int:
    """``musicbot doctor``: print each check's line; 1 if any FAILed."""
    failed = False
    for result in run_checks(env):
        print(result.line(), flush=True)
        failed = failed or result.status is Status.FAIL
    return 1 if failed else 0
