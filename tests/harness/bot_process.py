"""``musicbot run`` as a subprocess against :class:`~tests.harness.fake_discord.FakeDiscord`: only environment
variables differ from a production start (:func:`bot_env`), nothing is patched.

The bot runs in a session of its own (``start_new_session``), so a Ctrl-C of pytest does not reach it and the
teardown can kill its whole process group (render workers included) by the bot's id. The fake lives in the test
process, so what it recorded (REST calls, voice packets, voice states, gateway sessions) spans every bot process
of a test: start one, stop it, start another on the same data folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO

import aiohttp

from .fake_discord import FakeDiscord
from .fake_service import OFFLINE_LOOKUPS

TOKEN = "bot-token"


def free_port() -> int:
    """A TCP port nothing listens on right now (for ``MUSICBOT_HTTP_PORT``: 0 would hide the port in the bot)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bot_env(
    fake: FakeDiscord,
    data_dir: Path,
    *,
    music_dir: Path | None = None,
    ca_file: Path | None = None,
    http_port: int | None = None,
    token: str = TOKEN,
    **extra: str,
) -> dict[str, str]:
    """The whole environment of a bot process (nothing inherited but ``PATH``, so no proxy or config of the
    machine leaks in): the fake's REST base (its prefix included) and gateway, the data folder (SQLite database
    in it, and ``HOME``), ``SSL_CERT_FILE`` when given, a free ops port, debug logs. ``extra`` adds or overrides
    variables (``SHARD_COUNT="2"``, ``HTTPS_PROXY=...``)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "musicbot.toml"
    if not config.exists():
        config.write_text("")  # MUSICBOT_CONFIG must name a file; an empty one keeps the machine's out
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(data_dir),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "PYTHONFAULTHANDLER": "1",  # a hung or crashing bot leaves its tracebacks in the log
        "DISCORD_TOKEN": token,
        "DISCORD_API_BASE": fake.base_url,
        "DISCORD_GATEWAY_URL": fake.main_gateway.url,
        "MUSICBOT_CONFIG": str(config),
        "MUSICBOT_DATA_DIR": str(data_dir),
        "MUSICBOT_HTTP_PORT": str(http_port or free_port()),
        "MUSICBOT_LOG_LEVEL": "debug",
        **OFFLINE_LOOKUPS,  # no lyrics or SponsorBlock lookups on the internet
    }
    if music_dir is not None:
        env["MUSICBOT_MUSIC_DIR"] = str(music_dir)
    if ca_file is not None:
        env["SSL_CERT_FILE"] = str(ca_file)
    env.update(extra)
    return env


def musicbot_command(*args: str) -> list[str]:
    """The installed ``musicbot`` script next to this interpreter (what a user runs), else ``python -m musicbot``;
    ``args`` default to ``run``."""
    script = Path(sys.executable).with_name("musicbot")
    args = args or ("run",)
    return [str(script), *args] if script.is_file() else [sys.executable, "-m", "musicbot", *args]


class BotProcess:
    """One ``musicbot run``. Output (stdout and stderr) goes to ``log_path``."""

    def __init__(self, fake: FakeDiscord, env: Mapping[str, str], *, log_path: Path, cwd: Path,
                 args: Sequence[str] = ("run",)) -> None:
        self.fake = fake
        self.args = tuple(args)
        self.env = dict(env)
        self.log_path = log_path
        self.cwd = cwd
        self.http_port = int(self.env.get("MUSICBOT_HTTP_PORT") or 0)
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._identifies_before: Counter[int] = Counter()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> BotProcess:
        gateway = self.fake.main_gateway
        self._identifies_before = Counter(c.shard_id for c in gateway.identifies() if c.shard_id is not None)
        self._log = self.log_path.open("ab")
        self._proc = subprocess.Popen(musicbot_command(*self.args), env=self.env, cwd=self.cwd,
                                      stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        return self

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            raise RuntimeError("the bot was not started")
        return self._proc

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        """None while running; the exit code, or ``-signal`` when a signal ended it."""
        return self.proc.poll()

    def send_signal(self, sig: int, *, group: bool = False) -> None:
        """``sig`` to the bot (as ``docker stop`` does to PID 1), or with ``group`` to its whole process group
        (as systemd's default ``KillMode=control-group`` does)."""
        if group:
            os.killpg(self.pid, sig)
        else:
            self.proc.send_signal(sig)

    async def wait_exit(self, timeout: float = 30.0) -> int:
        """The exit code once the bot ended; ``TimeoutError`` (with the log's tail) if it is still running."""
        deadline = time.perf_counter() + timeout
        while (code := self.returncode) is None:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"musicbot still running after {timeout}s\n{self.tail()}")
            await asyncio.sleep(0.05)
        return code

    def group_alive(self) -> bool:
        """Whether any process of the bot's group (its render workers) is still running."""
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def kill(self) -> None:
        """SIGKILL the bot and its process group (what ``kill -9`` or an OOM kill does), and reap it."""
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(10)

    def close(self) -> None:
        """Teardown: kill whatever of the process group is left, close the log."""
        if self._proc is not None and (self._proc.poll() is None or self.group_alive()):
            self.kill()
        if self._log is not None:
            self._log.close()
            self._log = None

    # ------------------------------------------------------------------ observing
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    async def wait_for_log(self, pattern: str, *, timeout: float = 60.0) -> re.Match[str]:
        """Wait until the log has a line matching ``pattern`` (regex)."""
        regex = re.compile(pattern, re.M)
        deadline = time.perf_counter() + timeout
        while not (found := regex.search(self.log())):
            self._check_running(f"waiting for {pattern!r} in the log")
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{pattern!r} not logged after {timeout}s\n{self.tail()}")
            await asyncio.sleep(0.1)
        return found

    async def wait_ready(self, *, shards: Iterable[int] = (0,), timeout: float = 120.0) -> None:
        """Wait until every shard identified anew (after this process started) and ``/ready`` answers 200."""
        deadline = time.perf_counter() + timeout
        for shard in shards:
            want = self._identifies_before.get(shard, 0) + 1
            while len(self.fake.main_gateway.identifies(shard)) < want:
                self._check_running(f"waiting for shard {shard} to identify")
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"shard {shard} did not identify in {timeout}s\n{self.tail()}")
                await asyncio.sleep(0.1)
        while (status := (await self.http_get("/ready"))[0]) != 200:
            self._check_running(f"waiting for /ready (last status {status})")
            if time.perf_counter() > deadline:
                raise TimeoutError(f"/ready answered {status} after {timeout}s\n{self.tail()}")
            await asyncio.sleep(0.2)

    async def http_get(self, path: str) -> tuple[int, str]:
        """GET an ops endpoint (``/health``, ``/ready``, ``/metrics``); status 0 when nothing answers."""
        if not self.http_port:
            raise RuntimeError("MUSICBOT_HTTP_PORT is not set for this bot")
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session, \
                    session.get(f"http://127.0.0.1:{self.http_port}{path}") as resp:
                return resp.status, await resp.text()
        except (aiohttp.ClientError, TimeoutError):
            return 0, ""

    def _check_running(self, doing: str) -> None:
        if self.returncode is not None:
            raise RuntimeError(f"musicbot exited with {self.returncode} while {doing}\n{self.tail()}")


class BotProcesses:
    """The ``bot_processes`` fixture: ``start(fake, env)`` → a running :class:`BotProcess` with its log in the
    test's tmp folder (``bot-1.log``, ``bot-2.log``, …); every one is killed (group included) at teardown."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[BotProcess] = []

    def start(self, fake: FakeDiscord, env: Mapping[str, str], *, cwd: Path | None = None,
              args: Sequence[str] = ("run",)) -> BotProcess:
        """``args``: the command line after ``musicbot`` (``("web",)``, ``("run", "--role", "bot")``)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        path = self.log_dir / f"bot-{len(self.started) + 1}.log"
        bot = BotProcess(fake, env, log_path=path, cwd=cwd or self.log_dir, args=args)
        self.started.append(bot)
        return bot.start()

    def close_all(self) -> None:
        for bot in self.started:
            bot.close()
            # Shown by pytest only when the test failed (captured output).
            print(f"--- {bot.log_path} (exit {bot.returncode}) ---\n{bot.tail(80)}")


__all__ = ["TOKEN", "BotProcess", "BotProcesses", "bot_env", "free_port", "musicbot_command"]
