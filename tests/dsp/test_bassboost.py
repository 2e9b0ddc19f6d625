"""BassBoost: a monotonic low shelf (+gain at the bottom, nothing in the mids), exact and click-free."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal

from musicbot.dsp.base import Filter
from musicbot.dsp.bassboost import BassBoost
from musicbot.dsp.frame import FRAME_SAMPLES, SAMPLE_RATE_HZ, silence
from musicbot.dsp.params import BassBoostParams
from tests.dsp.signals import Signal, clicks, gain_db, noise, run, sine


def two_tone(seconds: float = 1.0) -> Signal:
    return sine(110, seconds, 0.3, phase=0.7) + sine(440, seconds, 0.3, phase=2.1)


def analog_shelf_reference(x: Signal, params: BassBoostParams) -> np.ndarray:
    """The analog shelf (s² + √2·g·ω·s + g²ω²)/(s² + √2·ω·s + ω²), g = √G, bilinear with pre-warping."""
    g = math.sqrt(10 ** (params.gain_db / 20))
    w = 2 * SAMPLE_RATE_HZ * math.tan(math.pi * params.frequency_hz / SAMPLE_RATE_HZ)
    b, a = scipy.signal.bilinear(
        [1, math.sqrt(2) * g * w, g * g * w * w], [1, math.sqrt(2) * w, w * w], fs=SAMPLE_RATE_HZ
    )
    return np.asarray(scipy.signal.lfilter(b, a, x.astype(np.float64), axis=0))


def test_follows_the_filter_protocol() -> None:
    boost = BassBoost(BassBoostParams(9.0, 100.0))
    assert isinstance(boost, Filter)
    y = boost.process(noise(0.02))
    assert y.shape == (FRAME_SAMPLES, 2) and y.dtype == np.float32


def test_twelve_db_boosts_the_bass_and_leaves_the_mids() -> None:
    params = BassBoostParams(12.0, 110.0)
    assert gain_db(BassBoost(params), 30.0) == pytest.approx(12.0, abs=1.0)
    for freq in (1000.0, 2000.0, 8000.0):
        assert abs(gain_db(BassBoost(params), freq)) < 1.0


@pytest.mark.parametrize(("gain", "freq"), [(24.0, 20.0), (24.0, 500.0), (12.0, 110.0), (3.0, 60.0)])
def test_shelf_is_monotonic_without_dip_or_bump(gain: float, freq: float) -> None:
    probes = np.geomspace(15.0, 20_000.0, 40)
    response = [gain_db(BassBoost(BassBoostParams(gain, freq)), f, seconds=0.5) for f in probes]
    assert max(response) < gain + 1.5 and min(response) > -1.5
    assert np.all(np.diff(response) < 0.05)  # never rises again on the way up the spectrum


def test_frame_by_frame_equals_the_shelf_over_the_whole_signal() -> None:
    params = BassBoostParams(15.0, 80.0)
    x = noise(0.5, 0.25, seed=5)
    y = run(BassBoost(params), x)
    np.testing.assert_allclose(y[: len(x)], analog_shelf_reference(x, params), atol=1e-5, rtol=0)


def test_reset_clears_tails_and_silence_stays_silent() -> None:
    boost = BassBoost(BassBoostParams(24.0, 20.0))
    assert not np.any(run(boost, silence(4 * FRAME_SAMPLES)))
    run(boost, noise(0.1))
    assert np.any(boost.process(silence()))
    boost.reset()
    assert not np.any(run(boost, silence(3 * FRAME_SAMPLES)))


def test_gain_and_frequency_changes_do_not_click() -> None:
    boost = BassBoost()
    changes: dict[int, BassBoostParams | None] = {
        2: BassBoostParams(12.0, 110.0), 5: BassBoostParams(6.0, 110.0), 8: BassBoostParams(6.0, 300.0),
        11: BassBoostParams(18.0, 60.0), 14: None, 17: BassBoostParams(24.0, 200.0),
        20: BassBoostParams(0.0, 200.0), 23: BassBoostParams(9.0, 40.0), 30: None,
    }
    y = run(boost, two_tone(), between=lambda i: boost.set_params(changes[i]) if i in changes else None)
    assert clicks(y) == []


def test_gain_change_is_complete_after_one_frame() -> None:
    x = two_tone(0.5)
    boost = BassBoost(BassBoostParams(18.0, 90.0))
    y = run(boost, x, between=lambda i: boost.set_params(BassBoostParams(6.0, 90.0)) if i == 2 else None)
    # The low-pass state does not depend on the gain, so after the gliding frame the output is
    # exactly that of a boost that had the new gain all along.
    expected = run(BassBoost(BassBoostParams(6.0, 90.0)), x)
    np.testing.assert_allclose(y[3 * FRAME_SAMPLES:], expected[3 * FRAME_SAMPLES:], atol=1e-6)


def test_extreme_settings_stay_finite() -> None:
    full_scale = noise(0.5, 1.0, seed=7)
    for params in (BassBoostParams(24.0, 20.0), BassBoostParams(24.0, 500.0)):
        assert np.all(np.isfinite(run(BassBoost(params), full_scale)))


def test_is_identity_when_off_or_flat() -> None:
    for off in (BassBoost(), BassBoost(None), BassBoost(BassBoostParams(0.0, 110.0))):
        assert off.is_identity
    boost = BassBoost()
    boost.set_params(BassBoostParams(6.0, 110.0))
    assert not boost.is_identity
    boost.process(silence())
    assert not boost.is_identity
    boost.set_params(None)
    assert not boost.is_identity  # the glide back to 0 dB is still pending
    boost.process(silence())
    assert boost.is_identity
