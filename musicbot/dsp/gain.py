"""Linear gain stages: the guild volume and Lavalink's channel mix matrix.

Neither clamps: headroom is kept through the chain and a single limiter at its end decides
what reaches the encoder (unlike lavadsp, which clamps after every stage).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from musicbot.dsp.frame import Frame, ramp_up
from musicbot.dsp.params import ChannelMixParams

_UNITY_MATRIX: npt.NDArray[np.float32] = np.eye(2, dtype=np.float32)


class Volume:
    """Multiplies both channels by a linear gain (1.0 = unchanged, 0.5 ≈ −6 dB, Lavalink range 0–5).

    The SPEC asks for a linear law, not lavadsp's ``tan(0.79·v)`` curve, so 1.0 is exactly unity.
    Constructed and configured from any thread; ``process`` and ``reset`` run on the audio thread.
    """

    def __init__(self, params: float | None = None) -> None:
        """``params`` is the linear gain; ``None`` means off (unity). Starts there without a ramp."""
        self._gain = _gain_of(params)
        self._target = self._gain

    def set_params(self, params: float | None) -> None:
        """Set the linear gain (``None`` = unity); ramped linearly over the next frame."""
        self._target = _gain_of(params)

    def process(self, frame: Frame) -> Frame:
        """Apply the gain to one (960, 2) float32 frame. Audio thread."""
        start, end = self._gain, self._target
        self._gain = end
        if start == end:
            if end == 1.0:
                return frame
            return frame * np.float32(end)
        # The ramp's last sample already has the new gain, so the next frame continues seamlessly.
        gains = np.float32(start) + np.float32(end - start) * ramp_up(len(frame))
        return frame * gains

    def reset(self) -> None:
        """Forget state: a pending ramp is skipped, as a seek makes the audio discontinuous anyway."""
        self._gain = self._target

    @property
    def is_identity(self) -> bool:
        """True at unity gain with no ramp pending."""
        return self._gain == 1.0 and self._target == 1.0


class ChannelMix:
    """Lavalink's channel mix: L' = LL·L + RL·R, R' = LR·L + RR·R (coefficients are linear gains).

    No clamping (a 0–1 matrix can sum to +6 dB; the final limiter handles it). Coefficient
    changes are interpolated per sample over one frame. ``process``/``reset`` run on the audio
    thread.
    """

    def __init__(self, params: ChannelMixParams | None = None) -> None:
        """``None`` (or the default matrix) is the identity. Starts at ``params`` without a ramp."""
        self._matrix = _matrix_of(params)
        self._target = self._matrix

    def set_params(self, params: ChannelMixParams | None) -> None:
        """Set the matrix (``None`` = identity); interpolated per sample over the next frame."""
        self._target = _matrix_of(params)

    def process(self, frame: Frame) -> Frame:
        """Mix one (960, 2) float32 frame. Audio thread."""
        start, end = self._matrix, self._target
        self._matrix = end
        if start is end or np.array_equal(start, end):
            if end is _UNITY_MATRIX:
                return frame
            return frame @ end
        # The mix is linear in its coefficients, so crossfading the two mixes equals
        # interpolating every coefficient per sample, at the cost of two 2×2 products.
        ramp = ramp_up(len(frame))
        old: Frame = frame @ start
        new: Frame = frame @ end
        mixed: Frame = old + (new - old) * ramp
        return mixed

    def reset(self) -> None:
        """Forget state: a pending interpolation is skipped (the target applies at once)."""
        self._matrix = self._target

    @property
    def is_identity(self) -> bool:
        """True when the matrix is the identity and no change is pending."""
        # Asked for every frame (the chain and the engine's passthrough check): an identity test,
        # not two array comparisons (~3 µs each), since every unity matrix is _UNITY_MATRIX itself.
        return self._matrix is _UNITY_MATRIX and self._target is _UNITY_MATRIX


def _gain_of(params: float | None) -> float:
    return 1.0 if params is None else float(params)


def _matrix_of(params: ChannelMixParams | None) -> npt.NDArray[np.float32]:
    """Matrix M with rows = input channel, columns = output channel, so ``frame @ M`` mixes."""
    if params is None:
        return _UNITY_MATRIX
    matrix = np.array(
        [[params.left_to_left, params.left_to_right],
         [params.right_to_left, params.right_to_right]],
        dtype=np.float32,
    )
    return _UNITY_MATRIX if np.array_equal(matrix, _UNITY_MATRIX) else matrix
