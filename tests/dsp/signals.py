"""Generated test signals and the meters the DSP tests read them with."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from musicbot.dsp.base import Filter
from musicbot.dsp.frame import FRAME_SAMPLES, SAMPLE_RATE_HZ, Frame

Signal = npt.NDArray[np.float32]  # (n, 2)


def sine(freq_hz: float, seconds: float, amplitude: float = 0.5, *, phase: float = 0.0) -> Signal:
    t = np.arange(round(seconds * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    mono = amplitude * np.sin(2 * np.pi * freq_hz * t + phase)
    return np.repeat(mono[:, None], 2, axis=1).astype(np.float32)


def noise(seconds: float, amplitude: float = 0.25, *, seed: int = 1) -> Signal:
    rng = np.random.default_rng(seed)
    n = round(seconds * SAMPLE_RATE_HZ)
    return (amplitude * rng.standard_normal((n, 2))).clip(-1, 1).astype(np.float32)


def stereo(left: Signal, right: Signal) -> Signal:
    return np.stack([left[:, 0], right[:, 0]], axis=1).astype(np.float32)


def frames_of(signal: Signal) -> list[Frame]:
    """Split into whole 960-sample frames, zero-padding the last one."""
    pad = (-len(signal)) % FRAME_SAMPLES
    padded = np.concatenate([signal, np.zeros((pad, 2), np.float32)]) if pad else signal
    return [np.ascontiguousarray(padded[i:i + FRAME_SAMPLES]) for i in range(0, len(padded), FRAME_SAMPLES)]


def run(filt: Filter, signal: Signal, *, between: Callable[[int], None] | None = None) -> Signal:
    """Feed ``signal`` through ``filt`` frame by frame; ``between(i)`` runs before frame i."""
    out = []
    for i, frame in enumerate(frames_of(signal)):
        if between is not None:
            between(i)
        result = filt.process(frame.copy())
        assert result.shape == (FRAME_SAMPLES, 2) and result.dtype == np.float32
        out.append(result.copy())
    return np.concatenate(out)


def rms(x: npt.NDArray[np.floating]) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def db(ratio: float) -> float:
    return 20 * float(np.log10(max(ratio, 1e-12)))


def gain_db(filt: Filter, freq_hz: float, *, seconds: float = 1.0, amplitude: float = 0.1) -> float:
    """Steady-state gain of ``filt`` at ``freq_hz``: output RMS over input RMS of the second half."""
    x = sine(freq_hz, seconds, amplitude)
    y = run(filt, x)
    half = len(x) // 2
    return db(rms(y[half:len(x)]) / rms(x[half:]))


def dominant_hz(mono: npt.NDArray[np.floating], sample_rate: int = SAMPLE_RATE_HZ) -> float:
    """Frequency of the strongest spectral peak, refined by parabolic interpolation (≈0.01 % for tones)."""
    x = np.asarray(mono, dtype=np.float64)
    window = np.hanning(len(x))
    spectrum = np.abs(np.fft.rfft(x * window, n=4 * len(x)))
    k = int(np.argmax(spectrum[1:-1])) + 1
    a, b, c = np.log(spectrum[k - 1:k + 2] + 1e-30)
    offset = 0.5 * (a - c) / (a - 2 * b + c)
    return float((k + offset) * sample_rate / (4 * len(x)))


def envelope(mono: npt.NDArray[np.floating], smooth_s: float = 0.005) -> npt.NDArray[np.float64]:
    """Amplitude envelope: rectified signal smoothed by a moving maximum then average."""
    width = max(1, int(smooth_s * SAMPLE_RATE_HZ))
    rect = np.abs(np.asarray(mono, dtype=np.float64))
    return np.asarray(ndimage.uniform_filter1d(ndimage.maximum_filter1d(rect, width), width))


def clicks(signal: npt.NDArray[np.floating], *, ratio: float = 8.0, floor: float = 2e-3) -> list[int]:
    """Sample indices where the signal steps: |second difference| far above its local median.

    A smooth signal has a second difference that changes slowly; a discontinuity (a click)
    puts one or two samples far above the median of their 10 ms neighbourhood.
    """
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    found: set[int] = set()
    for ch in range(x.shape[1]):
        d2 = np.abs(np.diff(x[:, ch], n=2))
        local = ndimage.median_filter(d2, size=481, mode="nearest")
        found.update(int(i) + 1 for i in np.flatnonzero(d2 > ratio * local + floor))
    return sorted(found)


def concat(parts: Iterable[Signal]) -> Signal:
    return np.concatenate(list(parts)).astype(np.float32)
