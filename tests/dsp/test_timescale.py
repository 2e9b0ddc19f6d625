"""The timescale filter as a listener hears it: pitch, duration, smooth changes, no lost audio."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from musicbot.dsp.frame import FRAME_SAMPLES, SAMPLE_RATE_HZ
from musicbot.dsp.params import TimescaleParams
from musicbot.dsp.timescale import Timescale
from musicbot.dsp.wsola import SEEK
from tests.dsp.signals import Signal, clicks, dominant_hz, frames_of, noise, rms, sine


def stream(ts: Timescale, signal: Signal, *, between: Callable[[int], None] | None = None) -> Signal:
    """Push ``signal`` frame by frame (``between(i)`` before frame i), then flush; all output."""
    parts = []
    for i, frame in enumerate(frames_of(signal)):
        if between is not None:
            between(i)
        out = ts.process(frame.copy())
        assert out.dtype == np.float32 and out.ndim == 2 and out.shape[1] == 2
        parts.append(out)
    parts.append(ts.flush())
    return np.concatenate(parts)


def two_tones(seconds: float) -> Signal:
    return sine(110.0, seconds, 0.3) + sine(440.0, seconds, 0.3)


@pytest.mark.parametrize(
    "params",
    [
        TimescaleParams(rate=1.25),
        TimescaleParams(rate=0.8),
        TimescaleParams(speed=1.5),
        TimescaleParams(pitch=1.5),
        TimescaleParams(speed=1.2, pitch=0.9, rate=1.1),
    ],
    ids=["nightcore", "vaporwave", "speed", "pitch", "combined"],
)
def test_pitch_and_duration_are_exact(params: TimescaleParams) -> None:
    x = sine(440.0, 4.0)
    y = stream(Timescale(params), x)
    assert len(y) == pytest.approx(len(x) / params.tempo_ratio, rel=0.005)
    middle = y[len(y) // 4:3 * len(y) // 4, 0]
    assert dominant_hz(middle) == pytest.approx(440.0 * params.pitch_ratio, rel=0.005)


def test_changing_params_mid_stream_does_not_click() -> None:
    ts = Timescale()
    changes = {
        10: TimescaleParams(rate=1.25),
        30: TimescaleParams(speed=1.5),
        50: TimescaleParams(speed=1.2, pitch=0.8),
        70: TimescaleParams(pitch=1.3, rate=0.9),
        90: None,
    }
    y = stream(ts, two_tones(2.5), between=lambda i: ts.set_params(changes[i]) if i in changes else None)
    assert clicks(y[:-FRAME_SAMPLES]) == []


@pytest.mark.parametrize("params", [TimescaleParams(speed=2.0), TimescaleParams(rate=1.25)])
def test_switching_on_and_off_loses_nothing_and_leaves_no_gap(params: TimescaleParams) -> None:
    ts = Timescale()
    frames_per_part = SAMPLE_RATE_HZ // FRAME_SAMPLES
    held_back: list[float] = []

    def toggle(i: int) -> None:
        if i == frames_per_part:
            ts.set_params(params)
        elif i == 2 * frames_per_part:
            # Audio still held back when switching off is played at normal speed, as it should:
            # a change is heard from the next frame on.
            held_back.append(ts.latency_samples)
            ts.set_params(None)

    x = two_tones(3.0)
    y = stream(ts, x, between=toggle)
    part = float(SAMPLE_RATE_HZ)
    expected = part + (part - held_back[0]) / params.tempo_ratio + held_back[0] + part
    assert abs(len(y) - expected) <= SEEK  # WSOLA may end its last segment up to ±15 ms off
    assert clicks(y) == []
    # No gap: every 10 ms of the output carries the tones at full level.
    blocks = y[: len(y) // 480 * 480, 0].reshape(-1, 480)
    levels = np.sqrt(np.mean(np.square(blocks, dtype=np.float64), axis=1))
    assert levels.min() > 0.5 * rms(x[:, 0])
    assert ts.is_identity


def test_off_is_an_exact_passthrough_with_no_delay() -> None:
    ts = Timescale(TimescaleParams())  # all 1.0 counts as off
    assert ts.is_identity
    x = noise(0.2)
    for frame in frames_of(x):
        np.testing.assert_array_equal(ts.process(frame), frame)
    assert len(ts.flush()) == 0
    assert ts.latency_samples == 0.0
    assert ts.input_per_output == 1.0


def test_silence_stays_silence() -> None:
    y = stream(Timescale(TimescaleParams(speed=1.3, pitch=0.9, rate=1.2)), np.zeros((48_000, 2), np.float32))
    assert np.max(np.abs(y)) == 0.0


def test_reset_forgets_buffered_audio() -> None:
    ts = Timescale(TimescaleParams(speed=1.2, pitch=1.1))
    for frame in frames_of(noise(0.3)):
        ts.process(frame)
    assert ts.latency_samples > 0
    ts.reset()
    y = stream(ts, np.zeros((9_600, 2), np.float32))
    assert np.max(np.abs(y)) == 0.0
    ts.set_params(None)
    ts.reset()
    assert ts.is_identity


@pytest.mark.parametrize("field", ["speed", "pitch", "rate"])
@pytest.mark.parametrize("value", [0.25, 4.0])
def test_extreme_params_give_finite_output_of_the_right_length(field: str, value: float) -> None:
    params = TimescaleParams(**{field: value})
    x = two_tones(0.4)
    y = stream(Timescale(params), x)
    assert np.all(np.isfinite(y)) and np.max(np.abs(y)) < 2.0
    assert len(y) == pytest.approx(len(x) / params.tempo_ratio, abs=2)


def test_reports_how_fast_it_consumes_input() -> None:
    ts = Timescale(TimescaleParams(speed=1.2, rate=1.1))
    assert ts.input_per_output == pytest.approx(1.32)
    assert not ts.is_identity
    ts.set_params(None)
    assert ts.input_per_output == 1.0
