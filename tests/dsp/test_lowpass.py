"""LowPass: Lavalink's one-pole smoother (−3 dB at the derived cutoff), exact and click-free."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from musicbot.dsp.base import Filter
from musicbot.dsp.frame import FRAME_SAMPLES, silence
from musicbot.dsp.lowpass import LowPass, cutoff_hz
from musicbot.dsp.params import LowPassParams
from tests.dsp.signals import Signal, clicks, gain_db, noise, run, sine


def two_tone(seconds: float = 1.0) -> Signal:
    return sine(110, seconds, 0.3, phase=0.7) + sine(440, seconds, 0.3, phase=2.1)


def test_follows_the_filter_protocol() -> None:
    lp = LowPass(LowPassParams(20.0))
    assert isinstance(lp, Filter)
    y = lp.process(noise(0.02))
    assert y.shape == (FRAME_SAMPLES, 2) and y.dtype == np.float32


def test_default_cutoff_is_about_390_hz() -> None:
    assert cutoff_hz(20.0) == pytest.approx(392, abs=2)
    assert cutoff_hz(1.0) == float("inf")


@pytest.mark.parametrize(("smoothing", "max_db_at_5_khz"), [(5.0, -6.0), (20.0, -18.0), (100.0, -30.0)])
def test_minus_three_db_near_the_cutoff_and_strong_cut_at_5_khz(
    smoothing: float, max_db_at_5_khz: float
) -> None:
    params = LowPassParams(smoothing)
    assert gain_db(LowPass(params), cutoff_hz(smoothing)) == pytest.approx(-3.0, abs=0.5)
    assert gain_db(LowPass(params), 20.0) > -0.5
    assert gain_db(LowPass(params), 5000.0) < max_db_at_5_khz


def test_frame_by_frame_equals_the_recursion_over_the_whole_signal() -> None:
    x = noise(0.5, 0.25, seed=4)
    y = run(LowPass(LowPassParams(20.0)), x)
    k = 1 / 20.0
    reference = scipy.signal.lfilter([k], [1, -(1 - k)], x.astype(np.float64), axis=0)
    np.testing.assert_allclose(y[: len(x)], reference, atol=1e-5, rtol=0)


def test_reset_clears_tails_and_silence_stays_silent() -> None:
    lp = LowPass(LowPassParams(1000.0))
    assert not np.any(run(lp, silence(4 * FRAME_SAMPLES)))
    run(lp, noise(0.1))
    assert np.any(lp.process(silence()))
    lp.reset()
    assert not np.any(run(lp, silence(3 * FRAME_SAMPLES)))


def test_changes_do_not_click() -> None:
    lp = LowPass()
    changes: dict[int, LowPassParams | None] = {
        2: LowPassParams(20.0), 5: LowPassParams(3.0), 8: LowPassParams(200.0), 11: None,
        14: LowPassParams(50.0), 17: LowPassParams(1.0), 20: LowPassParams(8.0), 30: None,
    }
    y = run(lp, two_tone(), between=lambda i: lp.set_params(changes[i]) if i in changes else None)
    assert clicks(y) == []


def test_extreme_smoothing_stays_finite() -> None:
    y = run(LowPass(LowPassParams(1000.0)), noise(0.5, 1.0, seed=7))
    assert np.all(np.isfinite(y)) and np.abs(y).max() < 1.0


def test_is_identity_when_off() -> None:
    x = noise(0.06)  # a whole number of frames
    for off in (LowPass(), LowPass(None), LowPass(LowPassParams(1.0))):
        assert off.is_identity
        np.testing.assert_array_equal(run(off, x), x)
    lp = LowPass()
    lp.set_params(LowPassParams(20.0))
    assert not lp.is_identity
    lp.process(silence())
    assert not lp.is_identity
    lp.set_params(None)
    assert not lp.is_identity  # the crossfade back to dry is still pending
    lp.process(silence())
    assert lp.is_identity
