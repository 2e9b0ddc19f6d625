"""Lavalink's trigonometric waveshaper, made an identity at its defaults."""

from __future__ import annotations

import numpy as np

from musicbot.dsp.frame import Frame, ramp_up
from musicbot.dsp.params import DistortionParams


class Distortion:
    """y = clamp(offset + scale·(sinOffset + sin(sinScale·x))·(cosOffset + cos(cosScale·x))
    ·(tanOffset + tan(tanScale·x)), clamped to [-1, 1]; x and y are sample values in [-1, 1].

    Deliberately unlike lavadsp, the default ``DistortionParams()`` (and ``None``) is the identity
    (the SPEC wants every filter neutral at its defaults; lavadsp's defaults give sin²x). Any change,
    including on ↔ off, crossfades the old and new outputs over one frame. ``tan`` poles and overflow
    never reach the output: ±inf become ±1 and NaN becomes 0. ``process``/``reset`` run on
    the audio thread.
    """

    def __init__(self, params: DistortionParams | None = None) -> None:
        """Starts at ``params`` without a crossfade; ``None`` or the defaults mean off."""
        self._params = _active(params)
        self._target = self._params

    def set_params(self, params: DistortionParams | None) -> None:
        """Change the shaper; the next frame crossfades from the old shape to this one."""
        self._target = _active(params)

    def process(self, frame: Frame) -> Frame:
        """Shape one (960, 2) float32 frame. Audio thread."""
        start, end = self._params, self._target
        self._params = end
        new = _shape(frame, end)
        if start == end:
            return new
        old = _shape(frame, start)
        return old + (new - old) * ramp_up(len(frame))

    def reset(self) -> None:
        """The shaper is memoryless; a pending crossfade is skipped (the target applies at once)."""
        self._params = self._target

    @property
    def is_identity(self) -> bool:
        """True when off (or at the defaults) with no crossfade pending."""
        return self._params is None and self._target is None


def _active(params: DistortionParams | None) -> DistortionParams | None:
    """``None`` for every setting that is the identity, so comparisons stay simple."""
    return None if params is None or params.is_default else params


def _shape(frame: Frame, params: DistortionParams | None) -> Frame:
    if params is None:
        return frame
    p = params
    f32 = np.float32
    # float32 throughout: the trig ufuncs are vectorized for it and the clamp hides rounding.
    # Overflow (scale·tan near a pole) is expected and handled below, so silence its warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        y: Frame = f32(p.sin_offset) + np.sin(f32(p.sin_scale) * frame)
        y *= f32(p.cos_offset) + np.cos(f32(p.cos_scale) * frame)
        y *= f32(p.tan_offset) + np.tan(f32(p.tan_scale) * frame)
        y *= f32(p.scale)
        y += f32(p.offset)
    np.clip(y, -1.0, 1.0, out=y)  # also maps ±inf to ±1
    nan = np.isnan(y)  # inf·0 or inf − inf; rare, so only pay for the repair when it happens
    if nan.any():
        y[nan] = 0.0
    return y
