"""Decoding the source's 20 ms Opus packets on the audio thread, when filters are on.

Same contract and same numbers as PyAV's libopus decoder (``tests/voice/pyav_opus.py``) (float32 (960, 2)
frames of 16-bit decoded audio; a corrupt packet becomes silence; a longer packet is cut to its
first 20 ms), but through ctypes (``voice/opus.py``): one call that releases the GIL, instead of
PyAV's frame objects. It keeps the render baton (``voice/ahead.py``): at ~70 µs a packet, handing
the baton over and waiting to get it back would cost more than it frees.
"""

from __future__ import annotations

import logging

import numpy as np

from musicbot.dsp.frame import CHANNELS, FRAME_SAMPLES, Frame
from musicbot.voice.opus import MAX_FRAME_SAMPLES, RawOpusDecoder

log = logging.getLogger(__name__)

_SCALE = np.float32(1.0 / 32768.0)


class PacketDecoder:
    """One stream's Opus decoder (it carries prediction state from packet to packet)."""

    PREROLL_PACKETS = 4  # packets before a switch point that converge the decoder's state (~80 ms)

    def __init__(self) -> None:
        self._raw = RawOpusDecoder()
        self._pcm = np.zeros((MAX_FRAME_SAMPLES, CHANNELS), np.int16)
        self._address = self._pcm.ctypes.data

    def decode(self, packet: bytes) -> Frame:
        samples = self._raw.decode(packet, self._address, MAX_FRAME_SAMPLES)
        if samples < 0:
            log.debug("corrupt Opus packet replaced by silence")
            return np.zeros((FRAME_SAMPLES, CHANNELS), np.float32)
        out = np.zeros((FRAME_SAMPLES, CHANNELS), np.float32)
        take = min(samples, FRAME_SAMPLES)
        np.multiply(self._pcm[:take], _SCALE, out=out[:take], casting="unsafe")
        return out
