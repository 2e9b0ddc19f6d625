"""The JavaScript runtime yt-dlp gets: found by yt-dlp's own rules, named in one start-up line.

Discovery depends on the Python environment (its scripts folder) and on PATH, so most tests run
it in a subprocess whose environment they set: the project's venv with PATH stripped, or a fresh
venv without deno (our packages on PYTHONPATH) with fake ``node`` scripts on PATH. Nothing here
touches the network: every runtime only prints its version.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from musicbot.config import load_config
from musicbot.sources.jsruntime import JsRuntime, discover_js_runtime
from musicbot.sources.resolver import Resolver
from musicbot.sources.ytdlp import YtDlpBackend, ytdlp_options

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = Path(sysconfig.get_path("scripts"))  # this venv's bin/, where yt-dlp[default,deno] put deno
SITE_PACKAGES = Path(sysconfig.get_path("purelib"))

# Run in the child: what discovery finds, what the bot hands yt-dlp, and (on stderr) the start-up log.
PROBE = """
import json, logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
from musicbot.sources.jsruntime import discover_js_runtime, rejected_js_runtimes
from musicbot.sources.ytdlp import YtDlpBackend
found = discover_js_runtime()
backend = YtDlpBackend()
print(json.dumps({
    "found": None if found is None else [found.name, found.version, found.path],
    "rejected": [r.describe() for r in rejected_js_runtimes()],
    "js_runtimes": backend.options.get("js_runtimes", "absent"),
}))
"""


def probe(python: Path | str, path_env: str, **extra_env: str) -> tuple[dict[str, Any], str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PATH", "PYTHONPATH")}
    env.update(PATH=path_env, **extra_env)
    done = subprocess.run([str(python), "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


def deno_version(deno: Path) -> str:
    out = subprocess.run([str(deno), "--version"], capture_output=True, text=True, check=True).stdout
    match = re.match(r"deno (\S+)", out)
    assert match, out
    return match.group(1)


@pytest.mark.parametrize("path_env", ["/usr/bin:/bin", ""])
def test_deno_installed_with_the_bot_is_found_with_no_path_entry_for_it(path_env: str) -> None:
    deno = SCRIPTS / "deno"
    assert deno.is_file(), "pip install -e '.[dev]' installs deno (yt-dlp[default,deno]) into the venv"
    assert shutil.which("deno", path=path_env or os.defpath) is None  # only the environment has one

    result, log = probe(sys.executable, path_env)

    assert result["found"] == ["deno", deno_version(deno), str(deno)]
    assert result["js_runtimes"] == {"deno": {"path": str(deno)}}
    assert f"INFO yt-dlp JavaScript runtime: deno {deno_version(deno)} at {deno}" in log.splitlines()


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with nothing in its bin/ but python: no deno next to it."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    assert not (venv / "bin" / "deno").exists()
    return venv / "bin" / "python"


def fake_node(folder: Path, version: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    node = folder / "node"
    node.write_text(f"#!/bin/sh\necho {version}\n")
    node.chmod(0o755)
    return node


def in_bare_env(bare_python: Path, path_env: str) -> tuple[dict[str, Any], str]:
    return probe(bare_python, path_env, PYTHONPATH=os.pathsep.join([str(ROOT), str(SITE_PACKAGES)]))


def test_node_older_than_22_alone_is_refused_and_the_warning_says_how_to_fix(bare_python: Path,
                                                                             tmp_path: Path) -> None:
    node = fake_node(tmp_path / "bin", "v20.0.0")

    result, log = in_bare_env(bare_python, str(node.parent))

    assert result["found"] is None
    assert result["rejected"] == [f"node 20.0.0 at {node} is too old for yt-dlp (yt-dlp needs ≥ 22.0.0)"]
    assert result["js_runtimes"] == "absent"  # not {}: yt-dlp keeps its own default (deno)
    (warning,) = [line for line in log.splitlines() if "JavaScript runtime" in line]
    assert warning.startswith("WARNING yt-dlp JavaScript runtime: none found.")
    assert f"node 20.0.0 at {node} is too old" in warning and "make update" in warning


def test_node_22_on_path_is_used_when_the_environment_has_no_deno(bare_python: Path, tmp_path: Path) -> None:
    node = fake_node(tmp_path / "bin", "v22.11.0")

    result, log = in_bare_env(bare_python, str(node.parent))

    assert result["found"] == ["node", "22.11.0", str(node)]
    assert result["js_runtimes"] == {"node": {"path": str(node)}}
    assert f"INFO yt-dlp JavaScript runtime: node 22.11.0 at {node}" in log.splitlines()


def test_nothing_at_all_leaves_ytdlp_its_default_instead_of_an_empty_set(bare_python: Path) -> None:
    result, log = in_bare_env(bare_python, "")

    assert result["found"] is None and result["rejected"] == []
    assert result["js_runtimes"] == "absent"
    assert "WARNING yt-dlp JavaScript runtime: none found." in log


@pytest.mark.parametrize("which", ["discovered", "node", "none"])
def test_youtube_dl_always_has_a_runtime_enabled(which: str) -> None:
    import yt_dlp

    runtime = {"discovered": discover_js_runtime(), "none": None,
               "node": JsRuntime("node", "22.11.0", "/opt/node/bin/node")}[which]
    options = ytdlp_options(js_runtime=runtime)

    assert options.get("js_runtimes") != {}
    with yt_dlp.YoutubeDL(options) as ydl:
        enabled = ydl.params["js_runtimes"]
    assert enabled, "an empty js_runtimes turns every JavaScript runtime off"
    if runtime is not None:
        assert enabled == {runtime.name: {"path": runtime.path}}


def test_the_bots_resolver_logs_the_runtime_once_as_it_is_built(tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    config = load_config(env={"MUSICBOT_DATA_DIR": str(tmp_path)}, toml_path=tmp_path / "musicbot.toml")
    deno = SCRIPTS / "deno"

    with caplog.at_level(logging.INFO, logger="musicbot.sources.ytdlp"):
        resolver = Resolver.from_config(config)

    lines = [r.getMessage() for r in caplog.records if "JavaScript runtime" in r.getMessage()]
    assert lines == [f"yt-dlp JavaScript runtime: deno {deno_version(deno)} at {deno}"]
    assert resolver.ytdlp.options["js_runtimes"] == {"deno": {"path": str(deno)}}


def test_a_backend_built_by_hand_runs_no_discovery_and_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="musicbot.sources.ytdlp"):
        backend = YtDlpBackend(js_runtime=None)
    assert "js_runtimes" not in backend.options and not caplog.records
