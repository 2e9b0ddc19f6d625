"""Streaming windowed-sinc resampler with an arbitrary ratio that may change mid-stream.

Why it is written by hand: scipy's resamplers (``resample_poly``, ``upfirdn``, ``resample``)
work on whole signals with a rational ratio and keep no state between calls, so they cannot
follow a ratio such as pitch·rate = 1.1 frame by frame without seams. This one keeps its input
history and its fractional read position across calls, so cutting a signal into frames changes
nothing (it is linear and time-invariant for a fixed ratio).

Convention: ``ratio`` r is how many input samples are consumed per output sample, so every
frequency comes out × r and the duration ÷ r (r = 1.25 is "nightcore").

Kernel: a Kaiser-windowed sinc of ``BASE_TAPS`` taps (β = 7, about 70 dB stop band), designed
exactly at ``PHASES`` fractional positions and linearly interpolated to a table of ``FINE_PHASES``
that is read at the nearest phase: reading is one gather, and the position error (≤ 1/8192
sample) is below −72 dB even for a full-scale 15 kHz tone. The cutoff sits at the lower of the two Nyquist
frequencies: for r > 1 it is scaled by 1/r and the kernel is lengthened by r (up to
``MAX_TAPS``) so the transition band keeps its width in output terms.

A ratio change glides linearly over ``GLIDE_SAMPLES`` outputs (no step in pitch) and, when the
cutoff changes, the outputs of the old and the new kernel are crossfaded over the same span. At
ratio 1 the kernel is an exact delta at integer positions, so once the read position is an
integer the resampler steps aside and returns its input unchanged (zero added delay).

Everything here runs on the audio thread, one call per frame.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import as_strided
from scipy import special

from musicbot.dsp.frame import CHANNELS, Frame

BASE_TAPS = 32
MAX_TAPS = 256
PHASES = 256
FINE_PHASES = 4096
KAISER_BETA = 7.0
GLIDE_SAMPLES = 960
"""Outputs over which a ratio change glides and an old kernel is crossfaded out (20 ms)."""

_PHASE_BITS = FINE_PHASES.bit_length() - 1
_HISTORY = MAX_TAPS // 2  # input kept behind the read position: enough for the longest kernel
_MIN_CAPACITY = 16_384
_SNAP_TOLERANCE = 1e-9

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Kernel:
    """A tabulated interpolation kernel: ``rows[i]`` are the tap weights at fraction i/PHASES."""

    taps: int
    cutoff: float
    """Cutoff in cycles per input sample (0.5 = the input's Nyquist frequency)."""
    rows: npt.NDArray[np.float32]
    """(FINE_PHASES + 1, taps): row i weighs the taps at offsets −taps/2 + 1 … taps/2 from
    floor(position) when the position's fraction is i / FINE_PHASES."""


def kernel_for(ratio: float) -> Kernel:
    """The kernel used at ``ratio``; every ratio ≤ 1 shares one (cached) kernel."""
    scale = max(1.0, ratio)
    taps = min(MAX_TAPS, 2 * math.ceil(BASE_TAPS * scale / 2))
    return _design(taps, 0.5 / scale)


@functools.lru_cache(maxsize=8)
def _design(taps: int, cutoff: float) -> Kernel:
    half = taps // 2
    offsets = np.arange(-half + 1, half + 1, dtype=np.float64)
    fractions = np.arange(PHASES + 1, dtype=np.float64) / PHASES
    distance = offsets[None, :] - fractions[:, None]  # tap position minus read position
    shape = np.sqrt(np.clip(1.0 - np.square(distance / half), 0.0, 1.0))
    window = special.i0(KAISER_BETA * shape) / special.i0(KAISER_BETA)
    rows = 2.0 * cutoff * np.sinc(2.0 * cutoff * distance) * window
    # Unity DC gain at every phase, so a changing fraction cannot modulate the level.
    rows /= rows.sum(axis=1, keepdims=True)
    # Designing every fine phase exactly would cost ~16 ms on the audio thread; interpolating
    # the exact coarse table is ~0.3 ms and its error (< −100 dB) is far below the rounding's.
    step = FINE_PHASES // PHASES
    fine = np.empty((FINE_PHASES + 1, taps), dtype=np.float32)
    blend = (np.arange(step) / step)[None, :, None]
    fine[:-1] = (rows[:-1, None, :] + blend * (rows[1:] - rows[:-1])[:, None, :]).reshape(-1, taps)
    fine[-1] = rows[-1]
    fine.flags.writeable = False
    return Kernel(taps, cutoff, fine)


def _empty() -> Frame:
    return np.zeros((0, CHANNELS), dtype=np.float32)


class Resampler:
    """Arbitrary-ratio streaming resampler for stereo float32 blocks (audio thread only).

    ``process`` takes (n, 2) and returns (m, 2) with m ≈ n / ratio (it holds back the kernel's
    look-ahead, ``pending_input`` samples); ``flush`` returns what is held back at the end.
    """

    def __init__(self, ratio: float = 1.0) -> None:
        _check_ratio(ratio)
        self._target = ratio
        self._buf = np.zeros((CHANNELS, _MIN_CAPACITY), dtype=np.float32)
        self._views: dict[int, npt.NDArray[np.float32]] = {}
        self._len = _HISTORY
        self._pos = float(_HISTORY)
        self._glide: FloatArray = np.zeros(0)
        self._ratio_now = ratio
        self._kernel = kernel_for(ratio)
        self._old_kernel: Kernel | None = None
        self._faded = 0
        self._bypass = ratio == 1.0

    @property
    def ratio(self) -> float:
        """The ratio the resampler is at or gliding towards (input samples per output sample)."""
        return self._target

    @property
    def is_bypassed(self) -> bool:
        """True when it passes input straight through: ratio 1 reached and nothing held back."""
        return self._bypass

    @property
    def pending_input(self) -> float:
        """Input samples taken in but not yet represented in the output (the look-ahead)."""
        return 0.0 if self._bypass else self._len - self._pos

    def set_ratio(self, ratio: float) -> None:
        """Glide to ``ratio`` over the next ``GLIDE_SAMPLES`` outputs, starting at the next call."""
        _check_ratio(ratio)
        if ratio == self._target and not self._glide.size:
            return
        start = 1.0 if self._bypass else self._ratio_now
        self._target = ratio
        self._glide = start + (ratio - start) * np.arange(1, GLIDE_SAMPLES + 1) / GLIDE_SAMPLES
        kernel = kernel_for(ratio)
        if kernel is not self._kernel:
            self._old_kernel = self._kernel
            self._faded = 0
            self._kernel = kernel
        self._bypass = False

    def reset(self) -> None:
        """Forget all audio (as after a seek); keep the ratio, with no glide pending."""
        self._buf[:, :_HISTORY] = 0.0
        self._len = _HISTORY
        self._pos = float(_HISTORY)
        self._glide = np.zeros(0)
        self._ratio_now = self._target
        self._kernel = kernel_for(self._target)
        self._old_kernel = None
        self._bypass = self._target == 1.0

    def process(self, block: Frame) -> Frame:
        """Push (n, 2) float32 input; return the (m, 2) float32 output that is ready now."""
        self._append(block)
        if self._bypass:
            self._pos = float(self._len)
            return block
        # A position within half a phase step of the limit rounds up to the next sample.
        out = self._render(self._len - self._half_width() - 1.0 / FINE_PHASES)
        return self._maybe_bypass(out)

    def flush(self) -> Frame:
        """Return the output still owed for the input pushed so far, then reset."""
        if self._bypass:
            return _empty()
        end = float(self._len)
        self._append(np.zeros((self._half_width() + 1, CHANNELS), dtype=np.float32))
        out = self._render(end)
        self.reset()
        return out

    # -- internals -------------------------------------------------------------------------

    def _half_width(self) -> int:
        old = self._old_kernel.taps if self._old_kernel is not None else 0
        return max(self._kernel.taps, old) // 2

    def _append(self, block: Frame) -> None:
        n = len(block)
        if self._len + n > self._buf.shape[1]:
            keep = max(0, math.floor(self._pos) - _HISTORY)
            kept = self._len - keep
            self._buf[:, :kept] = self._buf[:, keep:self._len]
            self._len = kept
            self._pos -= keep
            if kept + n > self._buf.shape[1]:
                grown = np.zeros((CHANNELS, max(2 * self._buf.shape[1], kept + n)), dtype=np.float32)
                grown[:, :kept] = self._buf[:, :kept]
                self._buf = grown
                self._views.clear()
        self._buf[:, self._len:self._len + n] = block.T
        self._len += n

    def _positions(self, limit: float) -> tuple[FloatArray, float]:
        """Read positions of the outputs that fit below ``limit``, and the position after them."""
        p = self._pos
        glide = self._glide
        step = min(self._target, float(glide.min())) if glide.size else self._target
        count = max(0, math.ceil((limit - p) / step)) + 1
        if not glide.size:
            positions = p + self._target * np.arange(count + 1, dtype=np.float64)
            self._ratio_now = self._target
        else:
            increments = np.full(count, self._target)
            used = min(glide.size, count)
            increments[:used] = glide[:used]
            positions = np.empty(count + 1)
            positions[0] = 0.0
            np.cumsum(increments, out=positions[1:])
            positions += p
        m = int(np.searchsorted(positions, limit, side="left"))
        if glide.size and m:
            self._ratio_now = float(glide[m - 1]) if m <= glide.size else self._target
            self._glide = glide[m:]
        return positions[:m], float(positions[m])

    def _render(self, limit: float) -> Frame:
        if limit <= self._pos:
            return _empty()
        positions, self._pos = self._positions(limit)
        m = len(positions)
        if not m:
            return _empty()
        out = self._filter(positions, self._kernel)
        if self._old_kernel is not None:
            old = self._filter(positions, self._old_kernel)
            weight = (self._faded + 1 + np.arange(m, dtype=np.float32)) / np.float32(GLIDE_SAMPLES)
            np.minimum(weight, 1.0, out=weight)
            out -= old
            out *= weight[:, None]
            out += old
            self._faded += m
            if self._faded >= GLIDE_SAMPLES:
                self._old_kernel = None
        return out

    def _filter(self, positions: FloatArray, kernel: Kernel) -> Frame:
        """Kernel output at each read position: gather the windows, dot with interpolated rows."""
        # Quantize once to the phase grid, so a position that rounds up to the next whole
        # sample reads phase 0 there (not the last phase of the sample before).
        grid = np.rint(positions * FINE_PHASES).astype(np.int64)
        coeffs = kernel.rows.take(grid & (FINE_PHASES - 1), axis=0)
        first = (grid >> _PHASE_BITS).astype(np.intp) - (kernel.taps // 2 - 1)
        rows = np.concatenate((first, first + self._buf.shape[1]))
        windows = self._windows(kernel.taps)[rows].reshape(CHANNELS, len(positions), kernel.taps)
        out: Frame = np.einsum("kn,ckn->kc", coeffs, windows)
        return out

    def _windows(self, taps: int) -> npt.NDArray[np.float32]:
        """Row i = buffer samples i … i + taps − 1 of the channel-major buffer, without copying."""
        view = self._views.get(taps)
        if view is None:
            flat = self._buf.reshape(-1)
            step = flat.strides[0]
            view = as_strided(flat, shape=(flat.size - taps + 1, taps), strides=(step, step), writeable=False)
            self._views[taps] = view
        return view

    def _maybe_bypass(self, out: Frame) -> Frame:
        if self._target != 1.0 or self._glide.size or self._old_kernel is not None:
            return out
        nearest = round(self._pos)
        if abs(self._pos - nearest) > _SNAP_TOLERANCE:
            # Land on an integer position by bending the ratio ≤ 0.05 % for 20 ms (inaudible);
            # the unit-ratio kernel is a pure delta there, so stepping aside is then seamless.
            frac = self._pos - math.floor(self._pos)
            shift = -frac if frac < 0.5 else 1.0 - frac
            self._glide = np.full(GLIDE_SAMPLES, 1.0 + shift / GLIDE_SAMPLES)
            return out
        tail = np.ascontiguousarray(self._buf[:, nearest:self._len].T)
        self._pos = float(self._len)
        self._bypass = True
        return np.concatenate((out, tail)) if len(out) else tail


def _check_ratio(ratio: float) -> None:
    if not (math.isfinite(ratio) and ratio > 0.0):
        raise ValueError(f"resampling ratio must be a positive finite number, got {ratio!r}")
