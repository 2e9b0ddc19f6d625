"""The next track fading in under the end of the current one, at the filter chain's input.

Mixing before the chain means one chain, one normalizer and one encoder for both tracks: the
guild's filters apply to the mix, and when the fade is over the chain just carries on with the
new track (no reset, so nothing clicks). The gains are equal-power, ``cos θ`` for the outgoing
track and ``sin θ`` for the incoming one, θ going from 0 to π/2: for two unrelated songs the
summed power, and so the loudness, stays level across the fade.

θ glides sample by sample within each block. ``hurry`` (a skip mid-fade) reaches π/2 within
one block; ``cancel`` (the next track was withdrawn) returns to 0 within one block. Audio
thread only.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np

from musicbot.audio import END_OF_STREAM, Chunk, EndOfStream
from musicbot.dsp.frame import CHANNELS, FRAME_SAMPLES, Frame, ramp_up
from musicbot.voice.packet_decoder import PacketDecoder

log = logging.getLogger(__name__)

HALF_PI = math.pi / 2
MAX_CROSSFADE_S = 12.0

IncomingPull = Callable[[], Chunk | EndOfStream | None]


class Crossfade:
    """One fade in progress. ``mix`` is called once per 960-sample input block of the chain."""

    def __init__(self, pull: IncomingPull, *, packet_mode: bool, length_samples: int) -> None:
        self.pull: IncomingPull | None = pull
        self.packet_mode = packet_mode
        self.decoder: PacketDecoder | None = PacketDecoder() if packet_mode else None
        self.feed = np.zeros((0, CHANNELS), np.float32)  # incoming audio decoded, not yet mixed
        self.source_done = False
        self.error: Exception | None = None  # the incoming source failed; raised once it is the current one
        self.underruns = 0
        self._theta = 0.0
        self._target = HALF_PI
        self._step = HALF_PI * FRAME_SAMPLES / max(FRAME_SAMPLES, length_samples)

    @property
    def finished(self) -> bool:
        """The incoming track is at full level and the outgoing one silent: hand over."""
        return self._target == HALF_PI and self._theta >= HALF_PI

    @property
    def cancelled(self) -> bool:
        return self._target == 0.0 and self._theta <= 0.0

    def hurry(self) -> None:
        """Finish within the next block (skip during the fade: the next track, now)."""
        self._step = HALF_PI

    def cancel(self) -> None:
        """Back to the outgoing track alone within the next block. The incoming source is let go
        at once (its owner closes it): the fade-out uses what is already decoded."""
        self._target = 0.0
        self._step = HALF_PI
        self.pull = None

    def mix(self, outgoing: Frame | None) -> Frame:
        """outgoing·cos θ + incoming·sin θ for one block; ``outgoing`` None once that track ended."""
        incoming = self._incoming_block()
        start = self._theta
        end = min(start + self._step, HALF_PI) if self._target > start else max(start - self._step, 0.0)
        theta = start + (end - start) * ramp_up()
        self._theta = end
        mixed = incoming * np.sin(theta)
        if outgoing is not None:
            mixed += outgoing * np.cos(theta)
        return np.ascontiguousarray(mixed, dtype=np.float32)

    def _incoming_block(self) -> Frame:
        while len(self.feed) < FRAME_SAMPLES and not self.source_done and self.pull is not None:
            try:
                item = self.pull()
            except Exception as error:  # the incoming track failed: it says so once it is current
                self.error = error
                self.source_done = True
                break
            if item is None:
                # Underrun of the incoming track: this block mixes silence for it, nothing is lost.
                self.underruns += 1
                return np.zeros((FRAME_SAMPLES, CHANNELS), np.float32)
            if item is END_OF_STREAM:
                self.source_done = True
                break
            assert isinstance(item, Chunk)
            self.feed = np.concatenate([self.feed, self._decode(item)])
        block = self.feed[:FRAME_SAMPLES]
        self.feed = self.feed[FRAME_SAMPLES:]
        if len(block) < FRAME_SAMPLES:
            block = np.concatenate([block, np.zeros((FRAME_SAMPLES - len(block), CHANNELS), np.float32)])
        return block

    def _decode(self, chunk: Chunk) -> Frame:
        if chunk.pcm is not None:
            return chunk.pcm
        assert chunk.packet is not None
        if self.decoder is None:
            self.decoder = PacketDecoder()
        return self.decoder.decode(chunk.packet)
