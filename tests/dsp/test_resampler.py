"""The streaming resampler: pitch × ratio, LTI across frame cuts, alias-free, flat passband."""

from __future__ import annotations

import numpy as np
import pytest

from musicbot.dsp.frame import SAMPLE_RATE_HZ
from musicbot.dsp.resampler import Resampler
from tests.dsp.signals import Signal, db, dominant_hz, frames_of, noise, rms, sine


def stream(resampler: Resampler, signal: Signal) -> Signal:
    parts = [resampler.process(frame) for frame in frames_of(signal)]
    parts.append(resampler.flush())
    return np.concatenate(parts)


@pytest.mark.parametrize("ratio", [1.1, 0.8, 1.5])
def test_frame_by_frame_equals_one_shot(ratio: float) -> None:
    x = noise(0.5)
    whole = Resampler(ratio)
    one_shot = np.concatenate([whole.process(x), whole.flush()])
    framed = stream(Resampler(ratio), x)
    assert framed.shape == one_shot.shape == (int(np.ceil(len(x) / ratio)), 2)
    np.testing.assert_allclose(framed, one_shot, atol=1e-6)


def test_pitch_and_length_follow_ratio() -> None:
    y = stream(Resampler(1.25), sine(440.0, 2.0))
    assert len(y) == 2 * SAMPLE_RATE_HZ / 1.25
    assert dominant_hz(y[4800:-4800, 0]) == pytest.approx(550.0, rel=1e-4)


def test_tone_above_new_nyquist_is_removed_not_aliased() -> None:
    # 20 kHz × 1.5 = 30 kHz cannot exist at 48 kHz; without the anti-alias cutoff it would
    # fold back to 18 kHz.
    x = sine(20_000.0, 0.5)
    y = stream(Resampler(1.5), x)
    steady = y[2000:-2000]
    assert db(rms(steady) / rms(x)) < -40.0


@pytest.mark.parametrize("ratio", [0.8, 1.25])
@pytest.mark.parametrize("out_hz", [100.0, 1_000.0, 5_000.0, 10_000.0, 15_000.0])
def test_passband_is_flat_to_15_khz(ratio: float, out_hz: float) -> None:
    x = sine(out_hz / ratio, 0.25, amplitude=0.25)
    y = stream(Resampler(ratio), x)
    assert abs(db(rms(y[1000:-1000]) / rms(x[1000:-1000]))) < 0.5


def test_unit_ratio_is_exact_passthrough() -> None:
    resampler = Resampler(1.0)
    x = noise(0.1)
    assert resampler.is_bypassed
    np.testing.assert_array_equal(stream(resampler, x), x)


def test_glides_back_to_passthrough_without_losing_samples() -> None:
    resampler = Resampler(1.0)
    frames = frames_of(noise(1.0))
    out = []
    for i, frame in enumerate(frames):
        if i == 5:
            resampler.set_ratio(1.3)
        if i == 20:
            resampler.set_ratio(1.0)
        out.append(resampler.process(frame))
    assert resampler.is_bypassed
    assert resampler.pending_input == 0.0
    # Once bypassed again the output is the input, sample for sample, at the same time.
    np.testing.assert_array_equal(out[-1], frames[-1])


def test_rejects_bad_ratio() -> None:
    with pytest.raises(ValueError, match="ratio"):
        Resampler(0.0)
