"""Lavalink's low-pass: lavadsp's one-pole smoother y += (x − y)/smoothing, per channel.

As a recursion: y[n] = k·x[n] + (1 − k)·y[n−1] with k = 1/smoothing, a one-pole low-pass whose
−3 dB point is about fs·(−ln(1 − k))/2π (≈ 390 Hz at Lavalink's default smoothing 20). A
smoothing of 1 passes audio unchanged (Lavalink treats ≤ 1 as off).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from musicbot.dsp.frame import CHANNELS, FRAME_SAMPLES, SAMPLE_RATE_HZ, Frame, ramp_up
from musicbot.dsp.lti import AllPole, Array
from musicbot.dsp.params import LowPassParams

_RAMP = ramp_up(FRAME_SAMPLES).astype(np.float64)  # (n, 1): crossfade over one frame


def cutoff_hz(smoothing: float) -> float:
    """Approximate −3 dB frequency of the smoother in Hz (infinite, i.e. no filtering, at 1)."""
    if smoothing <= 1.0:
        return math.inf
    return SAMPLE_RATE_HZ * -math.log(1.0 - 1.0 / smoothing) / (2.0 * math.pi)


class LowPass:
    """Lavalink's ``lowPass`` filter on (960, 2) float32 frames.

    ``params.smoothing`` ≥ 1 (Lavalink allows up to 1000 here); ``None`` or 1 is off. A change
    crossfades the old and new outputs over the next frame; both continue from the last output
    sample, which is the whole state of a one-pole filter and stays valid for any smoothing.
    Off, the filter keeps no state: the chain may skip it, and switching it on starts it from
    silence (faded in by the crossfade), so output does not depend on whether the chain fed it.
    ``set_params`` may be called from any thread between frames; ``process`` and ``reset`` run
    on the audio thread.
    """

    def __init__(self, params: LowPassParams | None = None) -> None:
        self._smoothing = _smoothing_of(params)
        self._target = self._smoothing
        self._past: Array = np.zeros((1, CHANNELS))  # y[n−1] per channel

    def set_params(self, params: LowPassParams | None) -> None:
        """Set the smoothing (``None`` = off); crossfaded over the next frame."""
        target = _smoothing_of(params)
        if self.is_identity and target != 1.0:
            self._past[...] = 0.0  # stale since we were switched off (see class doc)
        self._target = target

    def process(self, frame: Frame) -> Frame:
        """Low-pass one (960, 2) float32 frame. Audio thread; ~25 µs (twice that while crossfading)."""
        start, end = self._smoothing, self._target
        if start == end == 1.0:
            return frame
        self._smoothing = end
        x = frame.astype(np.float64)
        y_new, past_new = _smooth(x, self._past, end)
        if start != end:
            y_old, _ = _smooth(x, self._past, start)
            y_new = y_old + (y_new - y_old) * _RAMP
        self._past = past_new if end != 1.0 else np.zeros_like(past_new)
        return y_new.astype(np.float32)

    def reset(self) -> None:
        """Forget the last output and jump to the target smoothing. Audio thread."""
        self._past[...] = 0.0
        self._smoothing = self._target

    @property
    def is_identity(self) -> bool:
        """True when off with no change pending."""
        return self._smoothing == 1.0 and self._target == 1.0


def _smoothing_of(params: LowPassParams | None) -> float:
    if params is None:
        return 1.0
    if not math.isfinite(params.smoothing):
        raise ValueError(f"low-pass smoothing must be a finite number, got {params.smoothing}")
    return max(1.0, float(params.smoothing))  # Lavalink: smoothing ≤ 1 means off


def _smooth(x: Array, past: Array, smoothing: float) -> tuple[Array, Array]:
    """One block of y[n] = k·x[n] + (1 − k)·y[n−1]; returns y and its last sample."""
    if smoothing == 1.0:
        return x, np.ascontiguousarray(x[-1:])
    return _recursion(smoothing).run(x, past)


@functools.lru_cache(maxsize=16)
def _recursion(smoothing: float) -> AllPole:
    k = 1.0 / smoothing
    return AllPole(k, (1.0, k - 1.0))
