"""The filter protocol and the pieces every filter shares."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from musicbot.dsp.frame import Frame


@runtime_checkable
class Filter(Protocol):
    """A stateful block processor. Called from the audio thread only, one frame at a time.

    ``process`` takes a (960, 2) float32 frame and returns one of the same shape and dtype;
    it may reuse or overwrite its input. ``reset`` forgets all state (tails, phases, buffers),
    as after a seek. ``is_identity`` is True when the filter currently leaves audio untouched
    and has no tail left to ring out, so a chain may skip it.
    """

    def process(self, frame: Frame) -> Frame: ...

    def reset(self) -> None: ...

    @property
    def is_identity(self) -> bool: ...
