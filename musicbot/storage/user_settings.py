"""Per-user settings (SPEC §1 ``/me``): default volume, preferred filters, autoplay."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from musicbot.dsp.settings import parse_filters, settings_to_json
from musicbot.errors import FilterConfigError
from musicbot.storage.columns import utcnow
from musicbot.storage.database import Database
from musicbot.storage.errors import InvalidSettingError
from musicbot.storage.models import UserSettingsRow
from musicbot.storage.upsert import upsert
from musicbot.storage.validation import check_bool, check_int

USER_SETTING_NAMES = ("default_volume", "preferred_filters", "autoplay")


@dataclass(frozen=True)
class UserSettings:
    """A user's own preferences; None means "use the guild's".

    ``default_volume`` is percent (0–200). ``preferred_filters`` is a Lavalink-style filters
    object (validated and normalized, see ``musicbot.dsp.settings``); treat it as read-only.
    """

    user_id: int
    default_volume: int | None = None
    preferred_filters: dict[str, Any] | None = None
    autoplay: bool | None = None


def validate_user_setting(name: str, value: object) -> object:
    if value is None and name in USER_SETTING_NAMES:
        return None
    if name == "default_volume":
        return check_int(name, value, 0, 200, " %")
    if name == "autoplay":
        return check_bool(name, value)
    if name == "preferred_filters":
        try:
            return settings_to_json(parse_filters(value))
        except FilterConfigError as err:
            raise InvalidSettingError(f"preferred_filters.{err.field}", err.problem) from None
    raise InvalidSettingError(name, f"unknown setting; known: {', '.join(USER_SETTING_NAMES)}")


class UserSettingsRepo:
    """Event-loop thread."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, user_id: int) -> UserSettings:
        async with self._db.transaction() as session:
            row = await session.get(UserSettingsRow, user_id)
        return UserSettings(user_id) if row is None else _from_row(row)

    async def update(self, user_id: int, **changes: object) -> UserSettings:
        """Change some settings (None unsets one); all are validated before anything is written."""
        checked: dict[str, Any] = {name: validate_user_setting(name, value) for name, value in changes.items()}
        async with self._db.transaction() as session:
            row = await session.get(UserSettingsRow, user_id)
            after = replace(UserSettings(user_id) if row is None else _from_row(row), **checked)
            if checked:
                values = {
                    "user_id": user_id, "default_volume": after.default_volume,
                    "preferred_filters": after.preferred_filters, "autoplay": after.autoplay,
                    "updated_at": utcnow(),
                }
                await upsert(session, UserSettingsRow, values, ["user_id"], update=[*checked, "updated_at"])
        return after


def _from_row(row: UserSettingsRow) -> UserSettings:
    return UserSettings(
        user_id=row.user_id, default_volume=row.default_volume,
        preferred_filters=None if row.preferred_filters is None else dict(row.preferred_filters),
        autoplay=row.autoplay,
    )
