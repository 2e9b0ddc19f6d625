"""Print the project's requirement set, one per line: ``[project] dependencies`` plus the extras named.

    python deploy/requirements.py dev    # what `make run` / `make test` install (the quick start)
    python deploy/requirements.py        # what the Docker image installs: the same, without the dev extra

pip can install a project's dependencies only together with the project itself, so the Makefile
installs this set first and the code after it (``pip install --no-deps -e .``). That split lets the
Dockerfile install the dependencies in a layer of their own, through the very same make targets as
the quick start: a code change does not reinstall them. Standard library only, so it runs before
anything is installed.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def requirements(extras: list[str], pyproject: Path = PYPROJECT) -> list[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    optional: dict[str, list[str]] = project.get("optional-dependencies", {})
    unknown = [extra for extra in extras if extra not in optional]
    if unknown:
        raise SystemExit(f"unknown extra {', '.join(unknown)}; {pyproject.name} has: {', '.join(optional)}")
    found: list[str] = list(project.get("dependencies", []))
    for extra in extras:
        found.extend(optional[extra])
    return found


def main(argv: list[str]) -> None:
    # Extras as make passes them: separate words, or one comma-separated word ("dev,docs").
    extras = [extra for arg in argv for extra in arg.split(",") if extra]
    print("\n".join(requirements(extras)))


if __name__ == "__main__":
    main(sys.argv[1:])
