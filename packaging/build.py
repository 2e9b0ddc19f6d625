"""Build the single-file binary ``dist/musicbot`` with PyInstaller (``packaging/musicbot.spec``).

    .venv/bin/python packaging/build.py [--force]

``make binary`` runs exactly this, and so does tests/test_binary.py: one definition of the build.
Offline: PyInstaller freezes what is installed in this virtualenv, it downloads nothing.

The build takes minutes, so it is skipped when ``dist/musicbot`` was built from the same inputs:
the files under ``musicbot/`` and ``packaging/``, every installed distribution's name and version,
the Python version and the spec's knobs (``MUSICBOT_BINARY_DENO=0``: no deno inside). Those (each
file by its digest) and the digest of the binary written are kept in ``build/musicbot.inputs``; a
changed source file, an upgraded library or a replaced binary means a new build, and the build says
which. A lock file keeps two builds (two test sessions, say) from writing at once.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import importlib.metadata
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "packaging" / "musicbot.spec"
DIST = ROOT / "dist"
WORK = ROOT / "build"
BINARY = DIST / "musicbot"
STAMP = WORK / "musicbot.inputs"
SOURCE_DIRS = ("musicbot", "packaging")


def _source_files() -> Iterator[Path]:
    for top in SOURCE_DIRS:
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                yield path


def inputs() -> list[str]:
    """What the binary is made of, one line each: the Python, the spec's knobs (``MUSICBOT_BINARY_*``
    variables), every source file's digest, every installed distribution's version."""
    lines = [f"python {sys.version.split()[0]} {sys.implementation.cache_tag}"]
    lines += sorted(f"env {name}={value}" for name, value in os.environ.items() if name.startswith("MUSICBOT_BINARY_"))
    lines += [f"file {path.relative_to(ROOT)} {_file_digest(path)}" for path in _source_files()]
    lines += sorted(f"dist {d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions())
    return lines


def _file_digest(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _why_build(now: list[str]) -> str | None:
    """None when dist/musicbot was built from ``now``; else what differs, for the log."""
    if not BINARY.is_file() or not STAMP.is_file():
        return f"no {BINARY.relative_to(ROOT)} built by this script yet"
    *before, binary = STAMP.read_text().splitlines()
    if binary != f"binary {_file_digest(BINARY)}":
        return f"{BINARY.relative_to(ROOT)} is not the one built last"
    changed = sorted(set(before) ^ set(now))
    if not changed:
        return None
    names = list(dict.fromkeys(line.rsplit(" ", 1)[0] if line.startswith("file ") else line for line in changed))
    return "changed: " + ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def build(*, force: bool = False) -> Path:
    """Build ``dist/musicbot`` unless it is up to date; returns its path. Raises
    ``subprocess.CalledProcessError`` when PyInstaller fails (its output is on stderr)."""
    WORK.mkdir(exist_ok=True)
    with (WORK / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second build waits for the first, then finds it done
        now = inputs()
        reason = "--force" if force else _why_build(now)
        if reason is None:
            print(f"{BINARY.relative_to(ROOT)} is up to date", file=sys.stderr)
            return BINARY
        print(f"building {BINARY.relative_to(ROOT)} ({reason})", file=sys.stderr)
        STAMP.unlink(missing_ok=True)
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "ERROR",
             "--distpath", str(DIST), "--workpath", str(WORK), str(SPEC)],
            check=True, cwd=ROOT,
        )
        STAMP.write_text("\n".join([*now, f"binary {_file_digest(BINARY)}"]) + "\n")
        size_mb = BINARY.stat().st_size / 1e6
        print(f"built {BINARY.relative_to(ROOT)}: {size_mb:.0f} MB in {time.monotonic() - started:.0f} s",
              file=sys.stderr)
        return BINARY


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="build even when dist/musicbot is up to date")
    args = parser.parse_args()
    try:
        build(force=args.force)
    except subprocess.CalledProcessError as error:
        print(f"build.py: PyInstaller failed (exit {error.returncode})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
