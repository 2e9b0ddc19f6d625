"""Equalizer: Lavalink's band gains in dB, exact equality with the per-band recursion, no clicks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal

from musicbot.dsp.base import Filter
from musicbot.dsp.equalizer import EQ_BETAS, Equalizer
from musicbot.dsp.frame import FRAME_SAMPLES, SAMPLE_RATE_HZ, silence
from musicbot.dsp.lti import BankRunner, ParallelBank
from musicbot.dsp.params import EQ_BAND_CENTRES_HZ, FLAT_EQ
from tests.dsp.signals import Signal, clicks, gain_db, noise, run, sine

LAVAPLAYER_BETAS = (
    0.998475467, 0.997561847, 0.996162614, 0.993915785, 0.990283072,
    0.984858973, 0.975885127, 0.962285218, 0.940809331, 0.907020592,
    0.858680043, 0.784096108, 0.683328610, 0.552675182, 0.418118884,
)


def one_band(band: int, gain: float) -> tuple[float, ...]:
    gains = [0.0] * 15
    gains[band] = gain
    return tuple(gains)


def lavaplayer_reference(x: Signal, gains: tuple[float, ...]) -> np.ndarray:
    """lavaplayer's equalizer over the whole signal: each band with lfilter, then out = x + 4Σg·b."""
    x64 = x.astype(np.float64)
    out = x64.copy()
    for beta, centre, gain in zip(LAVAPLAYER_BETAS, EQ_BAND_CENTRES_HZ, gains, strict=True):
        alpha = (1 - beta) / 2
        gamma = (1 + beta) * math.cos(2 * math.pi * centre / SAMPLE_RATE_HZ)
        out += 4 * gain * scipy.signal.lfilter([alpha, 0, -alpha], [1, -gamma, beta], x64, axis=0)
    return out


def two_tone(seconds: float = 1.0) -> Signal:
    return sine(110, seconds, 0.3, phase=0.7) + sine(440, seconds, 0.3, phase=2.1)


def test_follows_the_filter_protocol_and_lavaplayer_table() -> None:
    eq = Equalizer(one_band(3, 0.2))
    assert isinstance(eq, Filter)
    assert EQ_BETAS == LAVAPLAYER_BETAS
    y = eq.process(noise(0.02))
    assert y.shape == (FRAME_SAMPLES, 2) and y.dtype == np.float32 and y.flags.c_contiguous


@pytest.mark.parametrize("band", [0, 4, 8, 12, 14])
def test_quarter_gain_doubles_the_band_centre(band: int) -> None:
    assert gain_db(Equalizer(one_band(band, 0.25)), EQ_BAND_CENTRES_HZ[band]) == pytest.approx(6.02, abs=0.1)


@pytest.mark.parametrize("band", [2, 8, 13])
def test_minus_quarter_notches_the_band_centre(band: int) -> None:
    assert gain_db(Equalizer(one_band(band, -0.25)), EQ_BAND_CENTRES_HZ[band]) < -20.0


def test_distant_bands_are_untouched() -> None:
    eq_mid = one_band(8, 0.25)  # 1 kHz
    for freq in (40.0, 16_000.0):
        assert gain_db(Equalizer(eq_mid), freq) == pytest.approx(0.0, abs=0.5)
    assert gain_db(Equalizer(one_band(0, -0.25)), 2500.0) == pytest.approx(0.0, abs=0.5)


def test_frame_by_frame_equals_lavaplayer_over_the_whole_signal() -> None:
    gains = (0.3, -0.25, 0.1, 1.0, -0.1, 0.0, 0.25, 0.5, -0.2, 0.05, 0.7, -0.25, 0.15, 0.9, -0.05)
    x = noise(0.5, 0.25, seed=3)
    y = run(Equalizer(gains), x)
    np.testing.assert_allclose(y[: len(x)], lavaplayer_reference(x, gains), atol=1e-5, rtol=0)


def test_reset_clears_tails_and_silence_stays_silent() -> None:
    eq = Equalizer(one_band(0, 1.0))  # the 25 Hz band rings longest
    assert not np.any(run(eq, silence(4 * FRAME_SAMPLES)))
    run(eq, noise(0.1))
    assert np.any(eq.process(silence()))  # a tail is ringing...
    eq.reset()
    assert not np.any(run(eq, silence(3 * FRAME_SAMPLES)))  # ...and reset silences it


def test_gain_changes_do_not_click() -> None:
    eq = Equalizer()
    bass, mid = one_band(3, 0.8), one_band(6, -0.25)
    both = tuple(a + b for a, b in zip(bass, mid, strict=True))
    changes: dict[int, tuple[float, ...] | None] = {
        3: bass, 6: mid, 9: both, 12: None, 15: one_band(5, 0.5), 18: FLAT_EQ, 22: both, 30: None,
    }
    y = run(eq, two_tone(), between=lambda i: eq.set_params(changes[i]) if i in changes else None)
    assert clicks(y) == []


def test_gain_change_is_complete_after_one_frame() -> None:
    target = one_band(3, 0.5)
    x = two_tone(0.5)
    eq = Equalizer(one_band(9, -0.2))
    y = run(eq, x, between=lambda i: eq.set_params(target) if i == 2 else None)
    # The bands run whatever the gains, so after the gliding frame the output is exactly that of
    # an equalizer that had the target gains all along.
    expected = run(Equalizer(target), x)
    np.testing.assert_allclose(y[3 * FRAME_SAMPLES:], expected[3 * FRAME_SAMPLES:], atol=1e-6)
    glide = slice(2 * FRAME_SAMPLES, 3 * FRAME_SAMPLES)
    assert not np.allclose(y[glide], expected[glide])


def test_extreme_gains_stay_finite() -> None:
    full_scale = noise(0.5, 1.0, seed=7)
    y = run(Equalizer((1.0,) * 15), full_scale)
    assert np.all(np.isfinite(y))


def test_is_identity_only_when_flat() -> None:
    eq = Equalizer()
    assert eq.is_identity
    x = noise(0.05)
    np.testing.assert_array_equal(run(eq, x), run(Equalizer(None), x))
    eq.set_params(one_band(4, 0.1))
    assert not eq.is_identity
    eq.process(silence())
    assert not eq.is_identity
    eq.set_params(FLAT_EQ)
    assert not eq.is_identity  # the glide back to flat is still pending
    eq.process(silence())
    assert eq.is_identity


def test_block_machinery_is_exact_for_any_recursive_filters() -> None:
    # The generic lti.ParallelBank on other orders and another block length than the EQ's.
    sections = [([0.2, 0.1, 0.0, -0.05], [1.0, -1.2, 0.5, -0.1]), ([0.3], [1.0, -0.7])]
    weights = (0.7, -1.3)
    bank, block = ParallelBank(sections, 64), 64
    runner = BankRunner(bank, 2)
    x = noise(0.04, seed=9).astype(np.float64)[: 10 * block]
    out = []
    for i in range(0, len(x), block):
        runner.load(x[i:i + block])
        out.append(runner.respond(bank.weighting(weights, direct=0.5)).T)
        runner.advance()
    expected = 0.5 * x + sum(w * scipy.signal.lfilter(b, a, x, axis=0)
                             for w, (b, a) in zip(weights, sections, strict=True))
    np.testing.assert_allclose(np.concatenate(out), expected, atol=1e-12)


def test_rejects_the_wrong_number_of_bands() -> None:
    with pytest.raises(ValueError, match="15 band gains"):
        Equalizer((0.1, 0.2))
