"""Lavalink-style filter JSON ⇄ ``FilterSettings``, with validation that names the bad field.

Parsing is all-or-nothing: it either returns a complete new ``FilterSettings`` or raises
``FilterConfigError`` before anything is applied. Ranges are Lavalink v4's where it has them;
where Lavalink is unbounded we set limits that keep the engine stable and say so in the error.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from musicbot.dsp import params as p
from musicbot.errors import FilterConfigError


@dataclass(frozen=True)
class FieldSpec:
    json_key: str
    attr: str
    low: float
    high: float
    low_inclusive: bool = True
    unit: str = ""  # shown by the dashboard's sliders: "Hz", "dB", "×" (a factor); "" for a plain level

    def range_text(self) -> str:
        left = "" if self.low_inclusive else "more than "
        return f"{left}{_num(self.low)} to {_num(self.high)}"

    def check(self, path: str, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FilterConfigError(path, f"must be a number ({self.range_text()}), got {_describe(value)}")
        try:
            number = float(value)
        except OverflowError:  # an int beyond float range (JSON allows any number of digits)
            raise FilterConfigError(path, f"{_describe(value)} is out of range; allowed: {self.range_text()}") from None
        too_low = number < self.low or (not self.low_inclusive and number == self.low)
        if not math.isfinite(number) or too_low or number > self.high:
            raise FilterConfigError(path, f"{_num(number)} is out of range; allowed: {self.range_text()}")
        return number


@dataclass(frozen=True)
class BlockSpec:
    json_key: str
    attr: str
    params_type: type[Any]
    fields: tuple[FieldSpec, ...]


F = FieldSpec
BLOCKS: tuple[BlockSpec, ...] = (
    BlockSpec("karaoke", "karaoke", p.KaraokeParams, (
        F("level", "level", 0.0, 1.0),
        F("monoLevel", "mono_level", 0.0, 1.0),
        F("filterBand", "filter_band_hz", 20.0, 20_000.0, unit="Hz"),
        F("filterWidth", "filter_width_hz", 1.0, 10_000.0, unit="Hz"),
    )),
    BlockSpec("timescale", "timescale", p.TimescaleParams, (
        F("speed", "speed", 0.25, 4.0, unit="×"),
        F("pitch", "pitch", 0.25, 4.0, unit="×"),
        F("rate", "rate", 0.25, 4.0, unit="×"),
    )),
    BlockSpec("tremolo", "tremolo", p.TremoloParams, (
        F("frequency", "frequency_hz", 0.0, 50.0, low_inclusive=False, unit="Hz"),
        F("depth", "depth", 0.0, 1.0, low_inclusive=False),
    )),
    BlockSpec("vibrato", "vibrato", p.VibratoParams, (
        F("frequency", "frequency_hz", 0.0, 14.0, low_inclusive=False, unit="Hz"),
        F("depth", "depth", 0.0, 1.0, low_inclusive=False),
    )),
    BlockSpec("rotation", "rotation", p.RotationParams, (
        F("rotationHz", "rotation_hz", 0.0, 5.0, unit="Hz"),
    )),
    BlockSpec("distortion", "distortion", p.DistortionParams, tuple(
        F(key, attr, -100.0, 100.0) for key, attr in (
            ("sinOffset", "sin_offset"), ("sinScale", "sin_scale"), ("cosOffset", "cos_offset"),
            ("cosScale", "cos_scale"), ("tanOffset", "tan_offset"), ("tanScale", "tan_scale"),
            ("offset", "offset"), ("scale", "scale"),
        )
    )),
    BlockSpec("channelMix", "channel_mix", p.ChannelMixParams, (
        F("leftToLeft", "left_to_left", 0.0, 1.0),
        F("leftToRight", "left_to_right", 0.0, 1.0),
        F("rightToLeft", "right_to_left", 0.0, 1.0),
        F("rightToRight", "right_to_right", 0.0, 1.0),
    )),
    BlockSpec("lowPass", "low_pass", p.LowPassParams, (
        F("smoothing", "smoothing", 1.0, 1000.0),
    )),
    BlockSpec("bassBoost", "bass_boost", p.BassBoostParams, (
        F("gainDb", "gain_db", 0.0, 24.0, unit="dB"),
        F("frequencyHz", "frequency_hz", 20.0, 500.0, unit="Hz"),
    )),
    BlockSpec("reverb", "reverb", p.ReverbParams, (
        F("roomSize", "room_size", 0.0, 1.0),
        F("damping", "damping", 0.0, 1.0),
        F("wetLevel", "wet_level", 0.0, 1.0),
        F("dryLevel", "dry_level", 0.0, 1.0),
        F("width", "width", 0.0, 1.0),
    )),
)
VOLUME = F("volume", "volume", 0.0, 5.0, unit="×")
EQ_BAND = F("band", "band", 0, p.EQ_BAND_COUNT - 1)
EQ_GAIN = F("gain", "gain", -0.25, 1.0)
TOP_LEVEL_KEYS = ("volume", "equalizer", *(b.json_key for b in BLOCKS), "pluginFilters")


def parse_filters(obj: object) -> p.FilterSettings:
    """Validate a Lavalink v4 ``filters`` object (plus extensions) and build the settings.

    Like Lavalink's PATCH, the object replaces every filter: a key that is absent or null is off.
    """
    if not isinstance(obj, Mapping):
        raise FilterConfigError("filters", f"must be a JSON object, got {_describe(obj)}")
    _reject_unknown("", obj, TOP_LEVEL_KEYS)
    settings = p.FilterSettings()
    if obj.get("volume") is not None:
        settings = replace(settings, volume=VOLUME.check("volume", obj["volume"]))
    if obj.get("equalizer") is not None:
        settings = replace(settings, equalizer=_parse_equalizer(obj["equalizer"]))
    plugins = obj.get("pluginFilters")
    if plugins not in (None, {}):
        raise FilterConfigError("pluginFilters", "Lavalink plugin filters are not supported; remove the key")
    for block in BLOCKS:
        raw = obj.get(block.json_key)
        if raw is not None:
            settings = replace(settings, **{block.attr: _parse_block(block, raw)})
    return settings


def parse_filters_json(text: str) -> p.FilterSettings:
    """``parse_filters`` for a JSON string; a syntax error is reported with line and column."""
    if not text.strip():
        raise FilterConfigError("filters", f"is empty; give a JSON object such as {_EXAMPLE}")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as err:
        raise FilterConfigError(
            "filters", f"not valid JSON ({err.msg} at line {err.lineno} column {err.colno})"
        ) from None
    except ValueError:  # Python refuses to read integers of more than 4300 digits (int_max_str_digits)
        raise FilterConfigError("filters", "a number in it is far too long (thousands of digits)") from None
    except RecursionError:  # json's decoder recurses once per nested list or object
        raise FilterConfigError("filters", "lists or objects are nested too deeply") from None
    return parse_filters(obj)


def settings_to_json(settings: p.FilterSettings) -> dict[str, Any]:
    """The Lavalink-style object for ``settings``; ``parse_filters`` of it gives ``settings`` back."""
    out: dict[str, Any] = {}
    if settings.volume != 1.0:
        out["volume"] = settings.volume
    bands = [{"band": i, "gain": g} for i, g in enumerate(settings.equalizer) if g != 0.0]
    if bands:
        out["equalizer"] = bands
    for block in BLOCKS:
        value = getattr(settings, block.attr)
        if value is not None:
            out[block.json_key] = {f.json_key: getattr(value, f.attr) for f in block.fields}
    return out


def merge_filters(base: p.FilterSettings, patch: object) -> p.FilterSettings:
    """Apply a partial filter object on top of ``base``: keys present replace, a null turns off.

    Used by ``/filter set`` and presets that add to what is already on. Validation is the same
    as ``parse_filters`` and equally all-or-nothing.
    """
    if not isinstance(patch, Mapping):
        raise FilterConfigError("filters", f"must be a JSON object, got {_describe(patch)}")
    current = settings_to_json(base)
    current.update(patch)
    return parse_filters(current)


def _parse_block(block: BlockSpec, raw: object) -> Any:
    if not isinstance(raw, Mapping):
        raise FilterConfigError(block.json_key, f"must be a JSON object, got {_describe(raw)}")
    _reject_unknown(block.json_key, raw, tuple(f.json_key for f in block.fields))
    values = {
        f.attr: f.check(f"{block.json_key}.{f.json_key}", raw[f.json_key])
        for f in block.fields if raw.get(f.json_key) is not None
    }
    return block.params_type(**values)


def _parse_equalizer(raw: object) -> tuple[float, ...]:
    if not isinstance(raw, list):
        raise FilterConfigError("equalizer", f"must be a list of {{band, gain}} objects, got {_describe(raw)}")
    gains = list(p.FLAT_EQ)
    seen: set[int] = set()
    for i, entry in enumerate(raw):
        path = f"equalizer[{i}]"
        if not isinstance(entry, Mapping):
            example = '{"band": 0, "gain": 0.2}'
            raise FilterConfigError(path, f"must be an object like {example}, got {_describe(entry)}")
        _reject_unknown(path, entry, ("band", "gain"))
        for key in ("band", "gain"):
            if key not in entry:
                raise FilterConfigError(f"{path}.{key}", "is missing")
        band_raw = entry["band"]
        if isinstance(band_raw, bool) or not isinstance(band_raw, int):
            raise FilterConfigError(f"{path}.band", f"must be a whole number 0 to 14, got {_describe(band_raw)}")
        band = int(EQ_BAND.check(f"{path}.band", band_raw))
        if band in seen:
            raise FilterConfigError(f"{path}.band", f"band {band} is given twice; give each band once")
        seen.add(band)
        gains[band] = EQ_GAIN.check(f"{path}.gain", entry["gain"])
    return tuple(gains)


def _reject_unknown(path: str, obj: Mapping[Any, Any], allowed: tuple[str, ...]) -> None:
    for key in obj:
        if key not in allowed:
            where = f"{path}.{key}" if path else str(key)
            raise FilterConfigError(where, f"unknown key; expected one of: {', '.join(allowed)}")


_EXAMPLE = '{"timescale": {"speed": 1.25}}'


def _describe(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**15:
        # A 400-digit number is named by its size: printing it would bury the message
        # (and str() refuses ints of more than 4300 digits).
        return f"a number with {_digits(value)} digits"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, str):
        return f"a string ({value[:30]!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return repr(value)


def _digits(value: int) -> int:
    """Decimal digits of ``value``, without converting it to text."""
    magnitude = abs(value)
    digits = max(1, int(magnitude.bit_length() * math.log10(2)))
    while 10**digits <= magnitude:
        digits += 1
    return digits


def _num(x: float) -> str:
    return f"{x:g}"
