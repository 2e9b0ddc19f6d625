"""Configuration: defaults, TOML, and errors that name the variable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from musicbot.config import SETTINGS, load_config
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
        ({"TELEGRAM_TOKEN": "123:secret"}, "TELEGRAM_TOKEN does not look like a Telegram bot token"),
        ({"TELEGRAM_API_BASE": "ftp://example.org"}, "TELEGRAM_API_BASE must be an http(s) address"),
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
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MUSICBOT_", "DISCORD_"))}
    env |= {"DISCORD_TOKEN": "abc.def.ghi", "MUSICBOT_DATA_DIR": str(tmp_path), "MUSICBOT_HTTP_PORT": "0",
            "DISCORD_API_BASE": f"http://127.0.0.1:{port}/api/v10"}
    done = subprocess.run([sys.executable, "-m", "musicbot", "run"], check=False, env=env, cwd=tmp_path,
                          capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert re.match(r"musicbot: error: cannot reach Discord at http://127\.0\.0\.1:\d+/api/v10", last), done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_musicbot_config_file_is_an_error_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "etc" / "musicbot.toml"
    with pytest.raises(ConfigError) as caught:
        load_config({"MUSICBOT_CONFIG": str(missing)})
    assert str(caught.value).startswith(f"MUSICBOT_CONFIG={missing}: no such file")
    assert "unset MUSICBOT_CONFIG" in str(caught.value)


def test_musicbot_config_names_the_file_to_read(tmp_path: Path) -> None:
    named = tmp_path / "elsewhere.toml"
    named.write_text("musicbot_http_port = 9100\n")
    (tmp_path / "default.toml").write_text("musicbot_http_port = 9200\n")
    config = load_config({"MUSICBOT_CONFIG": str(named)}, toml_path=tmp_path / "default.toml")
    assert config.http_port == 9100


def test_musicbot_config_naming_a_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a folder, not a settings file"):
        load_config({"MUSICBOT_CONFIG": str(tmp_path)})


def test_an_unknown_key_in_the_file_names_the_nearest_setting(tmp_path: Path) -> None:
    toml = tmp_path / "musicbot.toml"
    toml.write_text("musicbot_http_prot = 9000\n")
    with pytest.raises(ConfigError) as caught:
        load_config({}, toml_path=toml)
    assert str(caught.value) == f"{toml}: unknown setting 'musicbot_http_prot'; did you mean 'musicbot_http_port'?"


def test_every_unknown_key_is_named_at_once_and_far_off_ones_list_the_settings(tmp_path: Path) -> None:
    toml = tmp_path / "musicbot.toml"
    toml.write_text('discord_tokne = "x"\ncolour = "blue"\n')
    with pytest.raises(ConfigError) as caught:
        load_config({}, toml_path=toml)
    message = str(caught.value)
    assert "unknown setting 'discord_tokne'; did you mean 'discord_token'?" in message
    assert "unknown setting 'colour'; known settings: discord_token, database_url, " in message
    assert "musicbot_config" not in message  # not a file setting, so not offered


def test_musicbot_config_cannot_be_set_in_the_file(tmp_path: Path) -> None:
    toml = tmp_path / "musicbot.toml"
    toml.write_text('musicbot_config = "other.toml"\n')
    with pytest.raises(ConfigError, match="'musicbot_config' can only be set in the environment"):
        load_config({}, toml_path=toml)


def test_an_unknown_musicbot_variable_in_the_environment_names_the_nearest_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"MUSICBOT_HTTP_PROT": "9000"}, toml_path=tmp_path / "absent.toml")
    assert str(caught.value).startswith(
        "environment: unknown setting 'MUSICBOT_HTTP_PROT'; did you mean 'MUSICBOT_HTTP_PORT'?"
    )


def test_other_programs_variables_and_the_test_and_build_knobs_are_left_alone(tmp_path: Path) -> None:
    env = {"HOME": "/root", "HTTP_PORT": "1", "DISCORD_TOKEN_FILE": "x", "MUSICBOT_TEST_POSTGRES": "postgresql://x",
           "MUSICBOT_FUZZ_SEED": "7", "MUSICBOT_BINARY_DENO": "0", "MUSICBOT_UNUSED": ""}
    config = load_config(env, toml_path=tmp_path / "absent.toml")
    assert config.http_port == 8080 and config.discord_token is None


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"MUSICBOT_SNAPSHOT_INTERVAL": "0.5"}, (0.5, 86_400.0)),
        ({"MUSICBOT_SNAPSHOT_INTERVAL": "30s"}, (30.0, 86_400.0)),
        ({"MUSICBOT_SNAPSHOT_INTERVAL": "1m"}, (60.0, 86_400.0)),
        ({"MUSICBOT_SNAPSHOT_MAX_AGE": "12h"}, (2.0, 43_200.0)),
        ({"MUSICBOT_SNAPSHOT_MAX_AGE": "7d"}, (2.0, 604_800.0)),
        ({"MUSICBOT_SNAPSHOT_MAX_AGE": "0"}, (2.0, 0.0)),
    ],
)
def test_durations_take_units(tmp_path: Path, env: dict[str, str], expected: tuple[float, float]) -> None:
    config = load_config(env, toml_path=tmp_path / "absent.toml")
    assert (config.snapshot_interval_s, config.snapshot_max_age_s) == expected


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"MUSICBOT_SNAPSHOT_INTERVAL": "soon"}, "MUSICBOT_SNAPSHOT_INTERVAL must be a duration like 30, 30s, 5m"),
        ({"MUSICBOT_SNAPSHOT_INTERVAL": "5x"}, "MUSICBOT_SNAPSHOT_INTERVAL must be a duration like"),
        ({"MUSICBOT_SNAPSHOT_INTERVAL": "0.1"}, "MUSICBOT_SNAPSHOT_INTERVAL must be between 0.2s and 1m"),
        ({"MUSICBOT_SNAPSHOT_INTERVAL": "2h"}, "MUSICBOT_SNAPSHOT_INTERVAL must be between 0.2s and 1m"),
        ({"MUSICBOT_SNAPSHOT_MAX_AGE": "-1d"}, "MUSICBOT_SNAPSHOT_MAX_AGE must be between 0s and 365d"),
        ({"MUSICBOT_SNAPSHOT_MAX_AGE": "nan"}, "MUSICBOT_SNAPSHOT_MAX_AGE must be between"),
        ({"MUSICBOT_SNAPSHOT_MAX_AGE": "1 week"}, "MUSICBOT_SNAPSHOT_MAX_AGE must be a duration like"),
    ],
)
def test_bad_durations_name_the_variable(tmp_path: Path, env: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(env, toml_path=tmp_path / "absent.toml")
    assert words in str(caught.value)


def test_a_bad_duration_in_the_file_names_the_setting(tmp_path: Path) -> None:
    toml = tmp_path / "musicbot.toml"
    toml.write_text('musicbot_snapshot_max_age = "forever"\n')
    with pytest.raises(ConfigError, match="MUSICBOT_SNAPSHOT_MAX_AGE must be a duration like"):
        load_config({}, toml_path=toml)


def _readme_configuration_variables() -> set[str]:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]  # after header and rule
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def test_the_readme_configuration_table_lists_exactly_the_settings() -> None:
    documented = _readme_configuration_variables()
    known = {s.env for s in SETTINGS}
    assert (sorted(known - documented), sorted(documented - known)) == ([], [])


def test_the_telegram_bridge_is_off_by_default_and_on_with_a_token() -> None:
    off = load_config({})
    assert (off.telegram_token, off.telegram_api_base) == (None, "https://api.telegram.org")
    on = load_config({"TELEGRAM_TOKEN": " 123456:AAAA-bbbb_CCCCdddd1234567890 ",
                      "TELEGRAM_API_BASE": "http://127.0.0.1:8081/"})
    assert (on.telegram_token, on.telegram_api_base) == ("123456:AAAA-bbbb_CCCCdddd1234567890",
                                                         "http://127.0.0.1:8081")


def test_outside_services_default_to_the_public_ones_and_take_a_mirror() -> None:
    default = load_config({})
    assert (default.lyrics_api, default.sponsorblock_api) == ("https://lrclib.net", "https://sponsor.ajay.app")
    mirror = load_config({"MUSICBOT_LYRICS_API": "http://127.0.0.1:9000/", "MUSICBOT_SPONSORBLOCK_API":
                          "https://sb.example.org/mirror"})
    assert (mirror.lyrics_api, mirror.sponsorblock_api) == ("http://127.0.0.1:9000", "https://sb.example.org/mirror")
    with pytest.raises(ConfigError, match="MUSICBOT_LYRICS_API must be an http"):
        load_config({"MUSICBOT_LYRICS_API": "lrclib.net"})


def test_opus_settings_default_to_the_measured_choice_and_are_checked() -> None:
    config = load_config({})
    assert (config.opus_complexity, config.opus_fec, config.opus_expected_loss_pct) == (10, False, 15)
    tuned = load_config({"MUSICBOT_OPUS_COMPLEXITY": "5", "MUSICBOT_OPUS_FEC": "true",
                         "MUSICBOT_OPUS_EXPECTED_LOSS": "5"})
    assert (tuned.opus_complexity, tuned.opus_fec, tuned.opus_expected_loss_pct) == (5, True, 5)
    with pytest.raises(ConfigError, match="MUSICBOT_OPUS_COMPLEXITY must be in 0–10, got 11"):
        load_config({"MUSICBOT_OPUS_COMPLEXITY": "11"})
    with pytest.raises(ConfigError, match="MUSICBOT_OPUS_FEC must be true or false, got 'maybe'"):
        load_config({"MUSICBOT_OPUS_FEC": "maybe"})
