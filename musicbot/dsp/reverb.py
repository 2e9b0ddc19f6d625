"""Room reverb: a diffusing early-reflection stage feeding an 8-line feedback delay network (Jot FDN).

Hand-written because neither numpy nor scipy offers a streaming reverb; they supply the FFTs, the
Hadamard matrix and the matrix products it is made of. The popular bot "reverbs" are a single comb
filter or a 1 s echo; this is a dense, exponentially decaying tail with a chosen RT60.

Structure, per 960-sample frame, all array operations:

* **Diffuser / early reflections.** Each channel is convolved (uniformly partitioned FFT convolution,
  two 20 ms partitions) with its own fixed 40 ms kernel of decaying Gaussian noise. That smears
  every transient into thousands of reflections at once, so the tail is dense from the start, and
  the two kernels already decorrelate left from right.
* **Late reverb.** Eight delay lines, mutually prime lengths 1031…3359 samples (21–70 ms), mixed by
  an orthogonal 8×8 Hadamard matrix. Every line is longer than a frame, so a whole frame of line
  outputs comes from history: read 8 blocks, low-pass them (damping), scale by the per-line gains
  ``g_i = 10^(−3·D_i / (fs·RT60))`` that give the target decay, mix, add the input, write back.
* **Stereo.** Left and right read the lines through orthogonal sign patterns (decorrelated);
  ``width`` mixes the two wet channels (1 = as is, 0 = both get their mean: mono wet).

Mapping: ``room_size`` 0…1 → RT60 0.3…4 s (geometric); RT60 is the low-frequency decay time, and
``damping`` 0…1 shortens the high-frequency decay (an in-loop 3-tap zero-phase low-pass: the lines
are read from history, so its "future" tap is history too, and it costs three slices, not an IIR).
``wet_level``/``dry_level`` are linear gains. The delay lengths stay fixed (moving them would need
crossfades); the room-size change is a change of decay, ramped across the frame with the gains.
The late input is scaled by sqrt(1 − mean g²), so the wet level stays about the same across sizes.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view
from scipy.linalg import hadamard

from musicbot.dsp.frame import CHANNELS, FRAME_SAMPLES, SAMPLE_RATE_HZ, Frame
from musicbot.dsp.params import ReverbParams

_F32 = npt.NDArray[np.float32]
_C64 = npt.NDArray[np.complex64]

DELAYS_SAMPLES: tuple[int, ...] = (1031, 1327, 1523, 1871, 2207, 2591, 2939, 3359)
LINES = len(DELAYS_SAMPLES)
RT60_MIN_S = 0.3
RT60_MAX_S = 4.0
DIFFUSER_PARTITIONS = 2
_DIFFUSER_DECAY_S = 0.012
_DIFFUSER_ONSET_S = 0.002
# Levels of the two wet parts. For a unit impulse on one input channel the early part carries energy
# 0.25 on that side and the late tail about 0.36 on each side (the lines hold unit energy in all, and
# each output tap sees an eighth of it): a centred source's wet sum is then about as loud as its dry.
_EARLY_GAIN = 0.5
_LATE_GAIN = 1.7
# Ring length: a multiple of the frame (writes never wrap) and ≥ the longest delay (reads see only
# written history). Stored twice over (mirrored) so every read is one contiguous slice.
_RING = 4 * FRAME_SAMPLES
# Below this, a silent input's tail is inaudible (−240 dBFS): clear it rather than decay into
# subnormal floats, which are slow.
_TAIL_FLOOR = 1e-12
assert max(DELAYS_SAMPLES) < _RING and min(DELAYS_SAMPLES) > FRAME_SAMPLES + 1

# Processing runs in float32, as the frames do: it halves the memory traffic of every step (the cost
# here), and float32 round-off in the loop sits ~140 dB down and cannot destabilize it.
_MIX = (hadamard(LINES) / math.sqrt(LINES)).astype(np.float32)
# Input and output sign patterns: rows of the Hadamard matrix, so the left and right injections and
# taps are mutually orthogonal (decorrelated channels) and spread over every line.
_INJECT = (hadamard(LINES)[[1, 2]].T / math.sqrt(LINES)).astype(np.float32)  # (8, 2)
_LATE_TAPS = (hadamard(LINES)[[5, 6]] / math.sqrt(LINES) * _LATE_GAIN).astype(np.float32)  # (2, 8)
_LINE_INDEX = np.arange(LINES)


def rt60_seconds(room_size: float) -> float:
    """Low-frequency reverberation time (s) for a room size 0…1."""
    size = min(1.0, max(0.0, room_size))
    return float(RT60_MIN_S * (RT60_MAX_S / RT60_MIN_S) ** size)


def _diffuser_spectra() -> _C64:
    """FFTs of the two channels' fixed early-reflection kernels, split into frame-long partitions."""
    rng = np.random.default_rng(0x5EED)
    length = DIFFUSER_PARTITIONS * FRAME_SAMPLES
    t = np.arange(length) / SAMPLE_RATE_HZ
    envelope = (1.0 - np.exp(-t / _DIFFUSER_ONSET_S)) * np.exp(-t / _DIFFUSER_DECAY_S)
    kernels = rng.standard_normal((CHANNELS, length)) * envelope
    kernels /= np.sqrt(np.sum(kernels**2, axis=1, keepdims=True))  # unit energy per channel
    parts = kernels.reshape(CHANNELS, DIFFUSER_PARTITIONS, FRAME_SAMPLES).transpose(1, 0, 2)
    padded = np.concatenate([parts, np.zeros_like(parts)], axis=2)
    spectra: _C64 = np.fft.rfft(padded, axis=2).astype(np.complex64)  # (partitions, channels, n + 1)
    return spectra


