"""Lavalink's karaoke: cancel what is panned to the centre, then add one band of it back.

lavadsp's ``KaraokeConverter``, per sample, with m = (L + R)/2:

    y  = A·m − B·y[n−1] − C·y[n−2]           a two-pole resonator at filterBand Hz
    L' = L − level·R + level·monoLevel·y
    R' = R − level·L + level·monoLevel·y

with C = e^(−2π·W/fs), B = −4C/(1 + C)·cos(2π·F/fs), A = √(1 − B²/4C)·(1 − C) (W = filterWidth,
F = filterBand). At level 1 a centre-panned sound (L = R) cancels, except near F where the
resonator returns it at monoLevel; a hard-left sound stays on the left and appears inverted
on the right. No clamping here: the chain ends with one limiter.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from musicbot.dsp.frame import FRAME_SAMPLES, SAMPLE_RATE_HZ, Frame, ramp_up
from musicbot.dsp.lti import AllPole, Array
from musicbot.dsp.params import KaraokeParams

_RAMP = ramp_up(FRAME_SAMPLES).astype(np.float64)  # (n, 1): crossfade over one frame


def resonator(params: KaraokeParams) -> tuple[float, Array]:
    """lavadsp's resonator as ``(b0, a)`` for ``scipy.signal.lfilter([b0], a, mono)``."""
    c = math.exp(-2.0 * math.pi * params.filter_width_hz / SAMPLE_RATE_HZ)
    b = -4.0 * c / (1.0 + c) * math.cos(2.0 * math.pi * params.filter_band_hz / SAMPLE_RATE_HZ)
    # B² ≤ 4C always holds for this B (4C/(1+C)² ≤ 1), so the root is real.
    a0 = math.sqrt(max(0.0, 1.0 - b * b / (4.0 * c))) * (1.0 - c)
    return a0, np.array([1.0, b, c])


class Karaoke:
    """Lavalink's ``karaoke`` filter on (960, 2) float32 frames.

    ``level`` and ``mono_level`` are 0–1, ``filter_band_hz`` and ``filter_width_hz`` in Hz;
    ``None`` or level 0 is off. A change crossfades the old and new outputs over the next
    frame; both resonators continue from the last two resonator outputs, a band-passed copy of
    the mid signal that stays meaningful when the band moves. Off, the filter keeps no state:
    the chain may skip it, and switching it on starts the resonator from silence while the
    crossfade brings the effect in, so output does not depend on whether the chain fed it.
    ``set_params`` may be called from any thread between frames; ``process`` and ``reset`` run
    on the audio thread.
    """

    def __init__(self, params: KaraokeParams | None = None) -> None:
        self._params = _normalised(params)
        self._target = self._params
        self._past: Array = np.zeros((2, 1))  # y[n−1], y[n−2] of the resonator

    def set_params(self, params: KaraokeParams | None) -> None:
        """Set the karaoke parameters (``None`` = off); crossfaded over the next frame."""
        target = _normalised(params)
        if self.is_identity and target is not None:
            self._past[...] = 0.0  # stale since we were switched off (see class doc)
        self._target = target

    def process(self, frame: Frame) -> Frame:
        """Apply karaoke to one (960, 2) float32 frame. Audio thread; ~40 µs (twice while crossfading)."""
        start, end = self._params, self._target
        if start is None and end is None:
            return frame
        self._params = end
        x = frame.astype(np.float64)
        mid = (x[:, :1] + x[:, 1:]) / 2.0
        swapped = x[:, ::-1]
        band_new, past_new = _band(mid, self._past, end)
        y = _mix(x, swapped, end, band_new)
        if start != end:
            if start is not None and end is not None and _same_band(start, end):
                band_old = band_new  # same resonator: only the mix gains glide
            else:
                band_old = _band(mid, self._past, start)[0]
            y_old = _mix(x, swapped, start, band_old)
            y = y_old + (y - y_old) * _RAMP
        self._past = past_new if end is not None else np.zeros_like(past_new)
        return y.astype(np.float32)

    def reset(self) -> None:
        """Forget the resonator's tail and jump to the target setting. Audio thread."""
        self._past[...] = 0.0
        self._params = self._target

    @property
    def is_identity(self) -> bool:
        """True when off (or at level 0) with no change pending."""
        return self._params is None and self._target is None


def _normalised(params: KaraokeParams | None) -> KaraokeParams | None:
    """``None`` for anything that leaves audio untouched, so off has a single representation."""
    if params is None or params.level == 0.0:
        return None
    values = (params.level, params.mono_level, params.filter_band_hz, params.filter_width_hz)
    if not all(math.isfinite(v) for v in values) or params.filter_width_hz <= 0.0:
        raise ValueError(f"karaoke needs finite parameters and a positive filter width, got {params}")
    return params


def _same_band(p: KaraokeParams, q: KaraokeParams) -> bool:
    return p.filter_band_hz == q.filter_band_hz and p.filter_width_hz == q.filter_width_hz


def _band(mid: Array, past: Array, params: KaraokeParams | None) -> tuple[Array, Array]:
    """The resonator over one block of the (n, 1) mid signal; returns y and its last two outputs."""
    if params is None:
        return mid, past  # unused by _mix when off
    return _recursion(params.filter_band_hz, params.filter_width_hz).run(mid, past)


@functools.lru_cache(maxsize=16)
def _recursion(filter_band_hz: float, filter_width_hz: float) -> AllPole:
    b0, a = resonator(KaraokeParams(filter_band_hz=filter_band_hz, filter_width_hz=filter_width_hz))
    return AllPole(b0, a)


def _mix(x: Array, swapped: Array, params: KaraokeParams | None, band: Array) -> Array:
    """L' = L − level·R + level·mono·y (and mirrored), or x itself when off."""
    if params is None:
        return x
    out: Array = x - params.level * swapped + (params.level * params.mono_level) * band
    return out
