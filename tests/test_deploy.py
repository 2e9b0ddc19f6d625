"""What the Docker image, the compose example and the systemd unit run, checked without running them.

Images cannot be built or pulled on our development machines (no Docker engine, no registry), so
these tests check what the image would run: its install steps are the quick start's (the same make
targets, the same requirement set without the dev extra, compared through ``make -n``), its
HEALTHCHECK command is run against a real HTTP server, its PID 1 is tini. The compose file is read
with pyyaml; the unit goes through ``systemd-analyze verify`` where this machine has it.
"""

from __future__ import annotations

import ast
import configparser
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import packages_distributions
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from musicbot.config import load_config

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


# ---------------------------------------------------------------------------------------- helpers
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):  # Docker drops comment lines inside continuations too
            continue
        pending = f"{pending} {line.removesuffix(chr(92)).strip()}".strip()
        if line.endswith("\\"):
            continue
        keyword, _, rest = pending.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        pending = ""
    return instructions


def args_of(keyword: str) -> list[str]:
    return [rest for kw, rest in dockerfile() if kw == keyword]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for rest in args_of("ENV"):
        for pair in shlex.split(rest):
            key, _, value = pair.partition("=")
            env[key] = value
    return env


def run_commands() -> list[list[str]]:
    """Every shell command of every RUN, split on ``&&``."""
    return [shlex.split(part) for rest in args_of("RUN") for part in rest.split("&&")]


def healthcheck_command() -> list[str]:
    (rest,) = args_of("HEALTHCHECK")
    _, _, command = rest.partition(" CMD ")
    argv: list[str] = json.loads(command)
    return argv


