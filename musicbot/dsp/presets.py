"""Named presets: filter presets (Lavalink-style objects) and 15-band equalizer presets.

A preset is applied on top of what is already on (``merge_filters``), so ``8d`` + ``nightcore``
stack; the equalizer presets replace only the equalizer.
"""

from __future__ import annotations

from typing import Any

from musicbot.dsp.params import FilterSettings
from musicbot.dsp.settings import merge_filters
from musicbot.errors import FilterConfigError

FILTER_PRESETS: dict[str, dict[str, Any]] = {
    "bassboost": {"bassBoost": {"gainDb": 10.0, "frequencyHz": 110.0}},
    "nightcore": {"timescale": {"speed": 1.0, "pitch": 1.0, "rate": 1.25}},
    "vaporwave": {"timescale": {"speed": 1.0, "pitch": 1.0, "rate": 0.8}},
    "8d": {"rotation": {"rotationHz": 0.2}},
    "karaoke": {"karaoke": {"level": 1.0, "monoLevel": 1.0, "filterBand": 220.0, "filterWidth": 100.0}},
    "slowed": {
        "timescale": {"speed": 1.0, "pitch": 1.0, "rate": 0.85},
        "reverb": {"roomSize": 0.6, "damping": 0.5, "wetLevel": 0.3, "dryLevel": 0.8, "width": 1.0},
    },
    "soft": {"lowPass": {"smoothing": 20.0}},
    "treble": {"equalizer": [
        {"band": 0, "gain": -0.1}, {"band": 1, "gain": -0.1}, {"band": 2, "gain": -0.05},
        {"band": 10, "gain": 0.1}, {"band": 11, "gain": 0.15}, {"band": 12, "gain": 0.2},
        {"band": 13, "gain": 0.25}, {"band": 14, "gain": 0.25},
    ]},
    "tremolo": {"tremolo": {"frequency": 4.0, "depth": 0.6}},
    "vibrato": {"vibrato": {"frequency": 4.0, "depth": 0.5}},
    "reverb": {"reverb": {"roomSize": 0.5, "damping": 0.5, "wetLevel": 0.33, "dryLevel": 0.7, "width": 1.0}},
}

# Gains per band 25 Hz … 16 kHz, Lavalink meaning (0.25 = +6 dB, −0.25 = band removed).
EQ_PRESETS: dict[str, tuple[float, ...]] = {
    "flat": (0.0,) * 15,
    "bass": (0.2, 0.18, 0.15, 0.1, 0.05, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    "rock": (0.12, 0.1, 0.06, 0.0, -0.04, -0.05, -0.02, 0.0, 0.03, 0.06, 0.1, 0.12, 0.12, 0.1, 0.08),
    "pop": (-0.03, -0.02, 0.0, 0.04, 0.08, 0.1, 0.1, 0.08, 0.04, 0.0, -0.02, -0.02, 0.0, 0.02, 0.03),
    "vocal": (-0.1, -0.1, -0.08, -0.04, 0.0, 0.04, 0.1, 0.14, 0.14, 0.12, 0.08, 0.04, 0.0, -0.02, -0.04),
    "classical": (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.04, -0.06, -0.08, -0.08, -0.08, -0.1),
    "electronic": (0.15, 0.13, 0.08, 0.0, -0.05, -0.03, 0.0, -0.02, 0.0, 0.03, 0.06, 0.1, 0.12, 0.12, 0.1),
    "jazz": (0.06, 0.05, 0.03, 0.05, -0.04, -0.04, 0.0, 0.02, 0.05, 0.06, 0.06, 0.05, 0.04, 0.03, 0.02),
    "lofi": (0.05, 0.08, 0.1, 0.06, 0.02, 0.0, -0.02, -0.04, -0.06, -0.1, -0.14, -0.18, -0.2, -0.22, -0.25),
}


def preset_names() -> list[str]:
    return sorted(FILTER_PRESETS) + sorted(EQ_PRESETS)


def apply_preset(settings: FilterSettings, name: str) -> FilterSettings:
    """``settings`` with preset ``name`` added on top. Raises ``FilterConfigError`` for an unknown name."""
    key = name.strip().lower()
    if key in FILTER_PRESETS:
        return merge_filters(settings, FILTER_PRESETS[key])
    if key in EQ_PRESETS:
        bands = [{"band": i, "gain": g} for i, g in enumerate(EQ_PRESETS[key]) if g]
        return merge_filters(settings, {"equalizer": bands or None})
    raise FilterConfigError("preset", f"unknown preset {name!r}; choose one of: {', '.join(preset_names())}")
