"""Distortion: neutral at its defaults, audibly distorting otherwise, never unbounded or clicking."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from musicbot.dsp.base import Filter
from musicbot.dsp.distortion import Distortion
from musicbot.dsp.frame import FRAME_SAMPLES, SAMPLE_RATE_HZ, silence
from musicbot.dsp.params import DistortionParams
from tests.dsp.signals import clicks, noise, run, sine

CRUNCH = DistortionParams(sin_offset=0.5, tan_scale=1.5, scale=1.5)
SOFT = DistortionParams(sin_scale=2.0)  # sin(2x)·cos x·tan x = sin 2x · sin x: smooth, f(0) = 0
WARM = DistortionParams(sin_offset=0.3, cos_scale=2.0, tan_scale=1.3)  # rich but below full scale
EXTREME = DistortionParams(
    sin_offset=100.0, sin_scale=100.0, cos_offset=-100.0, cos_scale=100.0,
    tan_offset=100.0, tan_scale=100.0, offset=-100.0, scale=100.0,
)


def two_tone(seconds: float = 1.0) -> npt.NDArray[np.float32]:
    # Phases chosen so that no frame boundary falls on a zero crossing, where a step would hide.
    return sine(110, seconds, 0.3, phase=0.7) + sine(440, seconds, 0.3, phase=2.1)


def harmonic_levels_db(y: npt.NDArray[np.floating], f0: float, count: int) -> list[float]:
    """Level of harmonics 2..count relative to the fundamental, in dB (Hann-windowed FFT)."""
    mono = np.asarray(y[:, 0], np.float64)
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    hz_per_bin = SAMPLE_RATE_HZ / len(mono)

    def peak(f: float) -> float:
        k = round(f / hz_per_bin)
        return float(spectrum[k - 2:k + 3].max())

    fundamental = peak(f0)
    return [20 * np.log10(peak(h * f0) / fundamental + 1e-12) for h in range(2, count + 1)]


def test_follows_the_filter_protocol() -> None:
    dist = Distortion(CRUNCH)
    assert isinstance(dist, Filter)
    y = dist.process(noise(0.02))
    assert y.shape == (FRAME_SAMPLES, 2) and y.dtype == np.float32


@pytest.mark.parametrize("params", [None, DistortionParams()])
def test_defaults_are_exactly_the_identity(params: DistortionParams | None) -> None:
    dist = Distortion(params)
    assert dist.is_identity
    x = noise(0.2)
    np.testing.assert_array_equal(run(dist, x), x)


def test_a_setting_adds_harmonics_and_stays_in_range() -> None:
    x = sine(1000, 0.5, 0.5)
    assert max(harmonic_levels_db(x, 1000, 3)) < -80  # the input really is a pure tone
    y = run(Distortion(CRUNCH), x)
    second, third = harmonic_levels_db(y, 1000, 3)
    assert second > -30 and third > -40
    assert np.abs(y).max() <= 1.0


def test_large_scale_is_clamped_to_full_scale() -> None:
    y = run(Distortion(DistortionParams(scale=100.0)), sine(1000, 0.2, 0.5))
    assert np.abs(y).max() == 1.0


@pytest.mark.parametrize(
    "params", [EXTREME, DistortionParams(tan_scale=100.0, scale=100.0), DistortionParams(tan_scale=-100.0)]
)
def test_extreme_settings_never_emit_nan_or_inf(params: DistortionParams) -> None:
    # Sweeping every input value crosses many tan poles at tanScale 100.
    ramp = np.linspace(-1.0, 1.0, 8 * FRAME_SAMPLES, dtype=np.float32)
    x = np.stack([ramp, ramp[::-1]], axis=1)
    y = run(Distortion(params), np.concatenate([x, noise(0.2, amplitude=1.0)]))
    assert np.isfinite(y).all() and np.abs(y).max() <= 1.0


def test_non_finite_input_is_repaired() -> None:
    x = noise(0.02)
    x[5, 0], x[6, 1], x[7, 0] = np.inf, -np.inf, np.nan
    y = Distortion(CRUNCH).process(x[:FRAME_SAMPLES].copy())
    assert np.isfinite(y).all()


@pytest.mark.parametrize("params", [None, DistortionParams(), SOFT])
def test_silence_stays_silence_where_the_curve_passes_zero(params: DistortionParams | None) -> None:
    assert not np.any(run(Distortion(params), silence(4 * FRAME_SAMPLES)))


def test_changes_and_on_off_do_not_click() -> None:
    # Settings that stay below full scale: the clamp's corners are the effect itself, not a click.
    dist = Distortion()
    changes = {7: SOFT, 13: WARM, 22: DistortionParams(), 31: WARM, 38: None}
    y = run(dist, two_tone(), between=lambda i: dist.set_params(changes[i]) if i in changes else None)
    assert clicks(y) == []


def test_change_crossfades_over_one_frame() -> None:
    x = sine(440, 0.06, 0.5)
    dist = Distortion()
    dist.set_params(CRUNCH)
    y = run(dist, x)
    shaped = Distortion(CRUNCH).process(x[:FRAME_SAMPLES].copy())
    first = y[:FRAME_SAMPLES]
    # The frame starts as (almost) the dry input and ends as the new curve.
    assert np.abs(first[:8] - x[:8]).max() < 0.02
    np.testing.assert_allclose(first[-1], shaped[-1], atol=1e-6)
    np.testing.assert_array_equal(y[FRAME_SAMPLES:2 * FRAME_SAMPLES],
                                  Distortion(CRUNCH).process(x[FRAME_SAMPLES:2 * FRAME_SAMPLES].copy()))


def test_reset_applies_the_pending_setting_like_a_fresh_instance() -> None:
    dist = Distortion(SOFT)
    dist.set_params(CRUNCH)
    dist.reset()
    x = noise(0.1)
    np.testing.assert_array_equal(run(dist, x), run(Distortion(CRUNCH), x))


def test_is_identity_follows_the_crossfade() -> None:
    dist = Distortion()
    dist.set_params(DistortionParams())
    assert dist.is_identity  # the defaults are the identity: nothing to fade
    dist.set_params(CRUNCH)
    assert not dist.is_identity
    dist.process(silence())
    dist.set_params(None)
    assert not dist.is_identity  # the fade back to dry is still pending
    dist.process(silence())
    assert dist.is_identity
