"""Per-guild settings (SPEC §1 ``/settings``): read with defaults, partial validated updates."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, replace
from enum import Enum
from typing import Any

import sqlalchemy as sa

from musicbot.dsp.settings import TOP_LEVEL_KEYS
from musicbot.lookups.sponsorblock import CATEGORIES as SPONSORBLOCK_CATEGORIES
from musicbot.lookups.sponsorblock import DEFAULT_CATEGORIES
from musicbot.queue.autoplay import AutoplayMode
from musicbot.storage.audit import audit_op
from musicbot.storage.columns import utcnow
from musicbot.storage.database import Database
from musicbot.storage.errors import InvalidSettingError, StorageUnavailableError
from musicbot.storage.models import GuildSettingsRow
from musicbot.storage.upsert import upsert
from musicbot.storage.validation import check_bool, check_float, check_int, check_snowflake, describe

log = logging.getLogger(__name__)

# Names a guild can allow or forbid in ``allowed_filters`` (the Lavalink keys, plus extensions).
FILTER_NAMES: tuple[str, ...] = tuple(k for k in TOP_LEVEL_KEYS if k != "pluginFilters")
MAX_TRACK_LIMIT_S = 24 * 3600.0
DEFAULT_RETENTION_DAYS = 180
MAX_RETENTION_DAYS = 3650
DEFAULT_AUTOPLAY_MODE = AutoplayMode.MIXED
DEFAULT_ENDED_LEAVE_S = 300.0
MAX_ENDED_LEAVE_S = 24 * 3600.0


class TelegramControl(Enum):
    """Who, besides the linked chat's admins (who always may), controls the music from Telegram."""

    EVERYONE = "everyone"  # every member of the chat: view and control
    READ_ONLY = "read_only"  # members view (/np, /queue, /list); only admins control
    ADMINS = "admins"  # only admins use the bridge's commands; members just follow the mirror


@dataclass(frozen=True)
class GuildSettings:
    """A guild's settings. Defaults apply to a guild that never changed anything.

    ``max_track_s`` None means no limit; ``allowed_filters`` None means every filter is allowed.
    Volumes are percent (0–200); ``vote_skip_ratio`` is the share of listeners needed (0–1).
    ``fair_queue``: the upcoming tracks take turns by requester; ``reject_duplicates``: a track
    already playing or queued is refused; ``history_retention_days``: plays older than this are
    deleted (``storage/retention.py``); ``ended_leave_s``: after the queue ended, leave voice when
    nothing played for this long (never in 24/7); ``pause_when_alone``: pause while nobody listens
    and resume when someone comes back; ``telegram_control``: who in the linked Telegram chat may
    do what (``TelegramControl``; the chat's admins always may). Outside services (issue 19):
    ``lyrics`` (LRCLIB lookups, ``/lyrics`` and the synced line on the panel), ``sponsorblock_categories``
    (the SponsorBlock categories skipped in YouTube tracks; empty: none), ``voice_status`` (the voice
    channel's status shows the track).
    """

    guild_id: int
    dj_role_id: int | None = None
    default_volume: int = 100
    max_queue_length: int = 500
    max_track_s: float | None = None
    stay_24_7: bool = False
    announce_channel_id: int | None = None
    allowed_filters: tuple[str, ...] | None = None
    normalization: bool = True
    target_lufs: float = -14.0
    crossfade_s: float = 0.0
    autoplay_default: bool = False
    autoplay_mode: AutoplayMode = DEFAULT_AUTOPLAY_MODE
    vote_skip_ratio: float = 0.5
    fair_queue: bool = False
    reject_duplicates: bool = False
    history_retention_days: int = DEFAULT_RETENTION_DAYS
    ended_leave_s: float = DEFAULT_ENDED_LEAVE_S
    pause_when_alone: bool = True
    telegram_control: TelegramControl = TelegramControl.ADMINS
    lyrics: bool = True
    sponsorblock_categories: tuple[str, ...] = DEFAULT_CATEGORIES
    voice_status: bool = True

    def filter_allowed(self, name: str) -> bool:
        return self.allowed_filters is None or name in self.allowed_filters


