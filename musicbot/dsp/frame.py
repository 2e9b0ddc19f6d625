"""The frame format every filter speaks: float32, shape (960, 2), 48 kHz, values nominally in [-1, 1]."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from musicbot.audio import CHANNELS, FRAME_SAMPLES, SAMPLE_RATE, Frame

__all__ = ["CHANNELS", "FRAME_SAMPLES", "FRAME_SECONDS", "SAMPLE_RATE_HZ", "Frame", "as_frame", "ramp_up", "silence"]

SAMPLE_RATE_HZ = SAMPLE_RATE
FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE


def silence(samples: int = FRAME_SAMPLES) -> Frame:
    """A block of digital silence."""
    return np.zeros((samples, CHANNELS), dtype=np.float32)


def ramp_up(samples: int = FRAME_SAMPLES) -> npt.NDArray[np.float32]:
    """Column vector rising linearly from just above 0 to exactly 1 over one frame.

    Parameter changes are interpolated with it, so the last sample of the transition frame
    already has the new value and the first one is a step of 1/960 away from the old one.
    """
    ramp = np.arange(1, samples + 1, dtype=np.float32) / np.float32(samples)
    return ramp[:, None]


def as_frame(samples: npt.ArrayLike) -> Frame:
    """Coerce any (n, 2) array to a contiguous float32 frame."""
    return np.ascontiguousarray(samples, dtype=np.float32)
