"""The limiter keeps every sample under the ceiling, without the distortion of hard clipping."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from musicbot.dsp.base import Filter
from musicbot.dsp.frame import SAMPLE_RATE_HZ
from musicbot.dsp.limiter import Limiter
from tests.dsp.signals import Signal, clicks, concat, noise, run, sine

CEILING = 10 ** (-1.0 / 20)


def _full_scale_noise(seconds: float, gain: float) -> Signal:
    """Uniform noise filling ±1 (not clipped Gaussian: that already has flat tops) times ``gain``."""
    rng = np.random.default_rng(11)
    return (gain * rng.uniform(-1.0, 1.0, (int(seconds * SAMPLE_RATE_HZ), 2))).astype(np.float32)


def _stepped_levels(seconds: float = 3.0) -> Signal:
    rng = np.random.default_rng(7)
    x = noise(seconds, 0.5, seed=3)
    block = SAMPLE_RATE_HZ // 10
    levels = np.repeat(10 ** rng.uniform(-1.5, 1.2, len(x) // block + 1), block)[: len(x)]
    return (x * levels[:, None]).astype(np.float32)


def _spike() -> Signal:
    x = np.zeros((SAMPLE_RATE_HZ // 2, 2), np.float32)
    x[10_000] = 10.0
    x[17_001, 1] = -10.0
    return x


@pytest.mark.parametrize(
    "signal",
    [
        pytest.param(_full_scale_noise(2.0, 5.0), id="full-scale-noise-x5"),
        pytest.param(sine(40, 2.0, 8.0), id="40Hz-sine-amplitude-8"),
        pytest.param(_spike(), id="single-sample-spike-10"),
        pytest.param(_stepped_levels(), id="random-stepped-levels"),
    ],
)
def test_every_sample_stays_under_the_ceiling(signal: Signal) -> None:
    y = run(Limiter(ceiling_dbfs=-1.0), signal)
    assert np.isfinite(y).all()
    assert float(np.abs(y).max()) <= CEILING


def test_the_limiter_is_a_filter_with_constant_latency() -> None:
    lim = Limiter()
    assert isinstance(lim, Filter)
    assert not lim.is_identity
    assert lim.latency_samples == 72  # 1.5 ms at 48 kHz


def test_a_signal_below_the_ceiling_passes_unchanged_apart_from_the_latency() -> None:
    lim = Limiter()
    x = concat([noise(0.5, 0.1), sine(440, 0.5, 0.8)])
    y = run(lim, x)
    latency = lim.latency_samples
    np.testing.assert_array_equal(y[:latency], 0.0)
    np.testing.assert_array_equal(y[latency:len(x)], x[: len(x) - latency])
    assert lim.gain_reduction_db == 0.0


def test_latency_is_the_same_while_limiting() -> None:
    lim = Limiter()
    y = run(lim, _spike())
    assert int(np.argmax(np.abs(y[:, 0]))) == 10_000 + lim.latency_samples


def _plateau_samples(y: npt.NDArray[np.float32], level: float) -> int:
    """Samples sitting at the ceiling whose neighbour sits there too: the signature of clipping."""
    at = np.abs(y) >= level * (1 - 1e-4)
    return int(np.count_nonzero(at[1:] & at[:-1]))


def _thd(mono: npt.NDArray[np.floating], freq_hz: float) -> float:
    """Total harmonic distortion of a steady tone: harmonic RMS over fundamental RMS."""
    x = np.asarray(mono, dtype=np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    bin_hz = SAMPLE_RATE_HZ / len(x)

    def power(f: float) -> float:
        k = round(f / bin_hz)
        return float(np.sum(spectrum[k - 3:k + 4] ** 2))

    harmonics = sum(power(freq_hz * h) for h in range(2, 20))
    return float(np.sqrt(harmonics / power(freq_hz)))


def test_no_hard_clipping_and_far_less_distortion_than_clip() -> None:
    x = sine(100, 2.0, 4.0)
    y = run(Limiter(), x)[: len(x)]
    clipped = np.clip(x, -CEILING, CEILING)
    steady = slice(SAMPLE_RATE_HZ, 2 * SAMPLE_RATE_HZ)
    assert _plateau_samples(y[steady], CEILING) == 0
    assert _plateau_samples(clipped[steady], CEILING) > 1000
    limited, hard = _thd(y[steady, 0], 100), _thd(clipped[steady, 0], 100)
    assert limited < hard / 4, (limited, hard)


def test_loud_noise_is_not_flattened_against_the_ceiling() -> None:
    y = run(Limiter(), _full_scale_noise(1.0, 5.0))
    assert _plateau_samples(y, CEILING) < 0.001 * y.size


def test_gain_changes_are_smooth() -> None:
    # The level rises tenfold and falls back, each over 20 ms: the input itself has no click.
    x = sine(110, 3.0, 1.0)
    t = np.arange(len(x)) / SAMPLE_RATE_HZ
    rise = np.clip((t - 1.0) / 0.02, 0, 1) - np.clip((t - 2.0) / 0.02, 0, 1)
    x = (x * (0.3 + 2.7 * (0.5 - 0.5 * np.cos(np.pi * rise)))[:, None]).astype(np.float32)
    assert clicks(x[100:]) == []
    y = run(Limiter(), x)
    assert clicks(y[200:]) == []


def test_reports_gain_reduction() -> None:
    lim = Limiter()
    run(lim, sine(100, 0.5, 4.0))
    assert lim.gain_reduction_db == pytest.approx(20 * np.log10(4.0 / CEILING), abs=0.1)


def test_garbage_in_gives_no_nan_out() -> None:
    x = noise(0.2, 0.5)
    x[100] = np.nan
    x[3000, 0] = np.inf
    y = run(Limiter(), x)
    assert np.isfinite(y).all() and float(np.abs(y).max()) <= CEILING


def test_reset_clears_delay_and_gain_reduction() -> None:
    lim = Limiter()
    run(lim, (noise(0.5, 1.0) * 8).astype(np.float32))
    lim.reset()
    assert lim.gain_reduction_db == 0.0
    np.testing.assert_array_equal(run(lim, np.zeros((960, 2), np.float32)), 0.0)
    x = noise(0.2, 0.1)
    y = run(lim, x)
    assert float(np.abs(y[lim.latency_samples:len(x)] - x[: len(x) - lim.latency_samples]).max()) == 0.0