SETTING_NAMES: tuple[str, ...] = tuple(f.name for f in fields(GuildSettings) if f.name != "guild_id")


def validate_guild_setting(name: str, value: object) -> object:
    """The checked (and normalized) value for setting ``name``; ``InvalidSettingError`` otherwise."""
    if name in ("dj_role_id", "announce_channel_id"):
        return check_snowflake(name, value)
    if name == "default_volume":
        return check_int(name, value, 0, 200, " %")
    if name == "max_queue_length":
        return check_int(name, value, 1, 10_000, " tracks")
    if name == "max_track_s":
        return None if value is None else check_float(name, value, 1.0, MAX_TRACK_LIMIT_S, " s")
    if name in ("stay_24_7", "normalization", "autoplay_default", "fair_queue", "reject_duplicates",
                "pause_when_alone", "lyrics", "voice_status"):
        return check_bool(name, value)
    if name == "history_retention_days":
        return check_int(name, value, 1, MAX_RETENTION_DAYS, " days")
    if name == "target_lufs":
        return check_float(name, value, -40.0, -5.0, " LUFS")
    if name == "ended_leave_s":
        return check_float(name, value, 0.0, MAX_ENDED_LEAVE_S, " s")
    if name == "crossfade_s":
        return check_float(name, value, 0.0, 12.0, " s")
    if name == "vote_skip_ratio":
        return check_float(name, value, 0.0, 1.0)
    if name == "autoplay_mode":
        return _autoplay_mode(value)
    if name == "allowed_filters":
        return _allowed_filters(value)
    if name == "telegram_control":
        return _telegram_control(value)
    if name == "sponsorblock_categories":
        return _sponsorblock_categories(value)
    raise InvalidSettingError(name, f"unknown setting; known: {', '.join(SETTING_NAMES)}")


