"""The JavaScript runtime yt-dlp uses for YouTube's signature challenges, found the way yt-dlp finds it.

yt-dlp 2026 solves YouTube's challenges with yt-dlp-ejs run in a JavaScript runtime. Which runtimes
exist, where each is looked for and which versions are accepted is yt-dlp's business, so this module
asks yt-dlp itself: its registry of runtimes (``yt_dlp.globals.supported_js_runtimes``) and their
classes (``yt_dlp.utils._jsruntime``), whose ``info`` looks in the Python environment's scripts
folder first (``sysconfig.get_path("scripts")``, where ``pip install 'yt-dlp[default,deno]'`` puts
deno), then on PATH, runs ``--version`` and says whether yt-dlp supports that version (node ≥ 22,
deno ≥ 2.3, bun ≥ 1.2.11 for yt-dlp 2026.x). A newer yt-dlp brings its own rules with it.

Called once at start (``YtDlpBackend``, ``musicbot doctor``), from any thread: it runs each
candidate's ``--version`` as a subprocess.

The survey itself runs in a short-lived Python process of the same environment (``python -m
musicbot.sources.jsruntime``: same interpreter, so the same scripts folder, and the same PATH), because
asking yt-dlp means importing the whole yt-dlp package: about 14 MiB and 250 modules that the bot
would otherwise carry from its start, though it needs yt-dlp only once a query goes to it (a bot
that plays files or links of its own may never). Where that process cannot be run (the single-file
binary runs no other module, see ``musicbot/__main__.py``) or fails, the survey runs here, as before.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from typing import Any

log = logging.getLogger(__name__)

# Far above what the survey takes (a fraction of a second per runtime): only a wedged child waits this long.
SURVEY_TIMEOUT_S = 60.0

# yt-dlp tries the runtimes it has enabled in this order ("in order of priority, from highest to
# lowest", its --js-runtimes help; the scores 1000/900/850/800 of its challenge-provider preferences).
# yt-dlp exposes that order only as preference functions that need a live extractor to call, so it
# is written here; a runtime a later yt-dlp adds is tried after these.
PREFERENCE = ("deno", "node", "quickjs", "bun")


@dataclass(frozen=True)
class JsRuntime:
    """A runtime yt-dlp accepts: ``name`` as yt-dlp's ``js_runtimes`` option spells it, ``version``
    as the runtime printed it, ``path`` absolute."""

    name: str
    version: str
    path: str

    def describe(self) -> str:
        return f"{self.name} {self.version} at {self.path}"


@dataclass(frozen=True)
class RejectedJsRuntime:
    """A runtime that was found but whose version yt-dlp does not support (node 20, say)."""

    runtime: JsRuntime
    minimum: str  # the oldest version yt-dlp accepts, "" when yt-dlp states none

    def describe(self) -> str:
        needs = f" (yt-dlp needs ≥ {self.minimum})" if self.minimum else ""
        return f"{self.runtime.describe()} is too old for yt-dlp{needs}"


def discover_js_runtime() -> JsRuntime | None:
    """The runtime yt-dlp would use, None when none it supports is installed. Blocking (subprocesses)."""
    found, _ = _survey()
    return found


def rejected_js_runtimes() -> tuple[RejectedJsRuntime, ...]:
    """Runtimes present but too old, for the message that says how to fix a missing runtime."""
    _, rejected = _survey()
    return rejected


def missing_runtime_advice() -> str:
    """What to do when ``discover_js_runtime`` found nothing: one line, naming any runtime too old."""
    too_old = "; ".join(r.describe() for r in rejected_js_runtimes())
    return (
        "YouTube will fail or lose formats without one"
        + (f" ({too_old})" if too_old else "")
        + ". Fix: `make update` (or `pip install --upgrade 'yt-dlp[default,deno]'` in the bot's environment) "
        "installs deno next to the bot; or put node ≥ 22, deno or bun on the PATH"
    )


Survey = tuple[JsRuntime | None, tuple[RejectedJsRuntime, ...]]


def _survey() -> Survey:
    if not getattr(sys, "frozen", False):
        surveyed = _survey_in_child()
        if surveyed is not None:
            return surveyed
    return _survey_here()


def _survey_in_child() -> Survey | None:
    """The survey as a child process of this interpreter made it; None when it could not."""
    try:
        done = subprocess.run([sys.executable, "-m", "musicbot.sources.jsruntime"], capture_output=True,
                              text=True, check=False, timeout=SURVEY_TIMEOUT_S, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise RuntimeError(f"exit {done.returncode}: {done.stderr.strip()[-500:]}")
        return _survey_from_json(json.loads(done.stdout.strip().splitlines()[-1]))  # the last line is ours
    except (OSError, subprocess.SubprocessError, RuntimeError, ValueError, LookupError, TypeError) as err:
        log.debug("JavaScript runtime survey in a child process failed (%s); surveying here", err)
        return None


def _survey_as_json(survey: Survey) -> dict[str, Any]:
    found, rejected = survey
    return {"found": None if found is None else asdict(found),
            "rejected": [{"runtime": asdict(r.runtime), "minimum": r.minimum} for r in rejected]}


def _survey_from_json(data: dict[str, Any]) -> Survey:
    found = None if data["found"] is None else JsRuntime(**data["found"])
    return found, tuple(RejectedJsRuntime(JsRuntime(**r["runtime"]), str(r["minimum"])) for r in data["rejected"])


def _survey_here() -> Survey:
    rejected: list[RejectedJsRuntime] = []
    for name, runtime_class in _runtime_classes():
        info = runtime_class().info  # path=None: yt-dlp's own search (scripts folder, then PATH)
        if info is None:  # not installed, or it would not run
            continue
        runtime = JsRuntime(name=name, version=str(info.version), path=_absolute(str(info.path)))
        if info.supported:
            return runtime, tuple(rejected)
        minimum = getattr(runtime_class, "MIN_SUPPORTED_VERSION", ())
        rejected.append(RejectedJsRuntime(runtime, ".".join(map(str, minimum))))
    return None, tuple(rejected)


def _runtime_classes() -> list[tuple[str, Any]]:
    import yt_dlp  # noqa: F401  (importing the package registers its runtimes in supported_js_runtimes)
    from yt_dlp.globals import supported_js_runtimes

    registry: dict[str, Any] = dict(supported_js_runtimes.value)
    rank = {name: i for i, name in enumerate(PREFERENCE)}
    return sorted(registry.items(), key=lambda item: rank.get(item[0], len(PREFERENCE)))


def _absolute(path: str) -> str:
    # Outside the scripts folder yt-dlp leaves the bare name ("node") for the OS to find on PATH
    # when it runs it; the same PATH lookup here turns it into the file the log and doctor show.
    return shutil.which(path) or path


if __name__ == "__main__":  # the child of ``_survey_in_child``: the survey as JSON on stdout
    print(json.dumps(_survey_as_json(_survey_here())))
