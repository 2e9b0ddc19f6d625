"""`musicbot doctor`: every check passing and failing for real, then the command end to end.

Real things throughout: SQLite files and the local Postgres (a database of our own, dropped after),
a local HTTP server standing where Discord's API is (``DISCORD_API_BASE``), libopus and PyAV from
the wheel, yt-dlp's own runtime search, the kernel's real-time and file permission rules (the
failing cases drop capabilities in a child process, as a non-root user or a container lacks them).
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import resource
import secrets
import socket
import subprocess
import sys
import sysconfig
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
from aiohttp import web
from sqlalchemy.engine import make_url

from musicbot.doctor import (
    Status,
    check_config,
    check_js_runtime,
    check_libopus,
    check_music_dir,
    check_pyav,
    check_python,
    check_realtime,
)
from musicbot.doctor_net import check_database, check_discord
from musicbot.storage import head_revision, upgrade
from musicbot.voice.realtime import SEND_THREAD_PRIORITY

ROOT = Path(__file__).resolve().parents[1]
SITE_PACKAGES = Path(sysconfig.get_path("purelib"))
PG_ADMIN_DSN = os.environ.get("MUSICBOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
GOOD_TOKEN = "MTIz.good.token"
BOT = {"id": "123456789012345678", "username": "MusicBot", "discriminator": "0", "bot": True}
# <linux/prctl.h>, <linux/capability.h>
PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_SYS_NICE = 24, 1, 2, 23


# ------------------------------------------------------------------ local checks
def test_python_version() -> None:
    assert check_python().status is Status.OK
    old = check_python((3, 10, 12))
    assert old.status is Status.FAIL and "Python 3.10.12; musicbot needs 3.11 or newer" in old.detail
    assert "3.11" in old.fix


def test_libopus_from_the_pyav_wheel_loads_and_round_trips() -> None:
    result = check_libopus()
    assert result.status is Status.OK, result.line()
    assert result.detail.startswith("libopus 1.") and "av.libs" in result.detail


@pytest.mark.parametrize("content", [None, b"not a shared library"])
def test_a_missing_or_broken_libopus_fails_with_the_reinstall_fix(tmp_path: Path, content: bytes | None) -> None:
    library = tmp_path / "libopus.so.0"
    if content is not None:
        library.write_bytes(content)
    result = check_libopus(str(library))
    assert result.status is Status.FAIL
    assert result.detail.startswith(f"cannot load libopus at {library}: ")
    assert "pip install --force-reinstall av" in result.fix


def test_pyav_encodes_and_decodes_opus() -> None:
    import av

    result = check_pyav()
    assert result.status is Status.OK, result.line()
    assert result.detail == f"PyAV {av.__version__}, FFmpeg {av.ffmpeg_version_info}; Opus encodes and decodes"


def test_an_ffmpeg_without_the_opus_encoder_fails() -> None:
    result = check_pyav("libopus_missing")
    assert result.status is Status.FAIL and "cannot encode and decode Opus with libopus_missing" in result.detail
    assert "pip install --force-reinstall av" in result.fix


def test_the_js_runtime_installed_with_the_bot_is_found() -> None:
    result = check_js_runtime()
    deno = Path(sysconfig.get_path("scripts")) / "deno"
    assert result.status is Status.OK, result.line()
    assert result.detail.startswith("deno ") and result.detail.endswith(f" at {deno}")


def test_real_time_priority_allowed() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_RTPRIO)
    if os.geteuid() != 0 and hard != resource.RLIM_INFINITY and hard < SEND_THREAD_PRIORITY:
        pytest.skip("this user may not use real-time priorities (the refused case is tested end to end)")
    result = check_realtime()
    assert result.status is Status.OK and "SCHED_FIFO 10" in result.detail
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # tried on a thread of its own, not this one


def test_music_folder(tmp_path: Path) -> None:
    assert check_music_dir(None).status is Status.OK
    music = tmp_path / "music"
    music.mkdir()
    (music / "a.ogg").write_bytes(b"x")
    (music / "b.mp3").write_bytes(b"x")
    assert check_music_dir(music).detail == f"{music}: readable, 2 entries"
    missing = check_music_dir(tmp_path / "gone")
    assert missing.status is Status.FAIL and missing.detail == f"{tmp_path / 'gone'} does not exist"
    assert "unset MUSICBOT_MUSIC_DIR" in missing.fix
    assert check_music_dir(music / "a.ogg").detail == f"{music / 'a.ogg'} is not a folder"


def test_config_errors_are_a_line_naming_the_setting(tmp_path: Path) -> None:
    good = check_config({"MUSICBOT_CONFIG": str(_toml(tmp_path, "musicbot_log_level = 'debug'\n"))})
    assert good.status is Status.OK and "musicbot.toml" in good.detail
    bad = check_config({"MUSICBOT_LOG_LEVEL": "loud"})
    assert bad.status is Status.FAIL and bad.detail.startswith("MUSICBOT_LOG_LEVEL must be one of debug")


def _toml(folder: Path, text: str) -> Path:
    path = folder / "musicbot.toml"
    path.write_text(text)
    return path


# ------------------------------------------------------------------ database
def _sqlite(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def test_sqlite_migrated_to_head(tmp_path: Path) -> None:
    url = _sqlite(tmp_path / "musicbot.db")
    await upgrade(url)
    result = await check_database(url)
    assert result.status is Status.OK and result.detail.endswith(f"schema at revision {head_revision()} (newest)")


async def test_sqlite_not_migrated_says_run_db_upgrade(tmp_path: Path) -> None:
    missing = tmp_path / "data" / "musicbot.db"
    absent = await check_database(_sqlite(missing))
    assert absent.status is Status.FAIL and f"no database file at {missing} yet" in absent.detail
    assert absent.fix == "run `musicbot db upgrade`"
    assert not missing.exists()  # the check did not create it

    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")  # an SQLite file with no schema
    result = await check_database(_sqlite(empty))
    assert result.status is Status.FAIL and result.detail.endswith("reachable but empty (no schema)")
    assert result.fix == "run `musicbot db upgrade`"


async def test_sqlite_at_an_older_revision_says_run_db_upgrade(tmp_path: Path) -> None:
    url = _sqlite(tmp_path / "old.db")
    await upgrade(url, "0001")
    result = await check_database(url)
    assert result.status is Status.FAIL
    assert result.detail.endswith(f"schema at revision 0001, this musicbot's newest is {head_revision()}")
    assert result.fix.startswith("run `musicbot db upgrade`")


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty Postgres database of this test's own; dropped afterwards."""
    name = f"musicbot_doctor_{secrets.token_hex(6)}"
    try:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as err:
        message = f"PostgreSQL at {PG_ADMIN_DSN} is not reachable: {err}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true: the Postgres tests must run)")
        pytest.skip(message)
    try:
        yield make_url(PG_ADMIN_DSN).set(drivername="postgresql+asyncpg", database=name).render_as_string(
            hide_password=False)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def test_postgres_empty_then_migrated(pg_url: str) -> None:
    empty = await check_database(pg_url)
    assert empty.status is Status.FAIL and empty.detail.endswith("reachable but empty (no schema)")
    assert empty.fix == "run `musicbot db upgrade`"
    await upgrade(pg_url)
    migrated = await check_database(pg_url)
    assert migrated.status is Status.OK, migrated.line()
    assert migrated.detail.startswith("postgresql+asyncpg://postgres@127.0.0.1:5432/musicbot_doctor_")


