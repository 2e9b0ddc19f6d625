"""The reverb is a room: a dense tail with the promised decay time, not an echo."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from musicbot.dsp.base import Filter
from musicbot.dsp.frame import SAMPLE_RATE_HZ
from musicbot.dsp.params import ReverbParams
from musicbot.dsp.reverb import Reverb, rt60_seconds
from tests.dsp.signals import Signal, clicks, noise, run, sine

WET_ONLY = ReverbParams(room_size=0.5, damping=0.0, wet_level=1.0, dry_level=0.0)


def _impulse_response(params: ReverbParams, seconds: float) -> npt.NDArray[np.float64]:
    x = np.zeros((int(seconds * SAMPLE_RATE_HZ), 2), np.float32)
    x[0] = 1.0
    return run(Reverb(params), x)[: len(x)].astype(np.float64)


def _rt60_from_edc(h: npt.NDArray[np.float64]) -> float:
    """Schroeder backward integration, straight-line fit of the −5…−35 dB span, extrapolated to 60 dB."""
    energy = np.sum(h**2, axis=1)
    edc = np.cumsum(energy[::-1])[::-1]
    edc_db = 10 * np.log10(edc / edc[0] + 1e-300)
    t = np.arange(len(energy)) / SAMPLE_RATE_HZ
    span = (edc_db <= -5) & (edc_db >= -35)
    slope = np.polyfit(t[span], edc_db[span], 1)[0]
    return float(-60.0 / slope)


def _faded_tone(seconds: float) -> Signal:
    """110 Hz + 440 Hz with a 50 ms fade-in, so the onset itself is not a transient."""
    x = sine(110, seconds, 0.3) + sine(440, seconds, 0.2)
    fade = np.minimum(1.0, np.arange(len(x)) / (0.05 * SAMPLE_RATE_HZ))
    return (x * (0.5 - 0.5 * np.cos(np.pi * fade))[:, None]).astype(np.float32)


def test_room_size_sets_the_decay_time() -> None:
    measured = {}
    for size in (0.5, 0.9):
        promised = rt60_seconds(size)
        h = _impulse_response(ReverbParams(room_size=size, damping=0.0, wet_level=1.0, dry_level=0.0),
                              2.2 * promised)
        measured[size] = _rt60_from_edc(h)
        assert measured[size] == pytest.approx(promised, rel=0.25), (size, measured[size], promised)
    assert measured[0.9] > 2 * measured[0.5]


def test_it_is_a_dense_room_not_an_echo() -> None:
    h = _impulse_response(WET_ONLY, 1.5)
    first_100ms = h[: SAMPLE_RATE_HZ // 10, 0]
    assert np.count_nonzero(np.abs(first_100ms) > 1e-3 * np.abs(h).max()) > 1000
    energy = h[:, 0] ** 2
    assert float(energy.max()) < 0.3 * float(energy.sum())
    # The late tail (after the early reflections) is dense too.
    late = h[SAMPLE_RATE_HZ // 10: SAMPLE_RATE_HZ // 5, 0]
    assert float((late**2).max()) < 0.01 * float((late**2).sum())


def _band_energy(h: npt.NDArray[np.float64], lo_hz: float, hi_hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(h[:, 0] * np.hanning(len(h)))) ** 2
    freqs = np.fft.rfftfreq(len(h), 1 / SAMPLE_RATE_HZ)
    return float(spectrum[(freqs >= lo_hz) & (freqs < hi_hz)].sum())


def _decay_db(h: npt.NDArray[np.float64], lo_hz: float, hi_hz: float) -> float:
    """How far the band has fallen from 50–250 ms to 450–650 ms, in dB."""
    early = h[int(0.05 * SAMPLE_RATE_HZ):int(0.25 * SAMPLE_RATE_HZ)]
    later = h[int(0.45 * SAMPLE_RATE_HZ):int(0.65 * SAMPLE_RATE_HZ)]
    return 10 * float(np.log10(_band_energy(early, lo_hz, hi_hz) / _band_energy(later, lo_hz, hi_hz)))


def test_damping_darkens_the_tail() -> None:
    bright = _impulse_response(WET_ONLY, 0.7)
    dark = _impulse_response(ReverbParams(room_size=0.5, damping=1.0, wet_level=1.0, dry_level=0.0), 0.7)
    low, high = (100.0, 500.0), (5000.0, 12000.0)
    assert abs(_decay_db(bright, *high) - _decay_db(bright, *low)) < 3.0
    assert _decay_db(dark, *high) > _decay_db(dark, *low) + 10.0


def test_width_zero_gives_a_mono_wet_signal_and_width_one_a_wide_one() -> None:
    mono_in = np.repeat(noise(1.0, 0.2)[:, :1], 2, axis=1)
    narrow = run(Reverb(ReverbParams(wet_level=1.0, dry_level=0.0, width=0.0)), mono_in)
    np.testing.assert_allclose(narrow[:, 0], narrow[:, 1], atol=1e-6)
    wide = run(Reverb(ReverbParams(wet_level=1.0, dry_level=0.0, width=1.0)), mono_in)
    assert abs(np.corrcoef(wide[:, 0], wide[:, 1])[0, 1]) < 0.3


def test_silence_stays_silence() -> None:
    y = run(Reverb(ReverbParams(room_size=1.0)), np.zeros((SAMPLE_RATE_HZ, 2), np.float32))
    np.testing.assert_array_equal(y, 0.0)


def test_reset_clears_the_tail() -> None:
    reverb = Reverb(ReverbParams(room_size=0.9))
    run(reverb, noise(0.5, 0.3))
    reverb.reset()
    np.testing.assert_array_equal(run(reverb, np.zeros((9600, 2), np.float32)), 0.0)


def test_it_is_linear_and_time_invariant() -> None:
    x = noise(0.6, 0.2)
    reverb = Reverb(ReverbParams())
    first = run(reverb, x)
    reverb.reset()
    np.testing.assert_array_equal(run(reverb, x), first)
    reverb.reset()
    doubled = run(reverb, (2 * x).astype(np.float32))
    np.testing.assert_allclose(doubled, 2 * first, rtol=1e-5, atol=1e-6)


def test_parameter_changes_do_not_click() -> None:
    settings = [
        ReverbParams(),
        ReverbParams(room_size=0.9, damping=0.1, wet_level=0.6, dry_level=0.3, width=0.2),
        ReverbParams(room_size=0.1, damping=1.0, wet_level=0.2, dry_level=0.9, width=1.0),
        ReverbParams(room_size=1.0, damping=0.0, wet_level=0.8, dry_level=0.5, width=0.5),
    ]
    reverb = Reverb(settings[0])

    def change(i: int) -> None:
        if i % 12 == 0:
            reverb.set_params(settings[(i // 12) % len(settings)])

    y = run(reverb, _faded_tone(2.5), between=change)
    assert clicks(y) == []


def test_switching_on_and_off_does_not_click() -> None:
    reverb = Reverb(None)
    assert reverb.is_identity

    def toggle(i: int) -> None:
        if i % 15 == 5:
            reverb.set_params(ReverbParams(room_size=0.8, wet_level=0.5) if i % 30 == 5 else None)

    x = _faded_tone(2.0)
    y = run(reverb, x, between=toggle)
    assert clicks(y) == []
    np.testing.assert_array_equal(y[:5 * 960], x[:5 * 960])  # off at first: untouched


def test_turning_off_fades_within_a_frame_and_becomes_identity() -> None:
    reverb = Reverb(ReverbParams(room_size=0.9, wet_level=0.5))
    assert isinstance(reverb, Filter) and not reverb.is_identity
    run(reverb, noise(0.3, 0.2))
    reverb.set_params(None)
    x = noise(0.1, 0.2, seed=5)
    y = run(reverb, x)
    assert reverb.is_identity
    np.testing.assert_array_equal(y[960:], x[960:])


def test_stable_at_the_largest_undamped_room() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (20 * SAMPLE_RATE_HZ, 2)).astype(np.float32)
    y = run(Reverb(ReverbParams(room_size=1.0, damping=0.0, wet_level=1.0, dry_level=1.0)), x)
    assert np.isfinite(y).all()
    last_second = y[-SAMPLE_RATE_HZ:]
    assert float(np.abs(last_second).max()) < 8.0
    assert float(np.sqrt(np.mean(last_second.astype(np.float64) ** 2))) < 2.0


def test_the_tail_dies_to_exact_silence() -> None:
    # Rather than decaying forever into subnormal floats (slow), an inaudible tail is dropped.
    reverb = Reverb(ReverbParams(room_size=0.0))
    y = run(reverb, np.concatenate([noise(0.2, 0.3), np.zeros((3 * SAMPLE_RATE_HZ, 2), np.float32)]))
    assert float(np.abs(y[SAMPLE_RATE_HZ // 2:SAMPLE_RATE_HZ]).max()) > 0.0
    np.testing.assert_array_equal(y[-SAMPLE_RATE_HZ:], 0.0)
