"""The audio format every part of the engine shares: 48 kHz stereo float32, in 20 ms frames, and
what a source hands the engine (``Chunk``s, then ``END_OF_STREAM``).

Its own module, free of heavy imports (numpy only), so that the render worker processes, the
filters and the sources all speak it without importing each other (a worker never loads PyAV's
demuxers or discord.py for it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

SAMPLE_RATE: Final = 48_000
FRAME_SAMPLES: Final = 960  # 20 ms: Discord's packet length
CHANNELS: Final = 2

Frame = npt.NDArray[np.float32]
"""A block of stereo audio, shape (n, 2), float32, values nominally in [-1, 1]; filters receive and
return n == FRAME_SAMPLES."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """20 ms of a source starting at ``start_sample`` (48 kHz samples from the track's start).

    Exactly one of ``pcm`` (float32 (960, 2)) and ``packet`` (one Opus packet) is set."""

    start_sample: int
    pcm: Frame | None = None
    packet: bytes | None = None

    def __reduce__(self) -> tuple[type[Chunk], tuple[int, Frame | None, bytes | None]]:
        # Chunks cross to the render workers 50 times a second per guild: positional arguments
        # pickle in about half the time of the slots' default state dictionary.
        return Chunk, (self.start_sample, self.pcm, self.packet)


class EndOfStream:
    """The source has no more audio. One instance, ``END_OF_STREAM``, compared with ``is``."""

    _instance: EndOfStream | None = None

    def __new__(cls) -> EndOfStream:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __reduce__(self) -> str:
        return "END_OF_STREAM"  # unpickled as this module's singleton, so ``is`` still holds

    def __repr__(self) -> str:
        return "END_OF_STREAM"


END_OF_STREAM: Final = EndOfStream()

Pull = Callable[[], Chunk | EndOfStream | None]
"""A source as the engine reads it: the next chunk, ``END_OF_STREAM``, or None when nothing is
buffered yet (an underrun: the engine sends silence for this frame)."""