async def test_an_unreachable_postgres_fails_without_showing_the_password() -> None:
    result = await check_database(f"postgresql+asyncpg://bot:secret@127.0.0.1:{_refused_port()}/musicbot")
    assert result.status is Status.FAIL and result.detail.startswith("cannot reach the database at postgresql+asyncpg://bot:***@127.0.0.1:")
    assert "DATABASE_URL" in result.fix and "secret" not in result.line()


# ------------------------------------------------------------------ Discord
def _refused_port() -> int:
    with socket.socket() as probe:  # bound and closed again: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class LocalDiscord:
    """Discord's ``GET /users/@me`` on 127.0.0.1: the bot user for ``GOOD_TOKEN``, 401 otherwise."""

    base_url: str = ""
    authorizations: list[str] = field(default_factory=list)
    status: int | None = None  # answer this instead (a Discord outage)


@pytest.fixture
async def discord_api() -> AsyncIterator[LocalDiscord]:
    state = LocalDiscord()

    async def users_me(request: web.Request) -> web.Response:
        state.authorizations.append(request.headers.get("Authorization", ""))
        if state.status is not None:
            return web.json_response({"message": "Service Unavailable"}, status=state.status)
        if request.headers.get("Authorization") != f"Bot {GOOD_TOKEN}":
            return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        return web.json_response(BOT)

    app = web.Application()
    app.router.add_get("/api/v10/users/@me", users_me)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.base_url = f"http://127.0.0.1:{port}/api/v10"
    yield state
    await runner.cleanup()