def make_dry_run(*args: str) -> list[str]:
    """The commands ``make`` would run from scratch (``-B``: as if nothing were installed yet)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    out = subprocess.run(["make", "-n", "-B", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return [" ".join(line.split()) for line in out.splitlines() if line.strip()]


def requirement_set(*extras: str) -> list[str]:
    """The requirement set exactly as the Makefile computes it."""
    out = subprocess.run([sys.executable, "deploy/requirements.py", *extras], cwd=ROOT, capture_output=True,
                         text=True, check=True, timeout=60).stdout
    return out.splitlines()


def project_name(requirement: str) -> str:
    return re.split(r"[\[<>=!~;\s]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# ---------------------------------------------------------------------------------- install steps
def test_the_image_installs_through_the_quick_starts_make_targets_only() -> None:
    commands = run_commands()
    make_calls = [argv for argv in commands if argv[0] == "make"]
    assert make_calls == [["make", "deps", "EXTRAS="], ["make", "install", "EXTRAS="]]
    # nothing installs Python packages behind the Makefile's back
    assert not [argv for argv in commands if argv[0] != "make" and ("pip" in argv or "venv" in argv)]


def test_the_image_runs_the_same_install_commands_as_make_run_and_make_test() -> None:
    quick_start = make_dry_run("install")
    assert make_dry_run("run")[: len(quick_start)] == quick_start  # `make run` installs through it
    assert make_dry_run("test")[: len(quick_start)] == quick_start  # and so does `make test`
    image = make_dry_run("install", "EXTRAS=")
    assert make_dry_run("deps", "EXTRAS=") == image[: len(make_dry_run("deps", "EXTRAS="))]  # the cached layer

    # The one difference: the image asks for no extra where the quick start asks for "dev".
    without_dev = [line.replace("requirements.py dev", "requirements.py").replace(".deps-dev", ".deps-")
                   for line in quick_start]
    assert image == without_dev
    assert any(line.startswith(".venv/bin/pip install") and "-r .venv/requirements.txt" in line for line in image)


def test_the_image_requirement_set_is_the_quick_starts_without_the_dev_extra() -> None:
    quick_start, image = requirement_set("dev"), requirement_set()

    assert image == PYPROJECT["dependencies"]
    assert quick_start == image + PYPROJECT["optional-dependencies"]["dev"]
    names = {project_name(r) for r in image}
    assert "pytest-benchmark" not in names and "pytest" not in names  # benchmarks only: the dev extra
    assert "yt-dlp[default,deno]" in {r.split(">")[0] for r in image}  # YouTube's JS runtime comes with it
    (deno,) = [r for r in image if project_name(r) == "deno"]
    assert deno.startswith("deno>=2.")  # PyPI's deno 0.0.x releases are placeholders


def test_the_bot_imports_nothing_that_only_the_dev_extra_installs() -> None:
    """The image has no dev extra: an import of one of its packages under musicbot/ would fail there."""
    dev_only = {project_name(r) for r in PYPROJECT["optional-dependencies"]["dev"]}
    dev_only -= {project_name(r) for r in PYPROJECT["dependencies"]}
    distributions = packages_distributions()
    offenders: list[str] = []
    for path in sorted((ROOT / "musicbot").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            for name in names:
                dists = {d.lower().replace("_", "-") for d in distributions.get(name.split(".")[0], ())}
                if dists & dev_only:
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []


def test_dependencies_are_installed_in_a_layer_before_the_code_is_copied() -> None:
    steps = dockerfile()
    deps_at = next(i for i, (kw, rest) in enumerate(steps) if kw == "RUN" and "make deps" in rest)
    copied_before = [src for kw, rest in steps[:deps_at] if kw == "COPY" for src in shlex.split(rest)[:-1]]
    copied_after = [src for kw, rest in steps[deps_at:] if kw == "COPY" for src in shlex.split(rest)[:-1]]

    # The Makefile's deps rule reads pyproject.toml and the requirement script, nothing else.
    (rule,) = [line for line in (ROOT / "Makefile").read_text().splitlines() if line.startswith("$(DEPS):")]
    assert sorted(copied_before) == sorted(["Makefile", *rule.split(":", 1)[1].split()])
    assert "musicbot" in copied_after and "musicbot" not in copied_before


def test_make_update_upgrades_ytdlp_with_the_extras_the_project_asks_for() -> None:
    *_, update = make_dry_run("update")
    (ytdlp,) = [r for r in PYPROJECT["dependencies"] if project_name(r) == "yt-dlp"]
    assert update == f".venv/bin/pip install --quiet --upgrade '{ytdlp.split('>')[0]}'"


# ------------------------------------------------------------------------------- what the image runs
def test_tini_is_pid_1_and_runs_the_musicbot_that_make_installs() -> None:
    (entrypoint,) = args_of("ENTRYPOINT")
    (workdir,) = args_of("WORKDIR")
    *_, run = make_dry_run("run")  # ".venv/bin/musicbot run"
    program, subcommand = run.split()

    assert json.loads(entrypoint) == ["/usr/bin/tini", "--", str(PurePosixPath(workdir) / program)]
    assert json.loads(args_of("CMD")[0]) == [subcommand]
    assert any(argv[:2] == ["apt-get", "install"] and "tini" in argv for argv in run_commands())
    assert args_of("STOPSIGNAL") == ["SIGTERM"]


def test_the_image_listens_on_every_interface_keeps_data_in_a_volume_and_runs_as_a_user() -> None:
    env = image_env()
    assert env["MUSICBOT_HTTP_HOST"] == "0.0.0.0"  # the bot's default (127.0.0.1) is unreachable in a container
    assert env["MUSICBOT_DATA_DIR"] == "/data" and json.loads(args_of("VOLUME")[0]) == ["/data"]
    assert args_of("EXPOSE") == [env["MUSICBOT_HTTP_PORT"]]
    assert args_of("USER") and args_of("USER")[-1] not in ("root", "0")
    # deno comes from the pip dependency now: no second image to copy node from
    assert len(args_of("FROM")) == 1 and not [rest for _, rest in dockerfile() if "node" in rest]


def test_dockerignore_keeps_the_venv_and_git_out_and_lets_everything_copied_in() -> None:
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert {".venv", ".git", "data", "dist", "build"} <= set(patterns)
    copied = [src for rest in args_of("COPY") for src in shlex.split(rest)[:-1]]
    for source in copied:
        path = PurePosixPath(source)
        assert not [p for p in patterns if path.match(p.removeprefix("**/")) or path.parts[0] == p], source


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/health" else 404)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def health_server(request: pytest.FixtureRequest) -> Iterator[int]:
    handler = type("Handler", (_Health,), {"status": request.param})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def run_healthcheck(port: int) -> int:
    argv = healthcheck_command()
    assert argv[0] == "python"  # the image's venv python (PATH); here this venv's
    env = {**os.environ, "MUSICBOT_HTTP_PORT": str(port),
           "HTTP_PROXY": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"}  # must not be used
    return subprocess.run([sys.executable, *argv[1:]], env=env, capture_output=True, timeout=60,
                          check=False).returncode


@pytest.mark.parametrize("health_server", [200], indirect=True)
def test_the_healthcheck_passes_against_a_server_answering_health(health_server: int) -> None:
    assert run_healthcheck(health_server) == 0


@pytest.mark.parametrize("health_server", [503], indirect=True)
def test_the_healthcheck_fails_when_health_answers_an_error(health_server: int) -> None:
    assert run_healthcheck(health_server) == 1  # 1 is "unhealthy" to Docker; 2 is reserved


def test_the_healthcheck_fails_when_nothing_listens() -> None:
    assert run_healthcheck(free_port()) == 1


# ---------------------------------------------------------------------------------------- compose
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    return loaded


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}``, from ``env``."""
    return re.sub(r"\$\{(\w+)(?::?[-?][^}]*)?\}", lambda m: env[m.group(1)], value)


