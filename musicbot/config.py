"""Settings from environment variables and an optional TOML file, validated once at start.

The TOML file (``musicbot.toml`` in the working folder, or the path in ``MUSICBOT_CONFIG``)
uses the same names in lower case; an environment variable wins over the file. Every error
names the variable and says what a valid value looks like.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from musicbot.errors import ConfigError

LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("pretty", "json")


@dataclass(frozen=True)
class Config:
    discord_token: str | None
    database_url: str
    data_dir: Path
    http_port: int
    log_level: str
    log_format: str
    spotify_client_id: str | None
    spotify_client_secret: str | None
    music_dir: Path | None
    allowed_hosts: tuple[str, ...]
    ytdlp_cookies: Path | None
    shard_count: int | None
    shard_ids: tuple[int, ...] | None
    discord_api_base: str | None
    discord_gateway_url: str | None
    dev_guild: int | None
    # Added for operations (issue 13); defaults keep older constructions valid.
    http_host: str = "127.0.0.1"
    snapshot_interval_s: float = 2.0  # while playing, a guild's snapshot is written at least this often
    snapshot_max_age_s: float = 86_400.0  # older snapshots are not resumed at start

    def require_token(self) -> str:
        if not self.discord_token:
            raise ConfigError(
                "DISCORD_TOKEN is not set: create a bot at https://discord.com/developers/applications, "
                "copy its token and run `export DISCORD_TOKEN=...` (or put discord_token in musicbot.toml)"
            )
        return self.discord_token


def load_config(env: Mapping[str, str] | None = None, toml_path: Path | None = None) -> Config:
    """Read and validate all settings. Raises ``ConfigError`` naming the first bad variable."""
    environ = dict(os.environ if env is None else env)
    values = _read_toml(toml_path or _default_toml(environ))
    values.update({k.lower(): v for k, v in environ.items() if v != ""})
    get = values.get

    data_dir = Path(str(get("musicbot_data_dir", "./data"))).expanduser()
    database_url = str(get("database_url") or f"sqlite+aiosqlite:///{(data_dir / 'musicbot.db').as_posix()}")
    if not database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ConfigError(
            f"DATABASE_URL={_redact(database_url)} is not supported: use sqlite+aiosqlite:///path/to/file.db "
            "or postgresql+asyncpg://user:password@host/dbname"
        )
    shard_ids = _int_list("SHARD_IDS", get("shard_ids"))
    shard_count = _int("SHARD_COUNT", get("shard_count"), low=1)
    if shard_ids is not None and shard_count is None:
        raise ConfigError("SHARD_IDS is set but SHARD_COUNT is not: set both, e.g. SHARD_COUNT=4 SHARD_IDS=0,1")
    if shard_ids and shard_count and max(shard_ids) >= shard_count:
        raise ConfigError(f"SHARD_IDS must be below SHARD_COUNT={shard_count}, got {max(shard_ids)}")
    return Config(
        discord_token=_str(get("discord_token")),
        database_url=database_url,
        data_dir=data_dir,
        http_port=_int("MUSICBOT_HTTP_PORT", get("musicbot_http_port", 8080), low=0, high=65535) or 0,
        log_level=_choice("MUSICBOT_LOG_LEVEL", get("musicbot_log_level", "info"), LOG_LEVELS),
        log_format=_choice("MUSICBOT_LOG_FORMAT", get("musicbot_log_format", "pretty"), LOG_FORMATS),
        spotify_client_id=_str(get("spotify_client_id")),
        spotify_client_secret=_str(get("spotify_client_secret")),
        music_dir=_dir("MUSICBOT_MUSIC_DIR", get("musicbot_music_dir")),
        allowed_hosts=_hosts(get("musicbot_allowed_hosts")),
        ytdlp_cookies=_file("MUSICBOT_YTDLP_COOKIES", get("musicbot_ytdlp_cookies")),
        shard_count=shard_count,
        shard_ids=shard_ids,
        discord_api_base=_str(get("discord_api_base")),
        discord_gateway_url=_str(get("discord_gateway_url")),
        dev_guild=_int("MUSICBOT_DEV_GUILD", get("musicbot_dev_guild"), low=1),
        http_host=str(get("musicbot_http_host", "127.0.0.1")),
        snapshot_interval_s=_seconds("MUSICBOT_SNAPSHOT_INTERVAL", get("musicbot_snapshot_interval"), 2.0,
                                     low=0.2, high=60.0),
        snapshot_max_age_s=_seconds("MUSICBOT_SNAPSHOT_MAX_AGE", get("musicbot_snapshot_max_age"), 86_400.0,
                                    low=0.0, high=365 * 86_400.0),
    )


def _default_toml(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("MUSICBOT_CONFIG", "musicbot.toml"))


def _read_toml(path: Path) -> dict[str, object]:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            return {str(k).lower(): v for k, v in tomllib.load(fh).items()}
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path} is not valid TOML: {err}") from None


def _str(value: object) -> str | None:
    return None if value in (None, "") else str(value)


def _int(name: str, value: object, *, low: int | None = None, high: int | None = None) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value))
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"{low if low is not None else '…'}–{high if high is not None else '…'}"
        raise ConfigError(f"{name} must be in {bounds}, got {number}")
    return number


def _seconds(name: str, value: object, default: float, *, low: float, high: float) -> float:
    """Seconds as a number (``90``, ``0.5``) or with one unit suffix: ``s``, ``m``, ``h``, ``d``."""
    if value in (None, ""):
        return default
    text = str(value).strip().lower()
    scale = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0}.get(text[-1:], None)
    try:
        number = float(text[:-1] if scale else text) * (scale or 1.0)
    except ValueError:
        raise ConfigError(f"{name} must be a duration like 30, 30s, 5m, 12h or 1d, got {value!r}") from None
    if not low <= number <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g} seconds, got {value!r}")
    return number


def _int_list(name: str, value: object) -> tuple[int, ...] | None:
    if value in (None, ""):
        return None
    items = value if isinstance(value, list) else str(value).replace(" ", "").split(",")
    try:
        return tuple(int(str(x)) for x in items if str(x) != "")
    except ValueError:
        raise ConfigError(f"{name} must be comma-separated whole numbers like 0,1,2, got {value!r}") from None


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> str:
    text = str(value).lower()
    if text not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return text


def _dir(name: str, value: object) -> Path | None:
    if value in (None, ""):
        return None
    path = Path(str(value)).expanduser()
    if not path.is_dir():
        raise ConfigError(f"{name}={path} is not a folder: create it or unset {name}")
    return path.resolve()


def _file(name: str, value: object) -> Path | None:
    if value in (None, ""):
        return None
    path = Path(str(value)).expanduser()
    if not path.is_file():
        raise ConfigError(f"{name}={path} does not exist: export the cookies file there or unset {name}")
    return path


def _hosts(value: object) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    items = value if isinstance(value, list) else str(value).split(",")
    hosts = tuple(str(h).strip() for h in items if str(h).strip())
    for host in hosts:
        if "/" in host:
            try:
                ipaddress.ip_network(host, strict=False)
            except ValueError:
                raise ConfigError(f"MUSICBOT_ALLOWED_HOSTS: {host!r} is not a valid CIDR like 10.0.0.0/8") from None
    return hosts


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
