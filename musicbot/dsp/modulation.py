"""LFO-driven effects: tremolo (amplitude), rotation ("8D" panning) and vibrato (pitch).

All three follow Lavalink v4 / lavadsp, with continuous LFO phase across frames and every
parameter change smoothed over one frame: depth/mix are interpolated per sample and the LFO
frequency is interpolated per sample and *integrated*, so the phase never jumps. Switching an
effect on starts its LFO at phase 0 (as lavadsp does when it builds a new filter).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from musicbot.dsp.frame import FRAME_SAMPLES, SAMPLE_RATE_HZ, Frame, ramp_up
from musicbot.dsp.params import RotationParams, TremoloParams, VibratoParams

F32 = npt.NDArray[np.float32]
_TWO_PI = 2.0 * math.pi


class _Lfo:
    """A sine LFO's phase accumulator (radians), carried from frame to frame."""

    def __init__(self) -> None:
        self.phase = 0.0

    def sine(self, start_hz: float, end_hz: float, samples: int) -> F32:
        """sin φ for the next ``samples`` samples while the rate glides ``start_hz`` → ``end_hz``.

        The phase of sample k is the running sum of the per-sample increments up to k, i.e. the
        integral of the instantaneous frequency, so a rate change bends the phase instead of
        stepping it.
        """
        step = _TWO_PI / SAMPLE_RATE_HZ
        if start_hz == end_hz:
            phases = self.phase + (step * start_hz) * np.arange(1, samples + 1, dtype=np.float64)
        else:
            ramp = ramp_up(samples)[:, 0].astype(np.float64)
            phases = self.phase + np.cumsum(step * (start_hz + (end_hz - start_hz) * ramp))
        # Accumulate in float64 and wrap, so the phase stays exact however long a track plays;
        # within one frame the phase is small, and float32 sin is several times faster.
        self.phase = float(phases[-1] % _TWO_PI)
        return np.sin(phases.astype(np.float32))


class Tremolo:
    """Amplitude modulation: gain g = 1 − d/2 + (d/2)·sin φ, which swings between 1 − d and 1.

    ``frequency_hz`` is the LFO rate (φ advances 2π·f/fs per sample), ``depth`` (0–1, clamped) the
    fraction of level removed at the trough. ``None`` (or depth 0) is off. ``process``/``reset``
    run on the audio thread.
    """

    def __init__(self, params: TremoloParams | None = None) -> None:
        """Starts at ``params`` (LFO phase 0) without a fade-in; ``None`` means off."""
        self._lfo = _Lfo()
        self._freq = self._target_freq = 0.0
        self._depth = self._target_depth = 0.0
        self.set_params(params)
        self.reset()

    def set_params(self, params: TremoloParams | None) -> None:
        """New rate/depth, reached smoothly over the next frame; ``None`` fades the effect out."""
        if params is None:
            self._target_depth = 0.0  # keep the rate, so fading out does not also glide the LFO
        else:
            self._target_freq = float(params.frequency_hz)
            self._target_depth = min(max(float(params.depth), 0.0), 1.0)

    def process(self, frame: Frame) -> Frame:
        """Modulate one (960, 2) float32 frame. Audio thread."""
        d0, d1 = self._depth, self._target_depth
        f0, f1 = self._freq, self._target_freq
        if d0 == 0.0:
            if d1 == 0.0:
                return frame
            f0 = f1
            self._lfo.phase = 0.0
        self._depth, self._freq = d1, f1
        n = len(frame)
        sin = self._lfo.sine(f0, f1, n)
        depth: F32 | float = d1 if d0 == d1 else d0 + (d1 - d0) * ramp_up(n)[:, 0]
        gain = 1.0 - 0.5 * depth * (1.0 - sin)
        return (frame * gain[:, None]).astype(np.float32, copy=False)

    def reset(self) -> None:
        """Rewind the LFO to phase 0 and skip any pending fade (the target applies at once)."""
        self._lfo.phase = 0.0
        self._depth, self._freq = self._target_depth, self._target_freq

    @property
    def is_identity(self) -> bool:
        """True when off (depth 0) with no fade pending."""
        return self._depth == 0.0 and self._target_depth == 0.0


