"""WSOLA: tempo without pitch change, with the stereo channels kept locked together."""

from __future__ import annotations

import numpy as np
import pytest

from musicbot.dsp.wsola import HOP, Wsola
from tests.dsp.signals import Signal, dominant_hz, frames_of, noise, sine, stereo


def stream(wsola: Wsola, signal: Signal) -> Signal:
    parts = [wsola.process(frame) for frame in frames_of(signal)]
    parts.append(wsola.flush())
    return np.concatenate(parts)


def lag_of_right(y: Signal) -> int:
    """Delay of the right channel behind the left, from the cross-correlation peak."""
    left, right = y[:, 0].astype(np.float64), y[:, 1].astype(np.float64)
    corr = np.correlate(right, left[50:-50], "valid")
    return int(np.argmax(corr)) - 50


@pytest.mark.parametrize("tempo", [1.5, 0.75])
def test_inter_channel_delay_survives_stretching(tempo: float) -> None:
    mono = sine(220.0, 1.0) + sine(1_170.0, 1.0, 0.2) + noise(1.0, 0.05)
    delayed = np.concatenate([np.zeros((10, 2), np.float32), mono[:-10]])
    x = stereo(mono, delayed)
    assert lag_of_right(x[HOP:]) == 10
    y = stream(Wsola(tempo), x)
    steady = y[4 * HOP:-4 * HOP]
    assert lag_of_right(steady) == 10


@pytest.mark.parametrize("tempo", [1.5, 0.75])
def test_tempo_changes_length_not_pitch(tempo: float) -> None:
    x = sine(440.0, 2.0)
    y = stream(Wsola(tempo), x)
    assert len(y) == pytest.approx(len(x) / tempo, abs=1)
    assert dominant_hz(y[HOP:-HOP, 0]) == pytest.approx(440.0, rel=0.005)


def test_unit_tempo_is_exact_passthrough() -> None:
    wsola = Wsola(1.0)
    x = noise(0.1)
    assert wsola.is_bypassed
    np.testing.assert_array_equal(stream(wsola, x), x)


def test_output_comes_in_whole_hops() -> None:
    wsola = Wsola(1.3)
    for frame in frames_of(noise(0.3)):
        assert len(wsola.process(frame)) % HOP == 0


def test_silence_stays_silence() -> None:
    y = stream(Wsola(1.7), np.zeros((48_000, 2), np.float32))
    assert np.all(np.isfinite(y)) and np.max(np.abs(y)) == 0.0
