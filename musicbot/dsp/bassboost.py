"""Bass boost (our extension): a monotonic second-order low shelf, +gain_db below frequency_hz.

Analog prototype, with u = s/ω_c and g = √G (G the linear boost):

    H(s) = (u² + √2·g·u + g²) / (u² + √2·u + 1) = 1 + (G − 1)·LP(u) + √2·(g − 1)·BP(u)

with LP = 1/(u² + √2u + 1) and BP = u/(u² + √2u + 1), a Butterworth pair sharing one pair of
poles. |H|² = (G² + ω⁴)/(1 + ω⁴) falls monotonically from G² to 1, so there is neither dip nor
bump (the tempting y = x + (G − 1)·LP(x) alone dips by up to 8 dB above the corner at 24 dB),
and the response is G²/2 (3 dB under full boost) at the corner. The bilinear transform with
pre-warping keeps the shape exactly, only warping the frequency axis.

The poles depend on the frequency only, so a gain change just re-mixes LP and BP per sample.
Both come from one all-pole recursion w = D(1)·x / D(z) (unit gain at DC) by short FIRs:
LP = (1 + z⁻¹)²/4 · w and BP = (1 − z⁻²)/(4K) · w, K = tan(π·f/fs). The past of w is the state;
being a low-passed copy of the input it stays meaningful when the frequency changes, so a
frequency change carries it over and crossfades the old and new shelves across one frame.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from musicbot.dsp.frame import CHANNELS, FRAME_SAMPLES, SAMPLE_RATE_HZ, Frame, ramp_up
from musicbot.dsp.iir import lfilter
from musicbot.dsp.lti import AllPole, Array
from musicbot.dsp.params import BassBoostParams

_RAMP = ramp_up(FRAME_SAMPLES).astype(np.float64)  # (n, 1): per-sample glide over one frame
_NYQUIST_GUARD = 0.45  # keeps tan(π·f/fs) finite for any frequency a caller might pass


class _Poles:
    """The shared Butterworth poles at one corner frequency, as a unit-DC-gain all-pole recursion.

    Also holds where a block leaves the past of w: ``past' = carry @ past + drive @ x``, exact,
    so the steady path can run the whole shelf as one biquad and still track w.
    """

    def __init__(self, frequency_hz: float) -> None:
        k = math.tan(math.pi * min(frequency_hz, _NYQUIST_GUARD * SAMPLE_RATE_HZ) / SAMPLE_RATE_HZ)
        norm = 1.0 + math.sqrt(2.0) * k + k * k
        a1, a2 = 2.0 * (k * k - 1.0) / norm, (1.0 - math.sqrt(2.0) * k + k * k) / norm
        self.k = k  # tan(π·f/fs), the pre-warped corner
        self.dc = 4.0 * k * k / norm  # D(1): w has unit gain at DC
        self.a: Array = np.array([1.0, a1, a2])
        self.recursion = AllPole(self.dc, self.a)
        n = FRAME_SAMPLES
        impulse = np.zeros((n, 1))
        impulse[0] = 1.0
        p = self.recursion.run(impulse, np.zeros((2, 1)))[0][:, 0]
        # w[n−1] = Σ p[n−1−k]·x[k] and w[n−2] = Σ p[n−2−k]·x[k], plus the ring-out of the past.
        self.drive: Array = np.stack([p[::-1], np.append(p[-2::-1], 0.0)])
        self.carry: Array = self.recursion.run(np.zeros((n, 2)), np.eye(2))[1]


@functools.lru_cache(maxsize=32)
def _poles_at(frequency_hz: float) -> _Poles:
    return _Poles(frequency_hz)


def _taps(gain: Array | float, k: float) -> Array:
    """3-tap FIR on [w[n], w[n−1], w[n−2]] giving (G − 1)·LP + √2·(√G − 1)·BP; gain may vary per sample."""
    g = np.asarray(gain, dtype=np.float64)
    lp = (g - 1.0) / 4.0
    bp = math.sqrt(2.0) * (np.sqrt(g) - 1.0) / (4.0 * k)
    return np.stack([lp + bp, 2.0 * lp, lp - bp], axis=-1)


class _Shelf:
    """The whole shelf at one (gain, frequency) as a single biquad y = (b/a)·x for steady frames.

    ``zi @ past`` turns the past of w into this biquad's lfilter state, so steady frames and
    gliding frames (which mix LP and BP per sample) share one state: the past of w.
    """

    def __init__(self, gain: float, frequency_hz: float) -> None:
        poles = _poles_at(frequency_hz)
        t0, t1, t2 = (float(t) for t in _taps(gain, poles.k))
        self.poles = poles
        self.taps = (t0, t1, t2)
        self.b: Array = poles.a + poles.dc * np.array([t0, t1, t2])  # H = 1 + dc·T(z)/D(z)
        # Zero-input response of the shelf for each unit past of w, over its first two samples,
        # gives lfilter's state: zi[0] = y[0], zi[1] = y[1] + a1·y[0].
        a1, a2 = poles.a[1], poles.a[2]
        past = np.eye(2)
        w0 = -a1 * past[0] - a2 * past[1]
        w1 = -a1 * w0 - a2 * past[0]
        y0 = t0 * w0 + t1 * past[0] + t2 * past[1]
        y1 = t0 * w1 + t1 * w0 + t2 * past[0]
        self.zi: Array = np.stack([y0, y1 + a1 * y0])

    def run(self, x: Array, past: Array) -> tuple[Array, Array]:
        y: Array = lfilter(self.b, self.poles.a, x, axis=0, zi=self.zi @ past)[0]
        return y, self.poles.carry @ past + self.poles.drive @ x


@functools.lru_cache(maxsize=32)
def _shelf_at(gain: float, frequency_hz: float) -> _Shelf:
    return _Shelf(gain, frequency_hz)


class BassBoost:
    """Low-shelf bass boost on (960, 2) float32 frames: ``gain_db`` (0–24 dB) below ``frequency_hz``.

    ``None`` or 0 dB is off. A gain change is interpolated per sample (linearly in linear gain)
    over the next frame; a frequency change crossfades the old and new shelves over that frame.
    Off, the filter keeps no state: the chain may skip it, and switching it on starts its low-pass
    from silence while the gain ramps up from 0 dB, so output does not depend on whether the
    chain fed it while off. ``set_params`` may be called from any thread between frames;
    ``process`` and ``reset`` run on the audio thread.
    """

    def __init__(self, params: BassBoostParams | None = None) -> None:
        self._params = _normalised(params)
        self._target = self._params
        self._past: Array = np.zeros((2, CHANNELS))  # w[n−1], w[n−2] per channel

    def set_params(self, params: BassBoostParams | None) -> None:
        """Set the boost (``None`` = off); applied smoothly over the next frame."""
        target = _normalised(params)
        if self.is_identity and target is not None:
            self._past[...] = 0.0  # stale since we were switched off (see class doc)
        self._target = target

    def process(self, frame: Frame) -> Frame:
        """Boost one (960, 2) float32 frame. Audio thread; ~30 µs steady, ~80 µs while gliding."""
        start, end = self._params, self._target
        if start is None and end is None:
            return frame
        self._params = end
        x = frame.astype(np.float64)
        old, new = _endpoints(start, end)
        old_gain, new_gain = 10.0 ** (old.gain_db / 20.0), 10.0 ** (new.gain_db / 20.0)
        if old == new:
            y, self._past = _shelf_at(new_gain, new.frequency_hz).run(x, self._past)
        elif old.frequency_hz == new.frequency_hz:
            poles = _poles_at(new.frequency_hz)
            taps = _taps(old_gain + (new_gain - old_gain) * _RAMP, poles.k)
            y, self._past = _mixed(x, self._past, poles, taps)
        else:
            y_old, _ = _shelf_at(old_gain, old.frequency_hz).run(x, self._past)
            y_new, self._past = _shelf_at(new_gain, new.frequency_hz).run(x, self._past)
            y = y_old + (y_new - y_old) * _RAMP
        if end is None:
            self._past[...] = 0.0
        return y.astype(np.float32)

    def reset(self) -> None:
        """Forget the low-pass tail and jump to the target setting. Audio thread."""
        self._past[...] = 0.0
        self._params = self._target

    @property
    def is_identity(self) -> bool:
        """True when off (or at 0 dB) with no change pending."""
        return self._params is None and self._target is None


def _normalised(params: BassBoostParams | None) -> BassBoostParams | None:
    """``None`` for anything that leaves audio untouched, so off has a single representation."""
    if params is None or params.gain_db == 0.0:
        return None
    if not (math.isfinite(params.gain_db) and params.frequency_hz > 0.0):
        raise ValueError(f"bass boost needs a finite gain and a positive frequency, got {params}")
    return params


def _endpoints(
    start: BassBoostParams | None, end: BassBoostParams | None
) -> tuple[BassBoostParams, BassBoostParams]:
    """Switching on or off is a gain glide from or to 0 dB at the active side's frequency."""
    if start is None and end is None:
        raise ValueError("no bass boost on either side of the transition")
    old = start or BassBoostParams(0.0, end.frequency_hz if end else 0.0)
    return old, end or BassBoostParams(0.0, old.frequency_hz)


def _mixed(x: Array, past: Array, poles: _Poles, taps: Array) -> tuple[Array, Array]:
    """y = x + taps[n] · [w, w₋₁, w₋₂] with per-sample taps (n, 1, 3); returns y and the new past."""
    w, new_past = poles.recursion.run(x, past)
    ext = np.concatenate([past[::-1], w])  # ext[i + 2] = w[i]
    y = x + taps[..., 0] * ext[2:] + taps[..., 1] * ext[1:-1] + taps[..., 2] * ext[:-2]
    return y, new_past