class Rotation:
    """"8D" auto-pan: the stereo image circles at ``rotation_hz`` (0 = off).

    With θ advancing 2π·rotation_hz/fs per sample and p = π/4·(1 + sin θ), the left channel is
    scaled by cos p and the right by sin p. This sine/cosine (constant-power) law keeps
    gL² + gR² = 1, so a centred mono source sits at −3 dB per side rather than lavadsp's −6 dB
    ((1 ± sin θ)/2) and its loudness no longer dips twice per turn; the hard-panned side is at 0 dB,
    so the effect never adds gain. As in lavadsp each channel only gets its own gain (no
    cross-feed): a stereo mix keeps its left content on the left while the level sweeps, and it
    costs two multiplies per sample. Switching on/off crossfades between these gains and unity.
    ``process``/``reset`` run on the audio thread.
    """

    def __init__(self, params: RotationParams | None = None) -> None:
        """Starts at ``params`` (θ = 0, i.e. centred) without a fade-in; ``None`` or 0 Hz = off."""
        self._lfo = _Lfo()
        self._hz = self._target_hz = 0.0
        self._wet = self._target_wet = 0.0
        self.set_params(params)
        self.reset()

    def set_params(self, params: RotationParams | None) -> None:
        """New rotation rate in Hz, glided over the next frame; ``None`` or 0 fades to unity gains."""
        if params is None or params.rotation_hz == 0.0:
            self._target_wet = 0.0
        else:
            self._target_hz = float(params.rotation_hz)
            self._target_wet = 1.0

    def process(self, frame: Frame) -> Frame:
        """Pan one (960, 2) float32 frame. Audio thread."""
        w0, w1 = self._wet, self._target_wet
        f0, f1 = self._hz, self._target_hz
        if w0 == 0.0:
            if w1 == 0.0:
                return frame
            f0 = f1
            self._lfo.phase = 0.0
        self._wet, self._hz = w1, f1
        n = len(frame)
        pan = (math.pi / 4) * (1.0 + self._lfo.sine(f0, f1, n))
        gains: F32 = np.stack([np.cos(pan), np.sin(pan)], axis=1)
        if w0 != w1:
            one = np.float32(1.0)
            wet = np.float32(w0) + np.float32(w1 - w0) * ramp_up(n)
            gains = one + wet * (gains - one)
        return (frame * gains).astype(np.float32, copy=False)

    def reset(self) -> None:
        """Rewind to θ = 0 (centre) and skip any pending fade (the target applies at once)."""
        self._lfo.phase = 0.0
        self._wet, self._hz = self._target_wet, self._target_hz

    @property
    def is_identity(self) -> bool:
        """True when off (0 Hz) with no fade pending."""
        return self._wet == 0.0 and self._target_wet == 0.0


_VIBRATO_SPAN_SAMPLES = 0.002 * SAMPLE_RATE_HZ  # lavadsp: the delay swings over depth · 2 ms
_VIBRATO_BASE_DELAY = 3.0  # lavadsp's fixed offset; keeps the Hermite taps in the past
_MAX_DELAY = _VIBRATO_BASE_DELAY + _VIBRATO_SPAN_SAMPLES
_HISTORY = 128  # samples kept from the previous frame: ≥ max delay + 2 Hermite taps
assert _HISTORY >= _MAX_DELAY + 2
# Row in [history; frame] of each output sample before its delay is subtracted.
_READ_BASE: F32 = np.arange(_HISTORY, _HISTORY + FRAME_SAMPLES, dtype=np.float32)
# 0 while a read could reach into the history, then linear to 1 at the frame's last sample.
_FADE_IN_AFTER_HISTORY: F32 = np.clip(
    (np.arange(1, FRAME_SAMPLES + 1, dtype=np.float32) - _HISTORY) / (FRAME_SAMPLES - _HISTORY), 0.0, 1.0
)


