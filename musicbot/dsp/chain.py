"""The filter chain: every filter of a guild, in Lavalink's order, as one stateful processor.

Order (Lavalink v4 ``FilterChain.kt``, so presets from Lavalink bots sound the same):
lowPass → channelMix → rotation → distortion → vibrato → tremolo → timescale → karaoke →
equalizer → our extensions bassBoost → reverb → volume. Filters before timescale run at the
input's rate on 960-sample input frames; timescale emits a varying number of samples, which a
FIFO re-blocks into 960-sample frames for the filters after it.

Called from the audio thread only. ``set_settings`` takes effect on the next frame; each filter
smooths its own change over that frame, so nothing clicks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from musicbot.dsp.bassboost import BassBoost
from musicbot.dsp.distortion import Distortion
from musicbot.dsp.equalizer import Equalizer
from musicbot.dsp.finite import finite, process_guarded
from musicbot.dsp.frame import CHANNELS, FRAME_SAMPLES, Frame
from musicbot.dsp.gain import ChannelMix, Volume
from musicbot.dsp.karaoke import Karaoke
from musicbot.dsp.lowpass import LowPass
from musicbot.dsp.modulation import Rotation, Tremolo, Vibrato
from musicbot.dsp.params import FLAT_EQ, IDENTITY_SETTINGS, FilterSettings
from musicbot.dsp.reverb import Reverb
from musicbot.dsp.timescale import Timescale


@dataclass
class _Stage:
    name: str
    filter: Any
    pick: Callable[[FilterSettings], Any]
    # Filters that carry audio from frame to frame (IIR memory, delay lines, tails) are checked on
    # the way out (dsp/finite.py); the stateless ones cannot keep a NaN, and skip the 1.5 µs check.
    carries_audio: bool = True
    active: bool = False

    def run(self, frame: Frame) -> Frame:
        if self.filter.is_identity:
            if self.active:
                # Drop tails and delay lines now, so that switching the filter on again later
                # starts from silence (its own parameter ramp fades it in) instead of replaying
                # audio from minutes ago.
                self.filter.reset()
                self.active = False
            return frame
        self.active = True
        if self.carries_audio:
            return process_guarded(self.filter, frame)
        return self.filter.process(frame)  # type: ignore[no-any-return]


def _pre_stages() -> list[_Stage]:
    return [
        _Stage("lowPass", LowPass(), lambda s: s.low_pass),
        _Stage("channelMix", ChannelMix(), lambda s: s.channel_mix, carries_audio=False),
        _Stage("rotation", Rotation(), lambda s: s.rotation, carries_audio=False),
        _Stage("distortion", Distortion(), lambda s: s.distortion, carries_audio=False),
        _Stage("vibrato", Vibrato(), lambda s: s.vibrato),
        _Stage("tremolo", Tremolo(), lambda s: s.tremolo, carries_audio=False),
    ]


def _post_stages() -> list[_Stage]:
    return [
        _Stage("karaoke", Karaoke(), lambda s: s.karaoke),
        _Stage("equalizer", Equalizer(), lambda s: None if s.equalizer == FLAT_EQ else s.equalizer),
        _Stage("bassBoost", BassBoost(), lambda s: s.bass_boost),
        _Stage("reverb", Reverb(), lambda s: s.reverb),
        _Stage("volume", Volume(), lambda s: None if s.volume == 1.0 else s.volume, carries_audio=False),
    ]


class FilterChain:
    """All filters of one stream. ``push`` input frames, ``pop`` output frames.

    Without timescale one pushed frame yields exactly one popped frame; with it, the ratio is
    ``input_per_output`` on average.
    """

    def __init__(self, settings: FilterSettings = IDENTITY_SETTINGS) -> None:
        self._pre = _pre_stages()
        self._timescale = Timescale()
        self._post = _post_stages()
        self._stages = (*self._pre, *self._post)
        self._fifo: list[Frame] = []
        self._fifo_len = 0
        self.settings = IDENTITY_SETTINGS
        self.set_settings(settings)
        self.reset()  # a new chain starts at its settings instead of gliding in from "off"

    @property
    def stages(self) -> list[str]:
        """Names of the filters in processing order (for /filter show and benchmarks)."""
        return [s.name for s in self._pre] + ["timescale"] + [s.name for s in self._post]

    def set_settings(self, settings: FilterSettings) -> None:
        for stage in (*self._pre, *self._post):
            stage.filter.set_params(stage.pick(settings))
        self._timescale.set_params(settings.timescale)
        self.settings = settings

    @property
    def is_identity(self) -> bool:
        """True when every filter is neutral, no transition is pending and nothing is buffered."""
        return (
            self._fifo_len == 0
            and self._timescale.is_identity
            and all(s.filter.is_identity for s in (*self._pre, *self._post))
        )

    @property
    def filters_identity(self) -> bool:
        """True when every filter is neutral and settled (audio may still sit in the FIFO)."""
        return self._timescale.is_identity and all(stage.filter.is_identity for stage in self._stages)

    @property
    def stretching(self) -> bool:
        """True while the timescale moves the output's timeline against the input's."""
        return not self._timescale.is_identity

    @property
    def input_per_output(self) -> float:
        return float(self._timescale.input_per_output)

    @property
    def ready(self) -> bool:
        """True when ``pop`` can return a frame without another ``push``."""
        return self._fifo_len >= FRAME_SAMPLES

    def push(self, frame: Frame) -> None:
        """Feed one input frame (960 samples at the source rate). A NaN or ±Inf sample in it is
        zeroed here, before any filter can keep it in its state (``dsp/finite.py``)."""
        frame = finite(frame)
        for stage in self._pre:
            frame = stage.run(frame)
        # Always called, even when off (it then returns the frame itself for ~3 µs): the
        # resampler keeps a short history that must stay current for a seamless switch-on.
        # Off, its input was checked above and is its output.
        timescale = self._timescale
        self._append(timescale.process(frame) if timescale.is_identity else process_guarded(timescale, frame))

    def finish(self) -> None:
        """End of input: release what the timescale holds and pad to a whole frame."""
        self._append(self._timescale.flush())
        short = (-self._fifo_len) % FRAME_SAMPLES
        if short:
            self._append(np.zeros((short, CHANNELS), np.float32))

    def pop(self) -> Frame | None:
        """The next output frame, or None if more input is needed."""
        if self._fifo_len < FRAME_SAMPLES:
            return None
        frame = self._take(FRAME_SAMPLES)
        for stage in self._post:
            frame = stage.run(frame)
        return frame

    def reset(self) -> None:
        """Forget all state and buffered audio (after a seek or a new track)."""
        for stage in (*self._pre, *self._post):
            stage.filter.reset()
        self._timescale.reset()
        self._fifo, self._fifo_len = [], 0

    def _append(self, block: Frame) -> None:
        if len(block):
            self._fifo.append(block)
            self._fifo_len += len(block)

    def _take(self, count: int) -> Frame:
        head = self._fifo[0]
        if len(head) == count:  # the common case: no copy
            self._fifo.pop(0)
            self._fifo_len -= count
            return head
        joined = np.concatenate(self._fifo) if len(self._fifo) > 1 else head
        out, rest = joined[:count], joined[count:]
        self._fifo = [rest] if len(rest) else []
        self._fifo_len = len(rest)
        return np.ascontiguousarray(out)
