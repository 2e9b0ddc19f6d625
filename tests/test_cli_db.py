"""`musicbot db upgrade|current` as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def musicbot(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "musicbot", *args], cwd=cwd, env={**os.environ, **(env or {})},
                          check=False, capture_output=True, text=True, timeout=60)


def test_upgrade_creates_the_sqlite_database_in_the_data_folder(tmp_path: Path) -> None:
    env = {"MUSICBOT_DATA_DIR": str(tmp_path / "state")}
    empty = musicbot("db", "current", cwd=tmp_path, env=env)
    assert empty.returncode == 0 and "none (empty database)" in empty.stdout
    result = musicbot("db", "upgrade", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "(newest)" in result.stdout and (tmp_path / "state" / "musicbot.db").exists()
    again = musicbot("db", "current", cwd=tmp_path, env=env)
    assert again.stdout.split("revision ")[1].split()[0] == result.stdout.split("revision ")[1].split()[0]


def test_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    result = musicbot("db", "upgrade", cwd=tmp_path,
                      env={"DATABASE_URL": "postgresql+asyncpg://nobody:secret@127.0.0.1:9/none"})
    assert result.returncode == 1
    assert result.stderr.startswith("musicbot: error: Cannot reach the database") and "Traceback" not in result.stderr
    assert "secret" not in result.stderr
