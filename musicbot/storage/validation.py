"""Checks for setting values; each error names the setting and the allowed range."""

from __future__ import annotations

import math

from musicbot.storage.errors import InvalidSettingError


def check_int(field: str, value: object, low: int, high: int, unit: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidSettingError(field, f"must be a whole number from {low} to {high}{unit}, got {describe(value)}")
    if not low <= value <= high:
        raise InvalidSettingError(field, f"{value} is out of range; allowed: {low} to {high}{unit}")
    return value


def check_float(field: str, value: object, low: float, high: float, unit: str = "") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidSettingError(field, f"must be a number from {low:g} to {high:g}{unit}, got {describe(value)}")
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        raise InvalidSettingError(field, f"{number:g} is out of range; allowed: {low:g} to {high:g}{unit}")
    return number


def check_bool(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidSettingError(field, f"must be true or false, got {describe(value)}")
    return value


def check_snowflake(field: str, value: object, *, optional: bool = True) -> int | None:
    """A Discord id (a positive 64-bit integer), or None to unset it."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise InvalidSettingError(field, f"must be a Discord id (a positive whole number), got {describe(value)}")
    return value


def describe(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return repr(value[:30])
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    return f"a {type(value).__name__}"