def test_compose_runs_the_bot_on_postgres_16_once_postgres_is_healthy() -> None:
    services = compose()["services"]
    bot, postgres = services["bot"], services["postgres"]

    assert postgres["image"].split(":")[1].split(".")[0] == "16"
    assert bot["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert (ROOT / "deploy" / bot["build"]["context"] / "Dockerfile").resolve() == ROOT / "Dockerfile"
    volume, _, mount = postgres["volumes"][0].partition(":")
    assert mount == "/var/lib/postgresql/data" and volume in compose()["volumes"]  # a named volume
    assert [v.split(":")[1] for v in bot["volumes"]] == ["/data"]


def test_compose_hands_the_bot_a_database_url_of_that_postgres() -> None:
    services = compose()["services"]
    secrets = {"POSTGRES_PASSWORD": "s3cret", "DISCORD_TOKEN": "token"}
    pg = {k: interpolate(str(v), secrets) for k, v in services["postgres"]["environment"].items()}
    bot = {k: interpolate(str(v), secrets) for k, v in services["bot"]["environment"].items()}

    expected = f"postgresql+asyncpg://{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@postgres:5432/{pg['POSTGRES_DB']}"
    assert bot["DATABASE_URL"] == expected
    assert load_config(env=bot).database_url == expected  # the bot accepts it as it is
    assert bot["MUSICBOT_HTTP_HOST"] == "0.0.0.0" and bot["DISCORD_TOKEN"] == "token"


def test_compose_healthchecks_restarts_real_time_priority_and_grace_period() -> None:
    services = compose()["services"]
    bot, postgres = services["bot"], services["postgres"]

    assert bot["healthcheck"]["test"] == ["CMD", *healthcheck_command()]  # the image's own check
    assert postgres["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL") and "pg_isready" in str(postgres["healthcheck"])
    assert bot["ulimits"]["rtprio"] == 10
    assert bot["restart"] in ("unless-stopped", "always", "on-failure")
    assert postgres["restart"] in ("unless-stopped", "always", "on-failure")
    grace = re.fullmatch(r"(\d+)s", bot["stop_grace_period"])
    assert grace and int(grace.group(1)) >= 15  # the bot takes up to 10 s to stop cleanly


# ---------------------------------------------------------------------------------------- systemd
UNIT = ROOT / "deploy" / "musicbot.service"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string(UNIT.read_text())
    return parser


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_systemd_accepts_the_unit_without_a_warning(tmp_path: Path) -> None:
    service = unit()["Service"]
    # verify checks that ExecStart exists: point the unit at this checkout, installed by `make`
    local = tmp_path / "musicbot.service"
    local.write_text(UNIT.read_text().replace(service["WorkingDirectory"], str(ROOT)))
    done = subprocess.run(["systemd-analyze", "verify", str(local)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


def test_the_unit_runs_what_make_installs_restarts_and_stops_cleanly() -> None:
    service = unit()["Service"]
    *_, run = make_dry_run("run")  # ".venv/bin/musicbot run"

    assert service["ExecStart"] == f"{service['WorkingDirectory']}/{run}"
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM" and service["KillMode"] == "mixed"  # SIGTERM to the bot alone
    assert int(service["TimeoutStopSec"]) >= 15
    assert service["LimitRTPRIO"] == "10"
    assert service["User"] not in ("root", "0") and service["EnvironmentFile"]


def test_the_unit_is_hardened_without_taking_what_the_bot_needs() -> None:
    service = unit()["Service"]
    env = dict(pair.split("=", 1) for pair in shlex.split(service["Environment"]))

    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    writable = service["ReadWritePaths"].split()
    assert env["MUSICBOT_DATA_DIR"] in writable and env["XDG_CACHE_HOME"] in writable  # database; yt-dlp, deno
    assert service.get("RestrictRealtime", "no") == "no"  # SCHED_FIFO for the send threads
    assert service.get("MemoryDenyWriteExecute", "no") == "no"  # deno's JIT
