"""Lavalink's 15-band equalizer, with the same coefficients and the same sound.

lavaplayer's ``Equalizer`` runs a parallel bank of constant-0-dB-peak band-pass biquads at fixed
48 kHz coefficients (β table below; α = (1 − β)/2, γ = (1 + β)·cos(2π·f₀/fs)):

    b[n] = α·(x[n] − x[n−2]) + γ·b[n−1] − β·b[n−2]        per band
    out  = x + 4·Σ gain_band·b_band

so a gain of 0.25 doubles a band (+6 dB) and −0.25 cancels it (a notch). Unlike Lavalink we do
not clamp: the chain keeps headroom and ends with one limiter.

The bank is evaluated exactly, a frame at a time, with ``lti.ParallelBank`` (one FFT convolution
plus small matrix products instead of 15 recursive filters).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

from musicbot.dsp.frame import CHANNELS, FRAME_SAMPLES, SAMPLE_RATE_HZ, Frame, ramp_up
from musicbot.dsp.lti import BankRunner, ParallelBank, Weighting
from musicbot.dsp.params import EQ_BAND_CENTRES_HZ, EQ_BAND_COUNT, FLAT_EQ

EQ_BETAS: tuple[float, ...] = (
    0.998475467, 0.997561847, 0.996162614, 0.993915785, 0.990283072,
    0.984858973, 0.975885127, 0.962285218, 0.940809331, 0.907020592,
    0.858680043, 0.784096108, 0.683328610, 0.552675182, 0.418118884,
)
"""lavaplayer's β per band (48 kHz only); the band centres are ``params.EQ_BAND_CENTRES_HZ``."""

_OUTPUT_SCALE = 4.0  # lavaplayer's fixed factor: gain 0.25 adds the band once more


def band_coefficients(band: int) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """``(b, a)`` of one band in ``scipy.signal.lfilter`` form: α(1 − z⁻²) / (1 − γz⁻¹ + βz⁻²)."""
    beta = EQ_BETAS[band]
    alpha = (1.0 - beta) / 2.0
    gamma = (1.0 + beta) * math.cos(2.0 * math.pi * EQ_BAND_CENTRES_HZ[band] / SAMPLE_RATE_HZ)
    return (alpha, 0.0, -alpha), (1.0, -gamma, beta)


_BANK = ParallelBank([band_coefficients(i) for i in range(EQ_BAND_COUNT)], FRAME_SAMPLES)
"""Shared by every Equalizer: the block matrices depend only on the fixed coefficient table."""

_RAMP = ramp_up(FRAME_SAMPLES)[:, 0].astype(np.float64)  # per-sample glide, broadcast over channels


@functools.lru_cache(maxsize=64)  # presets and toggles come back to the same gains
def _weighting(gains: tuple[float, ...]) -> Weighting:
    """out = x + 4·Σ gain·band as one weighted bank output (the dry path is a unit impulse)."""
    return _BANK.weighting(_OUTPUT_SCALE * np.asarray(gains), direct=1.0)


def _gains_of(params: Sequence[float] | None) -> tuple[float, ...]:
    if params is None:
        return FLAT_EQ
    gains = tuple(float(g) for g in params)
    if len(gains) != EQ_BAND_COUNT:
        raise ValueError(f"the equalizer takes {EQ_BAND_COUNT} band gains, got {len(gains)}")
    if not all(math.isfinite(g) for g in gains):
        raise ValueError("equalizer gains must be finite numbers")
    return gains


class Equalizer:
    """Lavalink's 15-band equalizer on (960, 2) float32 frames at 48 kHz.

    ``params`` are the 15 band gains in Lavalink's units (−0.25 = band removed, 0 = flat,
    0.25 = band doubled, up to 1.0); ``None`` is flat. A gain change is interpolated linearly
    per sample across the next frame (the band filters keep running; only their mix changes).

    While flat the filter is the identity and keeps no state: the chain may skip it, and when
    it becomes active again its bands start from silence, faded in by the gain ramp. So output
    is the same whether or not a flat equalizer was fed. ``set_params`` may be called from any
    thread between frames; ``process`` and ``reset`` run on the audio thread.
    """

    def __init__(self, params: Sequence[float] | None = None) -> None:
        self._gains = _gains_of(params)
        self._target = self._gains
        self._weighting = _weighting(self._gains)
        self._runner = BankRunner(_BANK, CHANNELS)

    def set_params(self, params: Sequence[float] | None) -> None:
        """Set the 15 gains (``None`` = flat); they glide there over the next frame."""
        target = _gains_of(params)
        if self.is_identity and target != FLAT_EQ:
            # Coming back from identity: whatever the bands last saw is stale (see class doc).
            self._runner.clear()
        self._target = target

    @property
    def gains(self) -> tuple[float, ...]:
        """The gains the filter is at or heading to."""
        return self._target

    def process(self, frame: Frame) -> Frame:
        """Equalize one (960, 2) float32 frame. Audio thread; ~100 µs on the 2-core dev VM."""
        start, end = self._gains, self._target
        if start == end == FLAT_EQ:
            return frame
        self._runner.load(frame)
        out = self._runner.respond(self._weighting)
        if start != end:
            # out = x + 4·Σ(g_old + ramp·Δg)·b: the bank is linear in its weights, so the
            # per-sample gain glide costs one more weighted sum, not one per sample.
            target = _weighting(end)
            out += _RAMP * self._runner.respond(target - self._weighting)
            self._gains = end
            self._weighting = target
        if end == FLAT_EQ:
            self._runner.clear()  # muted from here on; the next activation starts from silence
        else:
            self._runner.advance()
        return np.ascontiguousarray(out.T, dtype=np.float32)

    def reset(self) -> None:
        """Forget the band filters' tails and jump to the target gains. Audio thread."""
        self._runner.clear()
        self._gains = self._target
        self._weighting = _weighting(self._gains)

    @property
    def is_identity(self) -> bool:
        """True when flat with no gain glide pending."""
        return self._gains == FLAT_EQ and self._target == FLAT_EQ
