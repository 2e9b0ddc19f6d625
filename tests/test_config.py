"""Configuration: defaults, TOML, and errors that name the variable."""

from __future__ import annotations

from pathlib import Path

import discord
import discord.http
import pytest

from musicbot.config import load_config
from musicbot.errors import ConfigError


def test_defaults_use_sqlite_in_the_data_folder(tmp_path: Path) -> None:
    config = load_config({}, toml_path=tmp_path / "absent.toml")
    assert config.database_url == "sqlite+aiosqlite:///data/musicbot.db"
    assert config.http_port == 8080 and config.log_level == "info" and config.music_dir is None


def test_toml_is_read_and_environment_wins(tmp_path: Path) -> None:
    toml = tmp_path / "musicbot.toml"
    toml.write_text('musicbot_http_port = 9000\nmusicbot_log_level = "debug"\n')
    config = load_config({"MUSICBOT_LOG_LEVEL": "warning"}, toml_path=toml)
    assert config.http_port == 9000 and config.log_level == "warning"


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"MUSICBOT_HTTP_PORT": "eighty"}, "MUSICBOT_HTTP_PORT must be a whole number"),
        ({"MUSICBOT_HTTP_PORT": "70000"}, "MUSICBOT_HTTP_PORT must be in 0–65535"),
        ({"MUSICBOT_LOG_FORMAT": "xml"}, "MUSICBOT_LOG_FORMAT must be one of pretty, json"),
        ({"DATABASE_URL": "mysql://u:secret@h/db"}, "DATABASE_URL=mysql://***@h/db is not supported"),
        ({"MUSICBOT_MUSIC_DIR": "/nonexistent/music"}, "MUSICBOT_MUSIC_DIR=/nonexistent/music is not a folder"),
        ({"SHARD_IDS": "0,1"}, "SHARD_COUNT is not"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "0,5"}, "below SHARD_COUNT=2"),
        ({"MUSICBOT_ALLOWED_HOSTS": "10.0.0.0/33"}, "not a valid CIDR"),
    ],
)
def test_bad_values_name_the_variable(tmp_path: Path, env: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(env, toml_path=tmp_path / "absent.toml")
    assert words in str(caught.value)
    assert "secret" not in str(caught.value)


def test_missing_token_says_how_to_get_one(tmp_path: Path) -> None:
    config = load_config({}, toml_path=tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="DISCORD_TOKEN is not set"):
        config.require_token()


def test_broken_toml_is_reported(tmp_path: Path) -> None:
    toml = tmp_path / "musicbot.toml"
    toml.write_text("this is = = not toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config({}, toml_path=toml)


def test_a_bot_that_cannot_reach_discord_says_so_instead_of_a_traceback(tmp_path: Path) -> None:
    import socket

    from musicbot.bot.client import run_bot
    from musicbot.errors import DiscordUnreachableError

    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    config = load_config({"DISCORD_TOKEN": "abc.def.ghi", "MUSICBOT_DATA_DIR": str(tmp_path),
                          "DISCORD_API_BASE": f"http://127.0.0.1:{port}/api/v10"})
    old_base = discord.http.Route.BASE
    try:
        with pytest.raises(DiscordUnreachableError, match=r"cannot reach Discord at http://127\.0\.0\.1:\d+/api/v10"):
            run_bot(config)
    finally:
        discord.http.Route.BASE = old_base
