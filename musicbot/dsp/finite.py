"""Non-finite samples (NaN, ±Inf): found cheaply, replaced by silence, never kept in a filter's state.

One NaN that reaches a filter's carried state (an IIR's memory, a delay line, a reverb tail, the
time-stretcher's history) is in every frame after it; the limiter then zeroes those frames and
the rest of the track is silent. So the decoder zeroes non-finite samples as they arrive, the chain
zeroes them at its input, and every filter the chain runs is checked on its way out
(``process_guarded``): a filter that produced a non-finite sample anyway is reset, so the frame
after a bad one is heard again.

Audio thread (the chain) and decoder thread; pure functions.
"""

from __future__ import annotations

import math

import numpy as np

from musicbot.dsp.base import Filter
from musicbot.dsp.frame import Frame


def all_finite(frame: Frame) -> bool:
    """True when no sample is NaN or ±Inf.

    One BLAS dot product, about 1 µs per frame against 4 µs for ``np.isfinite(frame).all()``
    (measured on the bench machine): NaN and ±Inf make the sum of squares non-finite. A sample
    beyond ±1e17 (never audio) overflows it too; the exact check then settles it.
    """
    flat = frame.reshape(-1)
    if math.isfinite(float(flat.dot(flat))):
        return True
    return bool(np.isfinite(flat).all())


def zero_nonfinite(frame: Frame) -> Frame:
    """A copy of ``frame`` with every NaN and ±Inf sample replaced by 0.0.

    Zero rather than clipping ±Inf to full scale: a full-scale spike is a click, one missing
    sample is inaudible.
    """
    return np.nan_to_num(frame, nan=0.0, posinf=0.0, neginf=0.0)


def finite(frame: Frame) -> Frame:
    """``frame`` itself when every sample is finite (the usual case, about 1 µs), else a repaired copy."""
    return frame if all_finite(frame) else zero_nonfinite(frame)


def process_guarded(filt: Filter, frame: Frame) -> Frame:
    """``filt.process(frame)``; when the output holds a non-finite sample, the filter's state is
    presumed poisoned and reset (its tail is lost, the rest of the track is not), and the bad
    samples are zeroed."""
    out = filt.process(frame)
    if all_finite(out):
        return out
    filt.reset()
    return zero_nonfinite(out)