async def test_a_valid_token_is_accepted(discord_api: LocalDiscord) -> None:
    result = await check_discord(GOOD_TOKEN, discord_api.base_url)
    assert result.status is Status.OK
    assert result.detail == f"token accepted: MusicBot (id {BOT['id']}) at {discord_api.base_url}"
    assert discord_api.authorizations == [f"Bot {GOOD_TOKEN}"]


async def test_a_rejected_token_says_how_to_get_a_new_one(discord_api: LocalDiscord) -> None:
    result = await check_discord("MTIz.revoked.token", discord_api.base_url + "/")
    assert result.status is Status.FAIL
    assert result.detail == f"Discord at {discord_api.base_url} rejected the token (401 Unauthorized)"
    assert "Reset Token" in result.fix and "DISCORD_TOKEN" in result.fix
    assert "revoked" not in result.line()


async def test_a_discord_outage_is_reported(discord_api: LocalDiscord) -> None:
    discord_api.status = 503
    result = await check_discord(GOOD_TOKEN, discord_api.base_url)
    assert result.status is Status.FAIL and "answered 503 Service Unavailable" in result.detail


async def test_discord_unreachable() -> None:
    base = f"http://127.0.0.1:{_refused_port()}/api/v10"
    result = await check_discord(GOOD_TOKEN, base)
    assert result.status is Status.FAIL and result.detail.startswith(f"cannot reach Discord at {base}: ")
    assert "HTTPS_PROXY" in result.fix


async def test_no_token_is_a_warning_and_nothing_is_sent(discord_api: LocalDiscord) -> None:
    result = await check_discord(None, discord_api.base_url)
    assert result.status is Status.WARN and "DISCORD_TOKEN is not set" in result.detail
    assert discord_api.authorizations == []


# ------------------------------------------------------------------ `musicbot doctor` end to end
def doctor(python: Path | str, cwd: Path, env: dict[str, str],
           preexec: Callable[[], object] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("MUSICBOT_", "DISCORD_", "DATABASE_URL")) and "proxy" not in k.lower()}
    return subprocess.run([str(python), "-m", "musicbot", "doctor"], cwd=cwd, env={**base, **env},
                          capture_output=True, text=True, timeout=180, check=False,
                          preexec_fn=preexec)


def lines_by_check(output: str) -> dict[str, tuple[str, str]]:
    """{check name: (status, rest of the line)} from doctor's output."""
    found = {}
    for line in output.splitlines():
        status, name_and_detail = line[:4].strip(), line[6:]
        name, detail = name_and_detail[:12].strip(), name_and_detail[14:]
        found[name] = (status, detail)
    return found


async def test_doctor_all_ok_exits_0(tmp_path: Path, discord_api: LocalDiscord) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_RTPRIO)
    real_time_allowed = os.geteuid() == 0 or hard == resource.RLIM_INFINITY or hard >= SEND_THREAD_PRIORITY
    database = tmp_path / "state" / "musicbot.db"
    await upgrade(_sqlite(database))
    music = tmp_path / "music"
    music.mkdir()
    (music / "song.ogg").write_bytes(b"x")
    env = {"DISCORD_TOKEN": GOOD_TOKEN, "DISCORD_API_BASE": discord_api.base_url,
           "MUSICBOT_DATA_DIR": str(tmp_path / "state"), "MUSICBOT_MUSIC_DIR": str(music)}

    done = await asyncio.to_thread(doctor, sys.executable, tmp_path, env)

    checks = lines_by_check(done.stdout)
    assert list(checks) == ["config", "python", "libopus", "pyav", "js runtime", "database", "discord", "real-time",
                            "music folder"], done.stdout + done.stderr
    expected_ok = set(checks) - (set() if real_time_allowed else {"real-time"})
    assert {name for name, (status, _) in checks.items() if status == "ok"} >= expected_ok, done.stdout
    assert done.returncode == 0 and done.stderr == ""
    assert checks["discord"][1] == f"token accepted: MusicBot (id {BOT['id']}) at {discord_api.base_url}"
    assert checks["database"][1] == f"{_sqlite(database)}: reachable, schema at revision {head_revision()} (newest)"
    assert checks["music folder"][1] == f"{music}: readable, 1 entry"


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv without deno next to it (our packages come in through PYTHONPATH)."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    return venv / "bin" / "python"


