"""Settings from environment variables and an optional TOML file, validated once at start.

The TOML file (``musicbot.toml`` in the working folder, or the path in ``MUSICBOT_CONFIG``)
uses the same names in lower case; an environment variable wins over the file. Every error
names the variable and says what a valid value looks like. ``SETTINGS`` is the one list of
known names: a key the file has, or a ``MUSICBOT_*`` variable the environment has, that is not
in it is an error naming the nearest known one (a typo would otherwise leave a default in force
without a word). This module imports nothing heavy: ``musicbot run`` reads it before the bot.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from musicbot.errors import ConfigError

LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("pretty", "json")
DEFAULT_TOML = Path("musicbot.toml")
TELEGRAM_API_DEFAULT = "https://api.telegram.org"
LYRICS_API_DEFAULT = "https://lrclib.net"
SPONSORBLOCK_API_DEFAULT = "https://sponsor.ajay.app"


@dataclass(frozen=True)
class Setting:
    """One setting as a user writes it: ``env`` in the environment, ``env.lower()`` in the file."""

    env: str
    meaning: str
    default: str  # as the README shows it
    in_file: bool = True  # False: only the environment can set it

    @property
    def key(self) -> str:
        """The name in ``musicbot.toml``."""
        return self.env.lower()


# The README's configuration table lists exactly these (tests/test_config.py checks it).
# A new setting is one row here, one field on Config and one line in load_config.
SETTINGS: tuple[Setting, ...] = (
    Setting("DISCORD_TOKEN", "bot token", "required for `run` and `sync`"),
    Setting("DATABASE_URL", "`sqlite+aiosqlite:///path` or `postgresql+asyncpg://...`", "`./data/musicbot.db`"),
    Setting("MUSICBOT_CONFIG", "path of the TOML settings file (environment only); must exist when set",
            "`./musicbot.toml` if present", in_file=False),
    Setting("MUSICBOT_DATA_DIR", "data folder", "`./data`"),
    Setting("MUSICBOT_HTTP_HOST", "address `/health`, `/ready` and `/metrics` listen on",
            "`127.0.0.1` (Docker image: `0.0.0.0`)"),
    Setting("MUSICBOT_HTTP_PORT", "port of `/health`, `/ready` and `/metrics` (0 = off)", "8080"),
    Setting("MUSICBOT_LOG_LEVEL", "`debug`, `info`, `warning` or `error`", "`info`"),
    Setting("MUSICBOT_LOG_FORMAT", "`pretty` or `json`", "`pretty`"),
    Setting("SPOTIFY_CLIENT_ID", "Spotify support (with the secret)", "unset"),
    Setting("SPOTIFY_CLIENT_SECRET", "Spotify support (with the id)", "unset"),
    Setting("MUSICBOT_MUSIC_DIR", "local music folder", "unset (off)"),
    Setting("MUSICBOT_ALLOWED_HOSTS", "hosts/CIDRs exempt from the private-address guard", "empty"),
    Setting("MUSICBOT_YTDLP_COOKIES", "cookies file for yt-dlp", "unset"),
    Setting("SHARD_COUNT", "number of shards", "automatic"),
    Setting("SHARD_IDS", "shards this process runs, e.g. `0,1` (needs `SHARD_COUNT`)", "all"),
    Setting("DISCORD_API_BASE", "REST API base URL (a proxy)", "`https://discord.com/api/v10`"),
    Setting("DISCORD_GATEWAY_URL", "gateway URL (a proxy)", "Discord's"),
    Setting("MUSICBOT_DEV_GUILD", "guild to sync commands to while developing", "unset"),
    Setting("MUSICBOT_SNAPSHOT_INTERVAL", "a playing guild's state is saved at least this often "
            "(`30`, `30s`, `5m`; 0.2 s to 60 s)", "`2s`"),
    Setting("MUSICBOT_SNAPSHOT_MAX_AGE", "older saved states are not resumed at start (`12h`, `1d`)", "`1d`"),
    Setting("MUSICBOT_OPUS_COMPLEXITY", "Opus encoder complexity, 0–10 (5: ~40 % less CPU per filtered "
            "stream, slightly lower quality; docs/benchmarks.md)", "10"),
    Setting("MUSICBOT_OPUS_FEC", "Opus in-band forward error correction, `true`/`false` (on: hybrid "
            "SILK+CELT frames, ~2.4× the encoding CPU, worse music at every loss rate measured)", "`false`"),
    Setting("MUSICBOT_OPUS_EXPECTED_LOSS", "packet loss the encoder plans for, 0–100 %", "15"),
    Setting("MUSICBOT_WEB_URL", "the dashboard's public address, e.g. `https://music.example.org` (with the "
            "two below: Discord login; the redirect URL to register is this + `/auth/callback`)", "unset (off)"),
    Setting("DISCORD_CLIENT_ID", "the application's OAuth2 client id (dashboard login)", "unset"),
    Setting("DISCORD_CLIENT_SECRET", "the application's OAuth2 client secret (dashboard login)", "unset"),
    Setting("REDIS_URL", "Redis for several processes (`redis://host:6379/0`): commands and live updates "
            "reach the process that runs a guild's shard; see Scaling out", "unset (one process)"),
    Setting("MUSICBOT_REDIS_PREFIX", "what every Redis key and channel of this bot starts with (several bots "
            "on one Redis: one prefix each)", "`musicbot:`"),
    Setting("TELEGRAM_TOKEN", "the Telegram bot's token from @BotFather: turns the Telegram bridge on (see "
            "Telegram)", "unset (off)"),
    Setting("TELEGRAM_API_BASE", "Telegram Bot API server (a local `telegram-bot-api`, or tests)",
            "`https://api.telegram.org`"),
    Setting("MUSICBOT_LYRICS_API", "LRCLIB server for `/lyrics` and synced lyrics (a mirror, or tests)",
            f"`{LYRICS_API_DEFAULT}`"),
    Setting("MUSICBOT_SPONSORBLOCK_API", "SponsorBlock server whose segments are skipped in YouTube tracks "
            "(a mirror, or tests)", f"`{SPONSORBLOCK_API_DEFAULT}`"),
)
_BY_KEY = {s.key: s for s in SETTINGS}
# Variables of our prefix that are not the bot's settings: knobs of the test suite and of the
# binary's build (packaging/musicbot.spec), which may be set in the shell the bot starts from.
_NOT_SETTINGS_PREFIXES = ("MUSICBOT_TEST_", "MUSICBOT_FUZZ_", "MUSICBOT_BINARY_")


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
    # The encoder's settings (voice/protocol.py's OpusSettings; issue 15).
    opus_complexity: int = 10
    opus_fec: bool = False
    opus_expected_loss_pct: int = 15
    # The dashboard (issue 16): on when all three are set.
    web_url: str | None = None
    discord_client_id: str | None = None
    discord_client_secret: str | None = None
    # Scaling out (issue 17): the bus between processes; None: everything in this one.
    redis_url: str | None = None
    redis_prefix: str = "musicbot:"
    # The Telegram bridge (issue 18): on when the token is set.
    telegram_token: str | None = None
    telegram_api_base: str = TELEGRAM_API_DEFAULT
    # Outside services (issue 19): base URLs, so a mirror (or a test's fake) can stand in.
    lyrics_api: str = LYRICS_API_DEFAULT
    sponsorblock_api: str = SPONSORBLOCK_API_DEFAULT

    @property
    def dashboard_on(self) -> bool:
        return bool(self.web_url and self.discord_client_id and self.discord_client_secret)

    def require_token(self) -> str:
        if not self.discord_token:
            raise ConfigError(
                "DISCORD_TOKEN is not set: create a bot at https://discord.com/developers/applications, "
                "copy its token and run `export DISCORD_TOKEN=...` (or put discord_token in musicbot.toml)"
            )
        return self.discord_token


def load_config(env: Mapping[str, str] | None = None, toml_path: Path | None = None) -> Config:
    """Read and validate all settings. Raises ``ConfigError`` naming the first bad setting.

    ``env`` defaults to ``os.environ``. ``toml_path`` is where to look for the file when
    ``MUSICBOT_CONFIG`` is not set (default ``./musicbot.toml``); only that default location may
    be absent: a file ``MUSICBOT_CONFIG`` names must exist.
    """
    environ = dict(os.environ if env is None else env)
    _check_environment_names(environ)
    values = _read_file(environ, toml_path)
    values.update({k.lower(): v for k, v in environ.items() if v != "" and k.lower() in _BY_KEY})

    def get(key: str, default: object = None) -> object:
        assert key in _BY_KEY, f"{key} is read but missing from SETTINGS"
        return values.get(key, default)

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
        opus_complexity=_int_or("MUSICBOT_OPUS_COMPLEXITY", get("musicbot_opus_complexity"), 10, low=0, high=10),
        opus_fec=_bool("MUSICBOT_OPUS_FEC", get("musicbot_opus_fec"), default=False),
        opus_expected_loss_pct=_int_or("MUSICBOT_OPUS_EXPECTED_LOSS", get("musicbot_opus_expected_loss"), 15,
                                       low=0, high=100),
        **_dashboard(get("musicbot_web_url"), get("discord_client_id"), get("discord_client_secret")),
        redis_url=_redis_url(get("redis_url")),
        redis_prefix=_redis_prefix(get("musicbot_redis_prefix")),
        telegram_token=_telegram_token(get("telegram_token")),
        telegram_api_base=_telegram_api_base(get("telegram_api_base")),
        lyrics_api=_base_url("MUSICBOT_LYRICS_API", get("musicbot_lyrics_api"), LYRICS_API_DEFAULT),
        sponsorblock_api=_base_url("MUSICBOT_SPONSORBLOCK_API", get("musicbot_sponsorblock_api"),
                                   SPONSORBLOCK_API_DEFAULT),
    )


def _check_environment_names(environ: Mapping[str, str]) -> None:
    """Our prefix is ours: a ``MUSICBOT_*`` variable that is no setting is a typo. Other
    variables belong to other programs and are none of our business."""
    unknown = [
        name for name, value in environ.items()
        if name.upper().startswith("MUSICBOT_") and value != ""
        and not name.upper().startswith(_NOT_SETTINGS_PREFIXES) and name.lower() not in _BY_KEY
    ]
    if unknown:
        names = [s.env for s in SETTINGS]
        raise ConfigError("; ".join(
            f"environment: unknown setting {name!r}{_nearest(name.upper(), names)} (unset it if it is not for musicbot)"
            for name in sorted(unknown)
        ))


def settings_file(env: Mapping[str, str] | None = None, default: Path | None = None) -> Path:
    """The TOML file ``load_config`` reads: ``MUSICBOT_CONFIG``, else ``default`` (``./musicbot.toml``)."""
    named = (os.environ if env is None else env).get("MUSICBOT_CONFIG", "")
    return Path(named).expanduser() if named else (default or DEFAULT_TOML)


def _read_file(environ: Mapping[str, str], default: Path | None) -> dict[str, object]:
    named = environ.get("MUSICBOT_CONFIG", "")
    path = settings_file(environ, default)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        if not named:
            return {}  # the default location is optional
        raise ConfigError(
            f"MUSICBOT_CONFIG={named}: no such file: create it (settings in lower case, e.g. "
            'musicbot_log_level = "debug") or unset MUSICBOT_CONFIG'
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a folder, not a settings file: point MUSICBOT_CONFIG at a .toml file") from None
    except OSError as err:
        raise ConfigError(f"cannot read the settings file {path}: {err.strerror or err}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path} is not valid TOML: {err}") from None
    problems = [_file_key_problem(path, str(key)) for key in data]
    if any(problems):
        raise ConfigError("; ".join(p for p in problems if p))
    return {str(k).lower(): v for k, v in data.items()}


def _file_key_problem(path: Path, key: str) -> str | None:
    setting = _BY_KEY.get(key.lower())
    if setting is None:
        return f"{path}: unknown setting {key!r}{_nearest(key.lower(), [s.key for s in SETTINGS if s.in_file])}"
    if not setting.in_file:
        return f"{path}: {key!r} can only be set in the environment ({setting.env})"
    return None


def _nearest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else f"; known settings: {', '.join(known)}"


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


def _dashboard(url: object, client_id: object, secret: object) -> dict[str, str | None]:
    """All three dashboard settings or none: half a login set up is a mistake worth saying."""
    values = {"web_url": _str(url), "discord_client_id": _str(client_id), "discord_client_secret": _str(secret)}
    names = {"web_url": "MUSICBOT_WEB_URL", "discord_client_id": "DISCORD_CLIENT_ID",
             "discord_client_secret": "DISCORD_CLIENT_SECRET"}
    missing = [names[k] for k, v in values.items() if v is None]
    if missing and len(missing) < 3:
        raise ConfigError(f"the dashboard needs {', '.join(missing)} too (or unset the others to keep it off): "
                          "the id and secret are on the application's OAuth2 page at https://discord.com/developers")
    web_url = values["web_url"]
    if web_url is not None:
        if not re.fullmatch(r"https?://[^/\s?#]+(/[^\s?#]*)?", web_url):
            raise ConfigError("MUSICBOT_WEB_URL must be an http(s) address like https://music.example.org, "
                              f"got {web_url!r}")
        values["web_url"] = web_url.rstrip("/")
    client_id = values["discord_client_id"]
    if client_id is not None and not client_id.isdigit():
        raise ConfigError(f"DISCORD_CLIENT_ID is the application's numeric id, got {client_id!r}")
    return values


def _int_or(name: str, value: object, default: int, *, low: int, high: int) -> int:
    number = _int(name, value, low=low, high=high)
    return default if number is None else number


def _bool(name: str, value: object, *, default: bool) -> bool:
    if value in (None, ""):
        return default
    if isinstance(value, bool):  # from the TOML file
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {value!r}")


def _seconds(name: str, value: object, default: float, *, low: float, high: float) -> float:
    """Seconds as a number (``90``, ``0.5``) or with one unit suffix: ``s``, ``m``, ``h``, ``d``."""
    if value in (None, ""):
        return default
    text = str(value).strip().lower()
    scale = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0}.get(text[-1:])
    try:
        number = float(text[:-1] if scale else text) * (scale or 1.0)
    except ValueError:
        raise ConfigError(f"{name} must be a duration like 30, 30s, 5m, 12h or 1d, got {value!r}") from None
    if not low <= number <= high:
        raise ConfigError(f"{name} must be between {_duration(low)} and {_duration(high)}, got {value!r}")
    return number


def _duration(seconds: float) -> str:
    """Seconds in the largest unit ``_seconds`` reads that divides them: 60 -> 1m, 86400 -> 1d."""
    for suffix, scale in (("d", 86_400.0), ("h", 3600.0), ("m", 60.0)):
        if seconds and seconds % scale == 0:
            return f"{seconds / scale:g}{suffix}"
    return f"{seconds:g}s"


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


def _redis_url(value: object) -> str | None:
    url = _str(value)
    if url is not None and not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"REDIS_URL={_redact(url)} is not a Redis address: use redis://host:6379/0 "
                          "(rediss:// for TLS, unix:///path/to/redis.sock)")
    return url


def _redis_prefix(value: object) -> str:
    prefix = _str(value) or "musicbot:"
    if len(prefix) > 100 or any(c.isspace() or c in "*?[]" for c in prefix):
        raise ConfigError(f"MUSICBOT_REDIS_PREFIX={prefix[:100]!r}: use up to 100 characters without spaces or "
                          "the pattern characters * ? [ ] (e.g. musicbot-prod:)")
    return prefix


def _telegram_token(value: object) -> str | None:
    token = _str(value)
    # @BotFather's tokens are "<bot id>:<35 characters>"; checked here so a pasted fragment is told at
    # start, not as an endless "token rejected" later. The token itself is never echoed.
    if token is not None and not re.fullmatch(r"\d{1,20}:[A-Za-z0-9_-]{20,100}", token.strip()):
        raise ConfigError("TELEGRAM_TOKEN does not look like a Telegram bot token (digits, a colon, then about "
                          "35 letters, digits, - or _): copy it again from @BotFather (/mybots → API Token)")
    return None if token is None else token.strip()


def _telegram_api_base(value: object) -> str:
    base = _str(value) or TELEGRAM_API_DEFAULT
    if not re.fullmatch(r"https?://[^/\s?#]+(/[^\s?#]*)?", base):
        raise ConfigError(f"TELEGRAM_API_BASE must be an http(s) address like {TELEGRAM_API_DEFAULT}, got "
                          f"{base[:100]!r}")
    return base.rstrip("/")


def _base_url(name: str, value: object, default: str) -> str:
    base = _str(value) or default
    if not re.fullmatch(r"https?://[^/\s?#]+(/[^\s?#]*)?", base):
        raise ConfigError(f"{name} must be an http(s) address like {default}, got {base[:100]!r}")
    return base.rstrip("/")


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