_DIFFUSER = _diffuser_spectra()
_RAMP = np.arange(1, FRAME_SAMPLES + 1, dtype=np.float32) / np.float32(FRAME_SAMPLES)


@functools.lru_cache(maxsize=64)
def _decay(room_size: float) -> tuple[_F32, float]:
    """Per-line feedback gains for the room's RT60, and the late input gain that keeps the tail's
    energy about the same whatever the size (an FDN's energy grows like 1 / (1 − g²))."""
    delays = np.asarray(DELAYS_SAMPLES, dtype=np.float64)
    gains = np.power(10.0, -3.0 * delays / (SAMPLE_RATE_HZ * rt60_seconds(room_size)))
    late_in = math.sqrt(1.0 - float(np.mean(gains**2)))
    single = gains.astype(np.float32)
    single.setflags(write=False)
    return single, late_in


def _damping_taps(damping: float) -> tuple[float, float]:
    """(side, centre) of the zero-phase 3-tap low-pass [c, 1 − 2c, c] applied to each line per pass.

    DC passes unchanged (the RT60 holds at low frequencies); at damping 1 (c = 0.25) the Nyquist
    frequency is removed entirely and 10 kHz loses 4 dB per pass, so treble dies away well before
    the bass. 0 ≤ H ≤ 1 everywhere, so the loop stays stable.
    """
    side = 0.25 * min(1.0, max(0.0, damping))
    return side, 1.0 - 2.0 * side


