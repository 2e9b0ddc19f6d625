"""`musicbot run` checks the settings before loading the bot, and `musicbot --version`.

A missing token or a misspelled setting must be reported at once, so the CLI may import the
heavy libraries (discord.py, numpy, PyAV, scipy: seconds on a small machine) only after the
settings were read and checked. Asserted by what was imported, not by timing.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import musicbot

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("discord", "numpy", "av", "scipy")
# Runs `musicbot run` in a fresh interpreter and prints, at exit, which heavy modules were imported.
RUN_AND_LIST_IMPORTS = f"""
import atexit, sys
atexit.register(lambda: print(sorted(m for m in {HEAVY!r} if m in sys.modules)))
from musicbot.cli import main
sys.exit(main(["run"]))
"""


def run_cli(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "MUSICBOT_CONFIG")}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env={**base, **env}, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DISCORD_TOKEN": ""}, "musicbot: error: DISCORD_TOKEN is not set: create a bot at "),
        ({"DISCORD_TOKEN": "abc", "MUSICBOT_HTTP_PROT": "9000"},
         "musicbot: error: environment: unknown setting 'MUSICBOT_HTTP_PROT'; did you mean 'MUSICBOT_HTTP_PORT'?"),
        ({"DISCORD_TOKEN": "abc", "MUSICBOT_CONFIG": "/nonexistent/musicbot.toml"},
         "musicbot: error: MUSICBOT_CONFIG=/nonexistent/musicbot.toml: no such file"),
    ],
)
def test_run_reports_bad_settings_before_importing_the_bot(tmp_path: Path, env: dict[str, str],
                                                            message: str) -> None:
    done = run_cli(RUN_AND_LIST_IMPORTS, tmp_path, **env)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(message) and "Traceback" not in done.stderr
    assert done.stdout.strip() == "[]"  # none of discord, numpy, av, scipy was imported


def test_version_prints_the_package_version_and_python(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "musicbot", "--version"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, check=False)
    python = ".".join(map(str, sys.version_info[:3]))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"musicbot {musicbot.__version__} (Python {python})"


def test_the_version_is_written_once_and_the_installed_metadata_agrees() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "musicbot.__version__"}
    assert importlib.metadata.version("musicbot") == musicbot.__version__
