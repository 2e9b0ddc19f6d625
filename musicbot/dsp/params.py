"""Frozen parameter sets of every filter, in engine units (names carry their unit).

The JSON names (Lavalink v4 and our extensions) map onto these in ``musicbot.dsp.settings``.
Defaults are Lavalink's, so a filter object copied from a Lavalink bot sounds the same here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

EQ_BAND_COUNT = 15
EQ_BAND_CENTRES_HZ: tuple[float, ...] = (
    25.0, 40.0, 63.0, 100.0, 160.0, 250.0, 400.0, 630.0,
    1000.0, 1600.0, 2500.0, 4000.0, 6300.0, 10000.0, 16000.0,
)
FLAT_EQ: tuple[float, ...] = (0.0,) * EQ_BAND_COUNT


@dataclass(frozen=True)
class KaraokeParams:
    level: float = 1.0
    mono_level: float = 1.0
    filter_band_hz: float = 220.0
    filter_width_hz: float = 100.0


@dataclass(frozen=True)
class TimescaleParams:
    speed: float = 1.0
    pitch: float = 1.0
    rate: float = 1.0

    @property
    def tempo_ratio(self) -> float:
        """How much faster the output plays through the input: duration ÷ (speed·rate)."""
        return self.speed * self.rate

    @property
    def pitch_ratio(self) -> float:
        """How much higher every frequency comes out: pitch·rate."""
        return self.pitch * self.rate


@dataclass(frozen=True)
class TremoloParams:
    frequency_hz: float = 2.0
    depth: float = 0.5


@dataclass(frozen=True)
class VibratoParams:
    frequency_hz: float = 2.0
    depth: float = 0.5


@dataclass(frozen=True)
class RotationParams:
    rotation_hz: float = 0.0


@dataclass(frozen=True)
class DistortionParams:
    sin_offset: float = 0.0
    sin_scale: float = 1.0
    cos_offset: float = 0.0
    cos_scale: float = 1.0
    tan_offset: float = 0.0
    tan_scale: float = 1.0
    offset: float = 0.0
    scale: float = 1.0

    @property
    def is_default(self) -> bool:
        return self == DistortionParams()


@dataclass(frozen=True)
class ChannelMixParams:
    left_to_left: float = 1.0
    left_to_right: float = 0.0
    right_to_left: float = 0.0
    right_to_right: float = 1.0


@dataclass(frozen=True)
class LowPassParams:
    smoothing: float = 20.0


@dataclass(frozen=True)
class BassBoostParams:
    gain_db: float = 6.0
    frequency_hz: float = 110.0


@dataclass(frozen=True)
class ReverbParams:
    room_size: float = 0.5
    damping: float = 0.5
    wet_level: float = 0.33
    dry_level: float = 0.4
    width: float = 1.0


@dataclass(frozen=True)
class FilterSettings:
    """Everything a guild has set. ``None`` means the filter is off."""

    volume: float = 1.0
    equalizer: tuple[float, ...] = field(default=FLAT_EQ)
    karaoke: KaraokeParams | None = None
    timescale: TimescaleParams | None = None
    tremolo: TremoloParams | None = None
    vibrato: VibratoParams | None = None
    rotation: RotationParams | None = None
    distortion: DistortionParams | None = None
    channel_mix: ChannelMixParams | None = None
    low_pass: LowPassParams | None = None
    bass_boost: BassBoostParams | None = None
    reverb: ReverbParams | None = None


IDENTITY_SETTINGS = FilterSettings()
