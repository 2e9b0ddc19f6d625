"""Lavalink's ``timescale`` filter (speed, pitch, rate) with SoundTouch semantics.

Duration is divided by speed·rate and every frequency multiplied by pitch·rate. It is built
from two stages, each skipped when it has nothing to do:

1. ``Resampler`` at ratio r = pitch·rate: pitch × r, duration ÷ r (pure "nightcore").
2. ``Wsola`` at tempo t = speed / pitch: duration ÷ t, pitch unchanged.

Net duration ÷ (r·t) = ÷ (speed·rate). Resampling first means the WSOLA hop is exactly one
output frame. Neither stage exists in scipy in a streaming form; see their modules.

Unlike the other filters the output length differs from the input length, so the API is a
stream: ``process`` pushes one input frame and returns whatever output is ready (0 or more
samples), ``flush`` drains the rest at the end of a track. The player uses
``input_per_output`` to know how fast it must feed input. Every method runs on the audio
thread; ``set_params`` is applied by that thread between frames.
"""

from __future__ import annotations

import numpy as np

from musicbot.dsp.frame import CHANNELS, Frame, as_frame
from musicbot.dsp.params import TimescaleParams
from musicbot.dsp.resampler import Resampler
from musicbot.dsp.wsola import Wsola

_UNIT_TOLERANCE = 1e-9


def _stage_ratios(params: TimescaleParams | None) -> tuple[float, float]:
    """(resampler ratio, WSOLA tempo) for ``params``; exactly 1.0 when a stage is not needed."""
    if params is None:
        return 1.0, 1.0
    ratio = params.pitch_ratio
    tempo = params.speed / params.pitch
    ratio = 1.0 if abs(ratio - 1.0) < _UNIT_TOLERANCE else ratio
    tempo = 1.0 if abs(tempo - 1.0) < _UNIT_TOLERANCE else tempo
    return ratio, tempo


def _normalise(params: TimescaleParams | None) -> TimescaleParams | None:
    if params is None or _stage_ratios(params) == (1.0, 1.0):
        return None
    return params


class Timescale:
    """Speed / pitch / rate change of a stereo 48 kHz stream (audio thread only).

    Off (``None`` or all 1.0) it returns its input frame unchanged, with no delay. Switching on,
    off or between settings takes effect at the next ``process`` call and is smooth: pitch
    glides over 20 ms and tempo changes at a crossfaded hop boundary; no audio is lost or
    repeated.
    """

    def __init__(self, params: TimescaleParams | None = None) -> None:
        self._params = _normalise(params)
        ratio, tempo = _stage_ratios(self._params)
        self._resampler = Resampler(ratio)
        self._wsola = Wsola(tempo)

    @property
    def params(self) -> TimescaleParams | None:
        """The active settings, or None when off."""
        return self._params

    def set_params(self, params: TimescaleParams | None) -> None:
        """Change settings (None = off); heard from the next ``process`` call, without a click."""
        self._params = _normalise(params)
        ratio, tempo = _stage_ratios(self._params)
        self._resampler.set_ratio(ratio)
        self._wsola.set_tempo(tempo)

    @property
    def is_identity(self) -> bool:
        """True when off and no audio is held back, so output equals input with no delay."""
        return self._params is None and self._resampler.is_bypassed and self._wsola.is_bypassed

    @property
    def input_per_output(self) -> float:
        """Input samples consumed per output sample in the long run: speed·rate (1.0 when off)."""
        return 1.0 if self._params is None else self._params.tempo_ratio

    @property
    def latency_samples(self) -> float:
        """Input samples pushed in but not yet heard (approximate; ≈ 0 when off).

        Subtract it from the input position to get the position of what is coming out now.
        """
        return self._resampler.pending_input + self._wsola.pending_input * self._resampler.ratio

    def process(self, frame: Frame) -> Frame:
        """Push one (n, 2) float32 input frame; return the (m, 2) float32 output ready now, m ≥ 0."""
        block = as_frame(frame)
        return self._wsola.process(self._resampler.process(block))

    def flush(self) -> Frame:
        """At the end of a stream: return all output still owed, then start afresh."""
        tail = self._resampler.flush()
        parts = [self._wsola.process(tail) if len(tail) else tail, self._wsola.flush()]
        parts = [p for p in parts if len(p)]
        if not parts:
            return np.zeros((0, CHANNELS), dtype=np.float32)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def reset(self) -> None:
        """Forget all buffered audio (as after a seek); keep the settings."""
        self._resampler.reset()
        self._wsola.reset()