class GuildSettingsRepo:
    """Reads and writes guild settings; keeps the last value read per guild in memory.

    Event-loop thread. When the database is down, ``get`` answers from that memory if it can
    (so DJ-role checks keep working) and raises ``StorageUnavailableError`` only otherwise.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._cache: dict[int, GuildSettings] = {}

    async def get(self, guild_id: int) -> GuildSettings:
        try:
            async with self._db.transaction() as session:
                row = await session.get(GuildSettingsRow, guild_id)
        except StorageUnavailableError:
            if guild_id in self._cache:
                return self._cache[guild_id]
            raise
        settings = GuildSettings(guild_id) if row is None else _from_row(row)
        self._cache[guild_id] = settings
        return settings

    async def update(self, guild_id: int, *, actor_id: int | None = None, **changes: object) -> GuildSettings:
        """Change some settings; all are validated before anything is written.

        With ``actor_id`` (the admin's user id) the change is recorded in the audit log, in the
        same transaction. Returns the settings after the change.
        """
        checked: dict[str, Any] = {name: validate_guild_setting(name, value) for name, value in changes.items()}
        async with self._db.transaction() as session:
            row = await session.get(GuildSettingsRow, guild_id)
            before = GuildSettings(guild_id) if row is None else _from_row(row)
            after = replace(before, **checked)
            if checked:
                values = _to_row_values(after)
                await upsert(session, GuildSettingsRow, values, ["guild_id"],
                             update=[*checked, "updated_at"])
                if actor_id is not None:
                    diff = {name: [_jsonable(getattr(before, name)), _jsonable(getattr(after, name))]
                            for name in checked}
                    await audit_op(guild_id, actor_id, "settings.update", diff)(session)
        self._cache[guild_id] = after
        return after

    async def reset(self, guild_id: int, *, actor_id: int | None = None) -> GuildSettings:
        """Back to the defaults (deletes the row)."""
        async with self._db.transaction() as session:
            await session.execute(sa.delete(GuildSettingsRow).where(GuildSettingsRow.guild_id == guild_id))
            if actor_id is not None:
                await audit_op(guild_id, actor_id, "settings.reset", {})(session)
        self._cache.pop(guild_id, None)
        return GuildSettings(guild_id)


def _autoplay_mode(value: object) -> AutoplayMode:
    if isinstance(value, AutoplayMode):
        return value
    try:
        return AutoplayMode(str(value).lower())
    except ValueError:
        allowed = ", ".join(m.value for m in AutoplayMode)
        raise InvalidSettingError("autoplay_mode", f"must be one of {allowed}, got {describe(value)}") from None


def _telegram_control(value: object) -> TelegramControl:
    if isinstance(value, TelegramControl):
        return value
    try:
        return TelegramControl(str(value).lower())
    except ValueError:
        allowed = ", ".join(c.value for c in TelegramControl)
        raise InvalidSettingError("telegram_control", f"must be one of {allowed}, got {describe(value)}") from None


def _allowed_filters(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidSettingError("allowed_filters", f"must be a list of filter names, got {describe(value)}")
    names: list[str] = list(value)
    for name in names:
        if name not in FILTER_NAMES:
            raise InvalidSettingError(
                "allowed_filters", f"{describe(name)} is not a filter; known: {', '.join(FILTER_NAMES)}"
            )
    return tuple(sorted(set(names)))


def _jsonable(value: object) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    return value


def _to_row_values(settings: GuildSettings) -> dict[str, Any]:
    # Columns and dataclass fields share their names.
    values = {k: _jsonable(v) for k, v in asdict(settings).items()}
    values["updated_at"] = utcnow()
    return values


def _from_row(row: GuildSettingsRow) -> GuildSettings:
    return GuildSettings(
        guild_id=row.guild_id,
        dj_role_id=row.dj_role_id,
        default_volume=row.default_volume,
        max_queue_length=row.max_queue_length,
        max_track_s=row.max_track_s,
        stay_24_7=row.stay_24_7,
        announce_channel_id=row.announce_channel_id,
        allowed_filters=None if row.allowed_filters is None else tuple(str(n) for n in row.allowed_filters),
        normalization=row.normalization,
        target_lufs=row.target_lufs,
        crossfade_s=row.crossfade_s,
        autoplay_default=row.autoplay_default,
        # A mode a newer version stored and this one doesn't know falls back to the default.
        autoplay_mode=_mode_or_default(row.autoplay_mode),
        vote_skip_ratio=row.vote_skip_ratio,
        fair_queue=row.fair_queue,
        reject_duplicates=row.reject_duplicates,
        history_retention_days=row.history_retention_days,
        ended_leave_s=row.ended_leave_s,
        pause_when_alone=row.pause_when_alone,
        telegram_control=_control_or_default(row.telegram_control),
        lyrics=row.lyrics,
        # NULL: never chosen, the default categories; a category a newer version knows is dropped.
        sponsorblock_categories=DEFAULT_CATEGORIES if row.sponsorblock_categories is None else tuple(
            sorted(str(c) for c in row.sponsorblock_categories if c in SPONSORBLOCK_CATEGORIES)),
        voice_status=row.voice_status,
    )


def _sponsorblock_categories(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidSettingError("sponsorblock_categories", f"must be a list of categories, got {describe(value)}")
    names: list[object] = list(value)
    for name in names:
        if name not in SPONSORBLOCK_CATEGORIES:
            raise InvalidSettingError("sponsorblock_categories", f"{describe(name)} is not a SponsorBlock "
                                      f"category; known: {', '.join(SPONSORBLOCK_CATEGORIES)}")
    return tuple(sorted({str(n) for n in names}))


def _mode_or_default(value: str) -> AutoplayMode:
    try:
        return AutoplayMode(value)
    except ValueError:
        log.warning("unknown autoplay mode %r in the database; using the default", value)
        return DEFAULT_AUTOPLAY_MODE


def _control_or_default(value: str) -> TelegramControl:
    try:
        return TelegramControl(value)
    except ValueError:  # a value a newer version stored: the safest reading
        log.warning("unknown telegram_control %r in the database; using admins", value)
        return TelegramControl.ADMINS
