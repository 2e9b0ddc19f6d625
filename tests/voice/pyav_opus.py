"""A reference Opus packet decoder through PyAV's frame objects: the oracle the engine's ctypes decoder
(``voice/packet_decoder.py``) is checked against, and a plain way for tests to hear packets."""

from __future__ import annotations

import logging

import av
import numpy as np

from musicbot.dsp.frame import CHANNELS, FRAME_SAMPLES, Frame
from musicbot.sources.decoder import SAMPLE_RATE_HZ, _interleaved

log = logging.getLogger(__name__)


class OpusPacketDecoder:
    """Decodes 20 ms Opus packets to float32 (960, 2) frames; used by the consumer in DSP mode.

    ``preroll`` feeds the packets just before a switch point so the decoder's prediction state
    has converged when the first frame that counts comes out (Opus needs ~80 ms for that).
    """

    PREROLL_PACKETS = 4

    def __init__(self) -> None:
        self._codec = av.CodecContext.create("libopus", "r")
        self._codec.sample_rate = SAMPLE_RATE_HZ
        self._codec.layout = "stereo"

    def decode(self, packet: bytes) -> Frame:
        out = np.zeros((FRAME_SAMPLES, CHANNELS), np.float32)
        filled = 0
        try:
            for frame in self._codec.decode(av.Packet(packet)):
                pcm = _interleaved(frame)
                take = min(len(pcm), FRAME_SAMPLES - filled)
                out[filled:filled + take] = pcm[:take]
                filled += take
        except av.error.FFmpegError:
            log.debug("corrupt Opus packet replaced by silence")
        return out

    def preroll(self, packets: list[bytes]) -> None:
        for packet in packets[-self.PREROLL_PACKETS:]:
            self.decode(packet)
