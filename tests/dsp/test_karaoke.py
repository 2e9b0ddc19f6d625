"""Karaoke: the centre vanishes, the sides stay, the filter band comes back; exact and click-free."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal

from musicbot.dsp.base import Filter
from musicbot.dsp.frame import FRAME_SAMPLES, SAMPLE_RATE_HZ, silence
from musicbot.dsp.karaoke import Karaoke
from musicbot.dsp.params import KaraokeParams
from tests.dsp.signals import Signal, clicks, db, gain_db, noise, rms, run, sine, stereo

DEFAULT = KaraokeParams()  # level 1, monoLevel 1, band 220 Hz, width 100 Hz


def two_tone(seconds: float = 1.0) -> Signal:
    return sine(110, seconds, 0.3, phase=0.7) + sine(440, seconds, 0.3, phase=2.1)


def lavadsp_reference(x: Signal, p: KaraokeParams) -> np.ndarray:
    """lavadsp's KaraokeConverter over the whole signal, written out from its formula."""
    x64 = x.astype(np.float64)
    left, right = x64[:, 0], x64[:, 1]
    c = math.exp(-2 * math.pi * p.filter_width_hz / SAMPLE_RATE_HZ)
    b = -4 * c / (1 + c) * math.cos(2 * math.pi * p.filter_band_hz / SAMPLE_RATE_HZ)
    a = math.sqrt(1 - b * b / (4 * c)) * (1 - c)
    y = scipy.signal.lfilter([a], [1, b, c], (left + right) / 2)
    mono = p.level * p.mono_level * y
    return np.stack([left - p.level * right + mono, right - p.level * left + mono], axis=1)


def test_follows_the_filter_protocol() -> None:
    k = Karaoke(DEFAULT)
    assert isinstance(k, Filter)
    y = k.process(noise(0.02))
    assert y.shape == (FRAME_SAMPLES, 2) and y.dtype == np.float32


def test_centre_panned_tone_outside_the_band_is_cancelled() -> None:
    assert gain_db(Karaoke(DEFAULT), 1000.0) < -30.0
    assert gain_db(Karaoke(DEFAULT), 5000.0) < -30.0


def test_hard_left_tone_survives_on_the_left() -> None:
    tone = sine(1000.0, 0.5)
    x = stereo(tone, np.zeros_like(tone))
    y = run(Karaoke(DEFAULT), x)[: len(x)]
    half = len(x) // 2
    assert db(rms(y[half:, 0]) / rms(x[half:, 0])) == pytest.approx(0.0, abs=0.5)


@pytest.mark.parametrize(("mono_level", "expected_db"), [(1.0, 0.0), (0.5, -6.0)])
def test_the_filter_band_comes_back_at_mono_level(mono_level: float, expected_db: float) -> None:
    params = KaraokeParams(mono_level=mono_level)
    assert gain_db(Karaoke(params), params.filter_band_hz) == pytest.approx(expected_db, abs=1.0)


def test_frame_by_frame_equals_lavadsp_over_the_whole_signal() -> None:
    params = KaraokeParams(level=0.8, mono_level=0.6, filter_band_hz=300.0, filter_width_hz=150.0)
    x = noise(0.5, 0.25, seed=6)
    y = run(Karaoke(params), x)
    np.testing.assert_allclose(y[: len(x)], lavadsp_reference(x, params), atol=1e-5, rtol=0)


def test_reset_clears_tails_and_silence_stays_silent() -> None:
    k = Karaoke(KaraokeParams(filter_width_hz=1.0))  # narrowest band: longest ring
    assert not np.any(run(k, silence(4 * FRAME_SAMPLES)))
    run(k, noise(0.1))
    assert np.any(k.process(silence()))
    k.reset()
    assert not np.any(run(k, silence(3 * FRAME_SAMPLES)))


def test_changes_do_not_click() -> None:
    k = Karaoke()
    left_heavy = stereo(two_tone(), 0.4 * two_tone())
    changes: dict[int, KaraokeParams | None] = {
        2: DEFAULT, 5: KaraokeParams(level=0.5), 8: KaraokeParams(filter_band_hz=440.0), 11: None,
        14: KaraokeParams(mono_level=0.2, filter_width_hz=20.0), 17: KaraokeParams(level=0.0),
        20: KaraokeParams(filter_band_hz=110.0, filter_width_hz=300.0), 30: None,
    }
    y = run(k, left_heavy, between=lambda i: k.set_params(changes[i]) if i in changes else None)
    assert clicks(y) == []


def test_extreme_settings_stay_finite() -> None:
    full_scale = noise(0.5, 1.0, seed=7)
    for params in (KaraokeParams(filter_band_hz=20.0, filter_width_hz=1.0),
                   KaraokeParams(filter_band_hz=20_000.0, filter_width_hz=10_000.0)):
        assert np.all(np.isfinite(run(Karaoke(params), full_scale)))


def test_is_identity_when_off() -> None:
    x = noise(0.06)  # a whole number of frames
    for off in (Karaoke(), Karaoke(None), Karaoke(KaraokeParams(level=0.0))):
        assert off.is_identity
        np.testing.assert_array_equal(run(off, x), x)
    k = Karaoke()
    k.set_params(DEFAULT)
    assert not k.is_identity
    k.process(silence())
    assert not k.is_identity
    k.set_params(None)
    assert not k.is_identity  # the crossfade back to dry is still pending
    k.process(silence())
    assert k.is_identity