def _without_permissions() -> None:
    """In the child before exec: no real-time limit, and (root) no CAP_SYS_NICE and no permission
    override, so it is refused what a non-root user in a plain container is refused."""
    resource.setrlimit(resource.RLIMIT_RTPRIO, (0, 0))
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for capability in (CAP_SYS_NICE, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
            if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


async def test_doctor_reports_each_problem_with_its_fix_and_exits_1(
    tmp_path: Path, discord_api: LocalDiscord, bare_python: Path
) -> None:
    node = tmp_path / "bin" / "node"  # the only runtime on PATH: too old for yt-dlp
    node.parent.mkdir()
    node.write_text("#!/bin/sh\necho v20.0.0\n")
    node.chmod(0o755)
    music = tmp_path / "music"
    music.mkdir(mode=0o000)
    env = {"PATH": str(node.parent), "PYTHONPATH": os.pathsep.join([str(ROOT), str(SITE_PACKAGES)]),
           "DISCORD_TOKEN": "MTIz.revoked.token", "DISCORD_API_BASE": discord_api.base_url,
           "MUSICBOT_DATA_DIR": str(tmp_path / "state"), "MUSICBOT_MUSIC_DIR": str(music)}
    try:
        done = await asyncio.to_thread(doctor, bare_python, tmp_path, env, _without_permissions)
    finally:
        music.chmod(0o755)

    checks = lines_by_check(done.stdout)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert {name: status for name, (status, _) in checks.items()} == {
        "config": "ok", "python": "ok", "libopus": "ok", "pyav": "ok", "js runtime": "FAIL", "database": "FAIL",
        "discord": "FAIL", "real-time": "warn", "music folder": "FAIL",
    }, done.stdout
    assert f"node 20.0.0 at {node} is too old for yt-dlp" in checks["js runtime"][1]
    assert "yt-dlp[default,deno]" in checks["js runtime"][1]
    assert checks["database"][1].endswith("yet; fix: run `musicbot db upgrade`")
    assert "rejected the token (401 Unauthorized); fix: copy a fresh token" in checks["discord"][1]
    assert checks["real-time"][1].startswith("not allowed (RLIMIT_RTPRIO 0/0, no CAP_SYS_NICE)")
    assert "--ulimit rtprio=10" in checks["real-time"][1] and "LimitRTPRIO=10" in checks["real-time"][1]
    assert checks["music folder"][1].startswith(f"cannot read {music}: Permission denied; fix: let the user ")


def test_doctor_with_bad_settings_says_which_and_skips_what_needs_them(tmp_path: Path) -> None:
    missing = tmp_path / "etc" / "musicbot.toml"
    done = doctor(sys.executable, tmp_path, {"MUSICBOT_CONFIG": str(missing)})
    checks = lines_by_check(done.stdout)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert checks["config"][0] == "FAIL"
    assert checks["config"][1].startswith(f"MUSICBOT_CONFIG={missing}: no such file")
    assert list(checks) == ["config", "python", "libopus", "pyav", "js runtime", "real-time"]


def test_a_broken_install_is_a_line_per_check_not_a_traceback(tmp_path: Path) -> None:
    # What a user sees after a half-deleted wheel: importing the package fails. Both packages are
    # shadowed by ones whose import fails that way (first on PYTHONPATH).
    broken = tmp_path / "broken"
    for package in ("av", "yt_dlp"):
        (broken / package).mkdir(parents=True)
        (broken / package / "__init__.py").write_text(
            f"raise ImportError('lib{package}.so: cannot open shared object file: No such file or directory')\n")
    done = doctor(sys.executable, tmp_path, {"PYTHONPATH": os.pathsep.join([str(broken), str(ROOT)])})
    checks = lines_by_check(done.stdout)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert checks["libopus"][0] == checks["pyav"][0] == checks["js runtime"][0] == "FAIL"
    assert checks["pyav"][1].startswith("cannot import PyAV: libav.so: cannot open shared object file")
    assert "pip install --force-reinstall av" in checks["libopus"][1]
    assert checks["js runtime"][1].startswith("the check could not run: ImportError: libyt_dlp.so: cannot open")
    assert checks["python"][0] == "ok" and list(checks)[-1] == "music folder"  # the rest still ran