class Reverb:
    """Stereo room reverb. ``None`` params means off: the wet part fades out over one frame.

    Construct on any thread; ``process``, ``set_params`` and ``reset`` run on the audio thread.
    ``set_params`` takes effect on the next ``process`` and is ramped across that frame.
    """

    def __init__(self, params: ReverbParams | None = None) -> None:
        self._params: ReverbParams | None = params
        # Each line is stored twice over (mirrored), so any n + 2 samples read as one slice.
        self._ring: _F32 = np.zeros((LINES, 2 * _RING), np.float32)
        self._reads = sliding_window_view(self._ring, FRAME_SAMPLES + 2, axis=1)
        self._write = 0
        self._previous_input: _F32 = np.zeros((CHANNELS, FRAME_SAMPLES), np.float32)
        self._spectra: _C64 = np.zeros_like(_DIFFUSER[: DIFFUSER_PARTITIONS - 1])
        self._asleep = True  # all state is zero
        self._silent_frames = 0
        self._last_fed: _F32 = np.zeros((LINES, FRAME_SAMPLES), np.float32)  # what the last frame wrote
        # Applied values (what the last frame ended on), ramped towards the params.
        self._room = params.room_size if params is not None else 0.5
        self._damping = params.damping if params is not None else 0.0
        # Nothing has played yet, so start at the params rather than fading in from off.
        self._dry, self._wet_direct, self._wet_cross = _mix_gains(params)  # wet·(1±width)/2

    @property
    def params(self) -> ReverbParams | None:
        return self._params

    @property
    def is_identity(self) -> bool:
        """True once the reverb is off and its wet part has faded out."""
        faded = self._dry == 1.0 and self._wet_direct == 0.0 and self._wet_cross == 0.0
        return self._params is None and faded

    def set_params(self, params: ReverbParams | None) -> None:
        """New settings (or None = off) for the next frame (audio thread)."""
        self._params = params

    def reset(self) -> None:
        """Drop the tail and all filter state (audio thread, e.g. after a seek)."""
        self._ring.fill(0.0)
        self._write = 0
        self._previous_input.fill(0.0)
        self._spectra.fill(0.0)
        self._asleep = True
        self._silent_frames = 0
        # Like every filter's reset: land on the current settings instead of gliding to them.
        self._dry, self._wet_direct, self._wet_cross = _mix_gains(self._params)
        if self._params is not None:
            self._room = self._params.room_size
            self._damping = self._params.damping

    def process(self, frame: Frame) -> Frame:
        """Add the room to one (960, 2) float32 frame (audio thread)."""
        if len(frame) != FRAME_SAMPLES:
            raise ValueError(f"Reverb processes {FRAME_SAMPLES}-sample frames, got {len(frame)}")
        params = self._params
        if self.is_identity:
            return frame
        dry, direct, cross = _mix_gains(params)
        room = params.room_size if params is not None else self._room
        if params is not None:
            # The damping filter switches at once: it sits inside the loop, so the change only
            # tilts the tail's colour from here on and cannot step the output.
            self._damping = params.damping
        silent_input = not np.any(frame)
        if self._asleep and silent_input:
            # Silence in and no tail left: silence out, whatever the gains; just land the ramps.
            self._dry, self._wet_direct, self._wet_cross, self._room = dry, direct, cross, room
            return frame

        x = np.ascontiguousarray(frame.T, dtype=np.float32)  # (2, n)
        wet = self._wet(x, room)
        out = self._mixed(x, wet, dry, direct, cross)
        if params is None:
            # Faded out: the tail is cut with that fade; start from silence when switched on again.
            self.reset()
        elif silent_input and self._tail_is_gone():
            self.reset()
        elif not silent_input:
            self._silent_frames = 0
        return np.ascontiguousarray(out.T)

    def _wet(self, x: _F32, room: float) -> _F32:
        """Run the diffuser and the FDN for one frame; returns the wet (2, n) block before width."""
        self._asleep = False
        n = FRAME_SAMPLES
        spectrum = np.fft.rfft(np.concatenate([self._previous_input, x], axis=1), axis=1)
        accumulated = spectrum * _DIFFUSER[0]
        for p in range(1, DIFFUSER_PARTITIONS):
            accumulated += self._spectra[p - 1] * _DIFFUSER[p]
        if DIFFUSER_PARTITIONS > 1:
            self._spectra[1:] = self._spectra[:-1].copy()
            self._spectra[0] = spectrum
        self._previous_input = x
        diffused = np.fft.irfft(accumulated, n=2 * n, axis=1)[:, n:]

        # Samples D_i − 1 … D_i − n − 1 ago of every line: all history, since D_i > n + 1.
        starts = (self._write - np.asarray(DELAYS_SAMPLES) - 1) % _RING
        window = self._reads[_LINE_INDEX, starts]  # (8, n + 2)
        lines = np.ascontiguousarray(window[:, 1:-1])
        side, centre = _damping_taps(self._damping)
        if side == 0.0:
            damped = lines
        else:
            damped = window[:, :-2] + window[:, 2:]
            damped *= side
            damped += centre * lines

        gains, late_in = _decay(room)
        if room == self._room:
            fed = (_MIX * gains) @ damped
            fed += (_INJECT * late_in) @ diffused
        else:
            old_gains, old_in = _decay(self._room)
            ramped_gains = old_gains[:, None] + (gains - old_gains)[:, None] * _RAMP
            ramped_in = old_in + (late_in - old_in) * _RAMP
            fed = _MIX @ (damped * ramped_gains) + _INJECT @ (diffused * ramped_in)
            self._room = room
        w = self._write
        self._ring[:, w:w + n] = fed
        self._ring[:, w + _RING:w + _RING + n] = fed
        self._write = (w + n) % _RING
        self._last_fed = fed

        wet: _F32 = _LATE_TAPS @ lines
        wet += _EARLY_GAIN * diffused
        return wet

    def _mixed(self, x: _F32, wet: _F32, dry: float, direct: float, cross: float) -> _F32:
        """dry·x + width-mixed wet, every gain ramped from its previous value across the frame."""
        g_dry = _ramp(self._dry, dry)
        g_direct = _ramp(self._wet_direct, direct)
        g_cross = _ramp(self._wet_cross, cross)
        self._dry, self._wet_direct, self._wet_cross = dry, direct, cross
        out = np.empty_like(x)
        out[0] = g_dry * x[0] + g_direct * wet[0] + g_cross * wet[1]
        out[1] = g_dry * x[1] + g_direct * wet[1] + g_cross * wet[0]
        return out

    def _tail_is_gone(self) -> bool:
        """True once the ring has been refilled with nothing audible for a whole cycle."""
        if float(np.abs(self._last_fed).max()) < _TAIL_FLOOR:
            self._silent_frames += 1
        else:
            self._silent_frames = 0
        return self._silent_frames > _RING // FRAME_SAMPLES + DIFFUSER_PARTITIONS


def _mix_gains(params: ReverbParams | None) -> tuple[float, float, float]:
    """(dry, wet·(1+width)/2, wet·(1−width)/2) for the params; off = (1, 0, 0)."""
    if params is None:
        return 1.0, 0.0, 0.0
    width = min(1.0, max(0.0, params.width))
    wet = params.wet_level
    return float(params.dry_level), wet * (1.0 + width) / 2.0, wet * (1.0 - width) / 2.0


def _ramp(old: float, new: float) -> float | _F32:
    """A gain gliding from ``old`` to ``new`` across the frame, or the constant when unchanged."""
    return new if new == old else old + (new - old) * _RAMP