class Vibrato:
    """Pitch wobble through a modulated delay line, as lavadsp's (BerVibrato port).

    Delay in samples = ((sin φ + 1)/2)·depth·(0.002·fs) + 3, read between samples with 4-point,
    3rd-order Hermite interpolation (smoother than linear, which dulls highs as the read point
    sweeps). ``frequency_hz`` is the LFO rate, ``depth`` (0–1, clamped) scales the 2 ms swing.
    Switching on/off crossfades dry and wet over one frame so the 3-sample-plus-mean delay
    never steps. ``process``/``reset`` run on the audio thread.
    """

    def __init__(self, params: VibratoParams | None = None) -> None:
        """``None`` = off. If on, the first frame fades in from dry while the delay line fills."""
        self._lfo = _Lfo()
        self._freq = self._target_freq = 0.0
        self._depth = self._target_depth = 0.0
        self._wet = self._target_wet = 0.0
        self._history: Frame = np.zeros((_HISTORY, 2), dtype=np.float32)
        self.set_params(params)
        self.reset()

    def set_params(self, params: VibratoParams | None) -> None:
        """New rate/depth, reached smoothly over the next frame; ``None`` fades back to dry."""
        if params is None:
            self._target_wet = 0.0
        else:
            self._target_freq = float(params.frequency_hz)
            self._target_depth = min(max(float(params.depth), 0.0), 1.0)
            self._target_wet = 1.0

    def process(self, frame: Frame) -> Frame:
        """Delay-modulate one (960, 2) float32 frame. Audio thread."""
        w0, w1 = self._wet, self._target_wet
        f0, f1 = self._freq, self._target_freq
        d0, d1 = self._depth, self._target_depth
        if w0 == 0.0:
            if w1 == 0.0:
                return frame  # the history goes stale here; the fade-in below accounts for it
            f0, d0 = f1, d1
            self._lfo.phase = 0.0
        self._wet, self._freq, self._depth = w1, f1, d1
        n = len(frame)
        buf = np.concatenate([self._history, frame])
        self._history = buf[-_HISTORY:].copy()

        ramp = ramp_up(n)[:, 0]
        depth: F32 | float = d1 if d0 == d1 else d0 + (d1 - d0) * ramp
        swing = 0.5 * (self._lfo.sine(f0, f1, n) + 1.0)
        # float32 read positions (< 1100) are exact to ~1e-4 sample: error below −75 dB at 10 kHz.
        delay = swing * depth * _VIBRATO_SPAN_SAMPLES + _VIBRATO_BASE_DELAY
        wet = _hermite_read(buf, _READ_BASE - delay)
        if w0 == w1:
            return wet
        # Entering from off the history may be stale (a chain skips identity filters), so the
        # wet share stays 0 until the read point is inside this frame, then fades in.
        mix = _FADE_IN_AFTER_HISTORY if w1 > w0 else 1.0 - ramp
        return frame + (wet - frame) * mix[:, None]

    def reset(self) -> None:
        """Empty the delay line and rewind the LFO; if on, the next frame fades in from dry.

        The delay line holds nothing of the new position, and reading it would start the output
        with up to 99 samples of silence and then a step; fading in as after "off" avoids that.
        """
        self._history = np.zeros((_HISTORY, 2), dtype=np.float32)
        self._lfo.phase = 0.0
        self._wet = 0.0
        self._freq, self._depth = self._target_freq, self._target_depth

    @property
    def is_identity(self) -> bool:
        """True when off with no fade pending (on, even depth 0 delays by 3 samples)."""
        return self._wet == 0.0 and self._target_wet == 0.0


def _hermite_read(buf: Frame, pos: F32) -> Frame:
    """``buf`` at fractional rows ``pos`` (needs 1 ≤ pos < len − 2), 4-point 3rd-order Hermite."""
    i = np.floor(pos).astype(np.intp)
    t = (pos - i).astype(np.float32)[:, None]
    xm1, x0, x1, x2 = (np.take(buf, i + k, axis=0) for k in (-1, 0, 1, 2))
    c1 = 0.5 * (x1 - xm1)
    c2 = xm1 - 2.5 * x0 + 2.0 * x1 - 0.5 * x2
    c3 = 0.5 * (x2 - xm1) + 1.5 * (x0 - x1)
    out: Frame = ((c3 * t + c2) * t + c1) * t + x0
    return out
