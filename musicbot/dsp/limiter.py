"""Look-ahead peak limiter: the last stage before the encoder, so no sample ever leaves above the ceiling.

Hand-written because neither numpy nor scipy ships a streaming limiter; scipy.ndimage supplies the
sliding-window minimum that makes it vectorized (no per-sample Python loop).

How one frame is processed (all array operations, state carried across frames; L = look-ahead):

1. Required gain per input sample, linked across channels: ``g = min(1, ceiling / max(|L|, |R|))``.
2. Hold: sliding minimum of ``g`` over the last L + 1 samples, so every sample still in the delay
   line is covered.
3. Release on the linear reduction ``d = 1 − gain``: ``d[t] = max(1 − held[t], r·d[t−1])``, an
   exponential recovery towards unity gain. The max-recurrence unrolls to a cumulative maximum of
   ``u[k]·r^−k`` scaled by ``r^t``, so it runs as ``np.maximum.accumulate``.
4. Attack: a triangular moving average (two cascaded boxes) of that curve spanning L + 1 samples.
   Every averaged value is ≤ the required gain of the sample now leaving the delay line (each is a
   minimum over a window that contains it), so the ceiling holds; and the average turns every corner
   of the hold/release curve into an S-bend with continuous slope, so gain changes never tick.
5. The audio is delayed by L samples and multiplied by the gain.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from musicbot.dsp.frame import CHANNELS, SAMPLE_RATE_HZ, Frame

_F64 = npt.NDArray[np.float64]

# The gain is computed against a ceiling a hair lower than the advertised one, so float32 rounding
# of the output can never land above it (−0.0009 dB: inaudible).
_CEILING_MARGIN = 0.9999
# Reductions smaller than this (a gain of 1 − 1e-8, ≈ 1e-7 dB) are snapped to zero so the cheap path resumes.
_NEGLIGIBLE_REDUCTION = 1e-8


class Limiter:
    """Linked-stereo look-ahead peak limiter.

    Every output sample satisfies ``|y| ≤ 10^(ceiling_dbfs/20)`` whatever the input, including
    inputs far above full scale; loud passages are turned down smoothly rather than clipped.
    The audio is delayed by a constant ``latency_samples`` (the look-ahead), cheap path or not.

    Constructed on any thread; ``process``/``reset`` are called from the audio thread only.
    """

    def __init__(
        self, ceiling_dbfs: float = -1.0, lookahead_ms: float = 1.5, release_ms: float = 80.0
    ) -> None:
        if not math.isfinite(ceiling_dbfs) or ceiling_dbfs > 0.0:
            raise ValueError("ceiling_dbfs must be finite and ≤ 0 dBFS")
        if not 0.1 <= lookahead_ms <= 20.0:
            raise ValueError("lookahead_ms must be within 0.1…20 ms")
        if not 1.0 <= release_ms <= 5000.0:
            raise ValueError("release_ms must be within 1…5000 ms")
        self.ceiling_dbfs = ceiling_dbfs
        self._ceiling = 10.0 ** (ceiling_dbfs / 20.0)
        self._ceiling_eff = self._ceiling * _CEILING_MARGIN
        # An even look-ahead makes the hold window (L + 1 samples) odd, so ndimage can align it as a
        # trailing window with origin = L / 2, and splits the attack into two equal boxes.
        self._lookahead = max(2, 2 * round(lookahead_ms * SAMPLE_RATE_HZ / 1000.0 / 2.0))
        self._release_r = math.exp(-1000.0 / (release_ms * SAMPLE_RATE_HZ))
        self._powers_n = -1
        self._r_pow: _F64 = np.empty(0)
        self._r_inv_pow: _F64 = np.empty(0)
        # float32 like the audio it holds (exact copies): the quiet path never converts the frame.
        self._delay: npt.NDArray[np.float32] = np.zeros((self._lookahead, CHANNELS), np.float32)
        # Last L required gains (for the hold window) and last L released reductions (for the attack
        # average), so windows straddle frame boundaries seamlessly.
        self._required_history: _F64 = np.ones(self._lookahead)
        self._released_history: _F64 = np.zeros(self._lookahead)
        self._reduction = 0.0
        self._last_reduction_db = 0.0
        self._at_rest = True

    @property
    def latency_samples(self) -> int:
        """Constant delay the limiter adds, in samples at 48 kHz (the look-ahead)."""
        return self._lookahead

    @property
    def gain_reduction_db(self) -> float:
        """Largest gain reduction applied during the last processed frame, in dB (≥ 0; 0 = untouched)."""
        return self._last_reduction_db

    @property
    def is_identity(self) -> bool:
        """Always False: the limiter always runs (it delays the audio, and guards the ceiling)."""
        return False

    def reset(self) -> None:
        """Forget the delayed audio and any gain reduction in progress (audio thread, e.g. after a seek)."""
        self._delay.fill(0.0)
        self._required_history.fill(1.0)
        self._released_history.fill(0.0)
        self._reduction = 0.0
        self._last_reduction_db = 0.0
        self._at_rest = True

    def process(self, frame: Frame) -> Frame:
        """Limit one (n, 2) float32 frame; returns the frame delayed by ``latency_samples`` (audio thread)."""
        x32 = np.asarray(frame, dtype=np.float32)
        n = x32.shape[0]
        frame_peak = float(np.abs(x32).max()) if n else 0.0
        if not math.isfinite(frame_peak):
            # A broken upstream filter must not poison the delay line (or the listener's ears).
            x32 = np.nan_to_num(x32, nan=0.0, posinf=0.0, neginf=0.0)
            frame_peak = float(np.abs(x32).max())
        lookahead = self._lookahead
        joined = np.concatenate([self._delay, x32])
        self._delay = joined[n:].copy() if n >= lookahead else joined[-lookahead:].copy()

        if frame_peak <= self._ceiling_eff and self._at_rest:
            # Cheap path: nothing to limit now or within the look-ahead; the latency stays the same.
            self._last_reduction_db = 0.0
            return joined[:n]

        x = x32.astype(np.float64)
        delayed = joined[:n].astype(np.float64)
        peaks = _linked_peaks(x)
        required = np.minimum(1.0, self._ceiling_eff / np.maximum(peaks, 1e-30))
        extended = np.concatenate([self._required_history, required])
        self._required_history = extended[-lookahead:].copy()
        held = ndimage.minimum_filter1d(extended, lookahead + 1, origin=lookahead // 2)[lookahead:]

        r_pow, r_inv_pow = self._release_powers(n)
        carried = self._release_r * self._reduction
        unrolled = np.maximum.accumulate((1.0 - held) * r_inv_pow)
        released = r_pow * np.maximum(unrolled, carried)
        last = float(released[-1]) if n else self._reduction
        self._reduction = last if last > _NEGLIGIBLE_REDUCTION else 0.0

        curve = np.concatenate([self._released_history, released])
        self._released_history = curve[-lookahead:].copy()
        half = lookahead // 2 + 1
        reduction = _trailing_mean(_trailing_mean(curve, half), half)
        gain = 1.0 - reduction
        out = delayed * gain[:, None]
        lowest = float(gain.min()) if n else 1.0
        self._last_reduction_db = -20.0 * math.log10(max(lowest, 1e-30))
        # Nothing reduced now or within the look-ahead: the next quiet frames take the cheap path.
        self._at_rest = (self._reduction == 0.0 and float(self._required_history.min()) == 1.0
                         and float(self._released_history.max()) == 0.0)
        out_peak = float(np.abs(out).max()) if n else 0.0
        if out_peak > self._ceiling_eff:
            # Only floating-point error can get here; scale the frame, never clip the waveform.
            out *= self._ceiling_eff / out_peak
        return out.astype(np.float32)

    def _release_powers(self, n: int) -> tuple[_F64, _F64]:
        """r^k and r^-k for k = 0..n-1, cached per frame length."""
        if n != self._powers_n:
            k = np.arange(n, dtype=np.float64)
            log_r = math.log(self._release_r)
            self._r_pow = np.exp(k * log_r)
            self._r_inv_pow = np.exp(-k * log_r)
            self._powers_n = n
        return self._r_pow, self._r_inv_pow


def _trailing_mean(values: _F64, width: int) -> _F64:
    """Mean of each run of ``width`` consecutive values (len(values) − width + 1 results)."""
    sums = np.cumsum(values)
    means: _F64 = (sums[width - 1:] - np.concatenate([[0.0], sums[:-width]])) * (1.0 / width)
    return means


def _linked_peaks(x: _F64) -> _F64:
    """max(|L|, |R|) per sample; elementwise on the columns because an axis=1 reduction over two
    values is an order of magnitude slower in numpy."""
    return np.maximum(np.abs(x[:, 0]), np.abs(x[:, 1]))
