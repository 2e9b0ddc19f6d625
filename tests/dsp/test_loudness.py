"""The normalizer brings programme loudness to target, checked with an independent BS.1770 meter."""

from __future__ import annotations

import functools

import numpy as np
import pyloudnorm
import pytest

from musicbot.dsp.base import Filter
from musicbot.dsp.frame import SAMPLE_RATE_HZ
from musicbot.dsp.loudness import MAX_GAIN_DB, LoudnessNormalizer
from tests.dsp.signals import Signal, clicks, run, sine

METER = pyloudnorm.Meter(SAMPLE_RATE_HZ)


def _measure(x: Signal) -> float:
    return float(METER.integrated_loudness(np.asarray(x, dtype=np.float64)))


@functools.cache
def _unit_pink(seconds: float, seed: int) -> tuple[Signal, float]:
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE_HZ)
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE_HZ)
    shaped = np.fft.rfft(rng.standard_normal((n, 2)), axis=0) / np.sqrt(np.maximum(freqs, 20.0))[:, None]
    x = np.fft.irfft(shaped, n=n, axis=0).astype(np.float32)
    return x, _measure(x)


def _pink(seconds: float, lufs: float, *, seed: int = 1) -> Signal:
    """Stereo 1/f noise (independent channels) scaled to ``lufs`` by pyloudnorm."""
    x, measured = _unit_pink(seconds, seed)
    return (x * 10 ** ((lufs - measured) / 20)).astype(np.float32)


def _silence(seconds: float) -> Signal:
    return np.zeros((int(seconds * SAMPLE_RATE_HZ), 2), np.float32)


@pytest.mark.parametrize(("input_lufs", "target_lufs"), [(-30, -14), (-6, -14), (-30, -20), (-6, -20)])
def test_converges_to_the_target(input_lufs: float, target_lufs: float) -> None:
    norm = LoudnessNormalizer(target_lufs)
    y = run(norm, _pink(10.0, input_lufs))
    assert _measure(y[-5 * SAMPLE_RATE_HZ:]) == pytest.approx(target_lufs, abs=1.0)
    assert norm.current_gain_db == pytest.approx(target_lufs - input_lufs, abs=1.0)


def test_is_a_filter() -> None:
    assert isinstance(LoudnessNormalizer(), Filter)


def test_silence_stays_silent_and_does_not_pump_the_gain() -> None:
    norm = LoudnessNormalizer()
    y = run(norm, _silence(5.0))
    np.testing.assert_array_equal(y, 0.0)
    assert norm.current_gain_db == 0.0
    # A loud start after the silence is not boosted: the first 100 ms come out at input level.
    loud = _pink(2.0, -6.0)
    y = run(norm, loud)
    first = slice(0, SAMPLE_RATE_HZ // 10)
    assert float(np.abs(y[first]).max()) <= float(np.abs(loud[first]).max()) * 1.001


def test_near_silence_is_not_boosted() -> None:
    norm = LoudnessNormalizer()
    run(norm, _pink(3.0, -80.0))
    assert norm.current_gain_db == 0.0


def test_gain_holds_through_silence_and_catches_a_loud_track_fast() -> None:
    norm = LoudnessNormalizer()
    quiet, loud = _pink(6.0, -30.0), _pink(5.0, -6.0, seed=2)
    run(norm, quiet)
    boost = norm.current_gain_db
    assert boost > 12.0
    run(norm, _silence(5.0))
    assert boost - 0.5 <= norm.current_gain_db <= min(boost + 1.0, MAX_GAIN_DB)
    y = run(norm, loud)
    # Within a fraction of a second the guard has pulled the gain down; then it settles on target.
    assert _measure(y[SAMPLE_RATE_HZ // 10: SAMPLE_RATE_HZ // 2]) < -14.0 + 12.0
    assert _measure(y[-2 * SAMPLE_RATE_HZ:]) == pytest.approx(-14.0, abs=1.5)


def test_no_clicks_while_adapting() -> None:
    tone = (sine(110, 6.0, 0.01) + sine(440, 6.0, 0.003)).astype(np.float32)
    norm = LoudnessNormalizer()
    gains: list[float] = []
    y = run(norm, tone, between=lambda _: gains.append(norm.current_gain_db))
    assert max(gains) - min(gains) > 10.0  # it really was adapting
    assert clicks(y[10:]) == []


def test_disabled_is_identity() -> None:
    norm = LoudnessNormalizer(enabled=False)
    assert norm.is_identity
    x = _pink(1.0, -30.0)
    np.testing.assert_array_equal(run(norm, x), x)


def test_disabling_fades_back_to_unity_within_a_frame() -> None:
    norm = LoudnessNormalizer()
    run(norm, _pink(4.0, -30.0))
    assert norm.current_gain_db > 6.0
    norm.set_enabled(False)
    x = sine(110, 0.5, 0.05)
    y = run(norm, x)
    assert norm.is_identity and norm.current_gain_db == 0.0
    np.testing.assert_array_equal(y[960:len(x)], x[960:])
    assert clicks(y[10:len(x)]) == []


def test_set_target_and_reset() -> None:
    norm = LoudnessNormalizer()
    x = _pink(10.0, -20.0)
    run(norm, x[: 5 * SAMPLE_RATE_HZ])
    norm.set_target(-23.0)
    assert norm.target_lufs == -23.0
    y = run(norm, x[5 * SAMPLE_RATE_HZ:])
    assert _measure(y[-2 * SAMPLE_RATE_HZ:]) == pytest.approx(-23.0, abs=1.0)
    kept = norm.current_gain_db
    norm.reset()
    assert norm.current_gain_db == kept  # a new track starts from the last gain
    assert norm.estimate_lufs is None
    with pytest.raises(ValueError, match="target_lufs"):
        norm.set_target(5.0)
