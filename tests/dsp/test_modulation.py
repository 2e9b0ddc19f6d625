"""Tremolo, rotation and vibrato: modulation rate and depth as heard, continuity, no clicks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from scipy import ndimage, signal

from musicbot.dsp.base import Filter
from musicbot.dsp.frame import FRAME_SAMPLES, SAMPLE_RATE_HZ, silence
from musicbot.dsp.modulation import Rotation, Tremolo, Vibrato
from musicbot.dsp.params import RotationParams, TremoloParams, VibratoParams
from tests.dsp.signals import clicks, db, dominant_hz, envelope, noise, run, sine

F64 = npt.NDArray[np.float64]
TRIM = SAMPLE_RATE_HZ // 10  # skip 100 ms at each end, where the meters' windows are cut off


def two_tone(seconds: float = 1.0) -> npt.NDArray[np.float32]:
    # Phases chosen so that no frame boundary falls on a zero crossing, where a step would hide.
    return sine(110, seconds, 0.3, phase=0.7) + sine(440, seconds, 0.3, phase=2.1)


def modulation(env: F64) -> F64:
    """The envelope's swing around its mean, away from the ends."""
    steady: F64 = env[TRIM:-TRIM]
    swing: F64 = steady - float(steady.mean())
    return swing


def instantaneous_hz(mono: npt.NDArray[np.floating]) -> F64:
    """Pitch of a single tone at every sample (analytic-signal phase slope, smoothed over 1 ms)."""
    phase = np.unwrap(np.angle(signal.hilbert(np.asarray(mono, np.float64))))
    hz = np.diff(phase) * SAMPLE_RATE_HZ / (2 * np.pi)
    return np.asarray(ndimage.uniform_filter1d(hz, SAMPLE_RATE_HZ // 1000))[TRIM:-TRIM]


def phase_difference(a: F64, b: F64, freq_hz: float) -> float:
    """Phase of ``a``'s component at ``freq_hz`` minus ``b``'s, in radians within (−π, π]."""
    probe = np.exp(-2j * np.pi * freq_hz * np.arange(len(a)) / SAMPLE_RATE_HZ)
    return float(np.angle(np.sum(a * probe) * np.conj(np.sum(b * probe))))


# --- shared behaviour ------------------------------------------------------------------------------

FACTORIES: dict[str, tuple[Callable[[], Any], Callable[[Any], None]]] = {
    # name: (a filter that is on, a call that changes its settings)
    "tremolo": (lambda: Tremolo(TremoloParams(3.0, 0.6)),
                lambda f: f.set_params(TremoloParams(7.0, 0.9))),
    "rotation": (lambda: Rotation(RotationParams(1.0)),
                 lambda f: f.set_params(RotationParams(3.0))),
    "vibrato": (lambda: Vibrato(VibratoParams(4.0, 0.7)),
                lambda f: f.set_params(VibratoParams(9.0, 0.3))),
}


@pytest.mark.parametrize("name", FACTORIES)
def test_follows_the_filter_protocol(name: str) -> None:
    filt = FACTORIES[name][0]()
    assert isinstance(filt, Filter)
    y = filt.process(noise(0.02))
    assert y.shape == (FRAME_SAMPLES, 2) and y.dtype == np.float32


@pytest.mark.parametrize("name", FACTORIES)
def test_silence_stays_silence(name: str) -> None:
    make, change = FACTORIES[name]
    filt = make()
    y = run(filt, silence(10 * FRAME_SAMPLES), between=lambda i: change(filt) if i == 4 else None)
    assert not np.any(y)


@pytest.mark.parametrize("name", FACTORIES)
def test_reset_gives_the_output_of_a_fresh_instance(name: str) -> None:
    make, change = FACTORIES[name]
    x = noise(0.2)
    filt = make()
    run(filt, noise(0.13, seed=7))
    change(filt)
    run(filt, noise(0.05, seed=8))  # mid-stream: phase, delay line and settings all moved
    filt.reset()
    fresh = make()
    change(fresh)
    fresh.reset()  # a fresh instance that starts directly at the changed settings
    np.testing.assert_array_equal(run(filt, x), run(fresh, x))


@pytest.mark.parametrize(
    "filt",
    [Tremolo(TremoloParams(50.0, 1.0)), Tremolo(TremoloParams(1e5, 7.0)), Rotation(RotationParams(5.0)),
     Rotation(RotationParams(1e5)), Vibrato(VibratoParams(14.0, 1.0)), Vibrato(VibratoParams(1e5, 9.0))],
    ids=lambda f: type(f).__name__,
)
def test_extreme_settings_stay_finite_and_bounded(filt: Filter) -> None:
    x = noise(1.0, amplitude=0.3)
    y = run(filt, x)
    assert np.isfinite(y).all()
    # Tremolo and rotation only attenuate; vibrato's interpolation may overshoot a little.
    assert np.abs(y).max() <= 1.2 * np.abs(x).max()


# --- Tremolo -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rate_hz", "depth"), [(2.0, 0.5), (4.0, 0.3), (7.5, 0.9)])
def test_tremolo_rate_and_depth_are_heard(rate_hz: float, depth: float) -> None:
    y = run(Tremolo(TremoloParams(rate_hz, depth)), sine(1000, 3.0))
    env = envelope(y[:, 0])
    assert dominant_hz(modulation(env)) == pytest.approx(rate_hz, rel=0.02)
    steady = env[TRIM:-TRIM]
    assert steady.min() / steady.max() == pytest.approx(1.0 - depth, abs=0.03)
    assert steady.max() == pytest.approx(0.5, abs=0.01)  # the peaks keep the input level


def test_tremolo_follows_lavalinks_gain_law_across_frames() -> None:
    rate_hz, depth = 3.3, 0.8
    x = noise(0.5)
    y = run(Tremolo(TremoloParams(rate_hz, depth)), x)
    n = np.arange(1, len(x) + 1)
    gain = 1 - depth / 2 + depth / 2 * np.sin(2 * np.pi * rate_hz * n / SAMPLE_RATE_HZ)
    np.testing.assert_allclose(y, x * gain[:, None], atol=2e-6)


def test_tremolo_changes_and_on_off_do_not_click() -> None:
    trem = Tremolo()
    changes = {7: TremoloParams(4.0, 0.5), 13: TremoloParams(12.0, 0.9), 22: TremoloParams(2.0, 0.2),
               31: None, 38: TremoloParams(50.0, 1.0), 44: None}
    y = run(trem, two_tone(), between=lambda i: trem.set_params(changes[i]) if i in changes else None)
    assert clicks(y) == []


def test_tremolo_is_identity() -> None:
    trem = Tremolo()
    assert trem.is_identity
    x = noise(0.1)
    np.testing.assert_array_equal(run(trem, x), x)
    trem.set_params(TremoloParams())
    assert not trem.is_identity
    trem.process(silence())
    trem.set_params(None)
    assert not trem.is_identity  # the fade-out is still pending
    trem.process(silence())
    assert trem.is_identity


# --- Rotation ------------------------------------------------------------------------------------


def test_rotation_sweeps_the_sides_in_antiphase_at_constant_power() -> None:
    y = run(Rotation(RotationParams(2.0)), sine(1000, 3.0))
    left, right = envelope(y[:, 0]), envelope(y[:, 1])
    assert dominant_hz(modulation(left)) == pytest.approx(2.0, rel=0.02)
    assert dominant_hz(modulation(right)) == pytest.approx(2.0, rel=0.02)
    assert abs(phase_difference(modulation(left), modulation(right), 2.0)) == pytest.approx(np.pi, abs=0.05)
    # Each side sweeps from silent to full level...
    assert left[TRIM:-TRIM].max() == pytest.approx(0.5, abs=0.01) and left[TRIM:-TRIM].min() < 0.02
    # ...while the sum of the sides' powers, what a listener perceives as loudness, stays put.
    power = (left**2 + right**2)[TRIM:-TRIM]
    assert db(float(np.sqrt(power.max() / power.min()))) < 1.0


def test_rotation_starts_centred_at_minus_3_db() -> None:
    x = np.ones((FRAME_SAMPLES, 2), np.float32)
    y = Rotation(RotationParams(0.2)).process(x)
    np.testing.assert_allclose(y[0], np.sqrt(0.5), atol=1e-3)


def test_rotation_changes_and_on_off_do_not_click() -> None:
    rot = Rotation()
    changes = {7: RotationParams(0.2), 13: RotationParams(2.0), 22: RotationParams(5.0),
               31: RotationParams(0.0), 38: RotationParams(1.0), 44: None}
    y = run(rot, two_tone(), between=lambda i: rot.set_params(changes[i]) if i in changes else None)
    assert clicks(y) == []


@pytest.mark.parametrize("params", [None, RotationParams(), RotationParams(0.0)])
def test_rotation_at_zero_hz_is_identity(params: RotationParams | None) -> None:
    rot = Rotation(params)
    assert rot.is_identity
    x = noise(0.1)
    np.testing.assert_array_equal(run(rot, x), x)
    rot.set_params(RotationParams(0.2))
    assert not rot.is_identity
    rot.process(silence())
    rot.set_params(RotationParams(0.0))
    rot.process(silence())
    assert rot.is_identity


# --- Vibrato -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rate_hz", "depth"), [(5.0, 0.5), (2.0, 1.0), (11.0, 0.25)])
def test_vibrato_pitch_wobbles_at_the_rate(rate_hz: float, depth: float) -> None:
    y = run(Vibrato(VibratoParams(rate_hz, depth)), sine(1000, 2.0))
    pitch = instantaneous_hz(y[:, 0])
    assert dominant_hz(pitch - pitch.mean()) == pytest.approx(rate_hz, rel=0.02)
    whole_cycles = int(len(pitch) * rate_hz / SAMPLE_RATE_HZ) * SAMPLE_RATE_HZ / rate_hz
    assert pitch[:int(whole_cycles)].mean() == pytest.approx(1000.0, abs=0.5)  # no net detune
    # The delay swings by depth·96 samples, so the pitch swings by its slope: ±f·depth·48·2π·rate/fs.
    expected_swing = 1000.0 * depth * 48 * 2 * np.pi * rate_hz / SAMPLE_RATE_HZ
    assert (pitch.max() - pitch.min()) / 2 == pytest.approx(expected_swing, rel=0.1)


def test_vibrato_at_depth_zero_is_a_plain_three_sample_delay() -> None:
    x = sine(1000, 0.5)
    y = run(Vibrato(VibratoParams(5.0, 0.0)), x)
    # After the first frame, which fades in from dry while the delay line fills.
    np.testing.assert_array_equal(y[FRAME_SAMPLES:], x[FRAME_SAMPLES - 3:-3])
    pitch = instantaneous_hz(y[:, 0])
    assert pitch.max() - pitch.min() < 0.5


def test_vibrato_changes_and_on_off_do_not_click() -> None:
    vib = Vibrato()
    changes = {7: VibratoParams(5.0, 0.5), 13: VibratoParams(14.0, 1.0), 22: VibratoParams(2.0, 0.1),
               31: None, 38: VibratoParams(3.0, 1.0), 44: None}
    y = run(vib, two_tone(), between=lambda i: vib.set_params(changes[i]) if i in changes else None)
    assert clicks(y) == []


def test_vibrato_starts_without_a_step() -> None:
    # Fresh or after a seek the delay line is empty; reading it would delay the onset by up to
    # 99 samples of silence and then step. The start must be as clean as the input's own.
    x = two_tone(0.3)
    vib = Vibrato(VibratoParams(5.0, 1.0))
    for _ in ("fresh", "after reset"):
        y = run(vib, x)
        assert clicks(y) == []
        np.testing.assert_array_equal(y[:128], x[:128])
        vib.reset()


def test_vibrato_fades_in_cleanly_after_skipped_frames() -> None:
    # A chain skips identity filters, so the delay line holds old audio when vibrato comes on.
    vib = Vibrato(VibratoParams())
    x = two_tone(0.4)
    run(vib, noise(0.1, amplitude=0.9))  # loud unrelated history
    vib.set_params(None)
    vib.process(silence())
    vib.set_params(VibratoParams(6.0, 1.0))
    y = run(vib, x)
    assert clicks(y) == []
    np.testing.assert_array_equal(y[:128], x[:128])  # nothing of the stale history leaks in


def test_vibrato_is_identity_only_when_off() -> None:
    vib = Vibrato()
    assert vib.is_identity
    x = noise(0.1)
    np.testing.assert_array_equal(run(vib, x), x)
    vib.set_params(VibratoParams(depth=0.0))
    assert not vib.is_identity  # still a 3-sample delay
    vib.process(silence())
    vib.set_params(None)
    assert not vib.is_identity
    vib.process(silence())
    assert vib.is_identity
