"""Opus encoding of 20 ms frames with the libopus bundled in the PyAV wheel (no system libopus)."""

from __future__ import annotations

from typing import Any

import av
import numpy as np

from musicbot.dsp.frame import FRAME_SAMPLES, SAMPLE_RATE_HZ, Frame

BITRATE_BPS = 128_000
EXPECTED_PACKET_LOSS_PCT = 15  # discord.py's own setting; it sizes the in-band FEC


class OpusEncoder:
    """float32 (960, 2) in, one Opus packet out: 128 kbps, in-band FEC on, 20 ms frames.

    Called from the audio thread. One instance per stream: the encoder carries state
    across frames, so two guilds never share one.
    """

    def __init__(self, bitrate_bps: int = BITRATE_BPS) -> None:
        self._codec: Any = av.CodecContext.create("libopus", "w")
        self._codec.sample_rate = SAMPLE_RATE_HZ
        self._codec.layout = "stereo"
        self._codec.format = "flt"
        self._codec.bit_rate = bitrate_bps
        self._codec.options = {
            "application": "audio",
            "frame_duration": "20",
            "fec": "1",
            "packet_loss": str(EXPECTED_PACKET_LOSS_PCT),
            "vbr": "on",
        }
        self._codec.open()
        self._pts = 0

    @property
    def codec_context(self) -> Any:
        """The PyAV codec context (a muxer needs its extradata to write an Ogg header)."""
        return self._codec

    def encode(self, frame: Frame) -> bytes:
        """Encode exactly one frame. libopus has no extra latency per packet at 20 ms frames,
        so each call yields exactly one packet."""
        pcm = np.ascontiguousarray(frame, dtype=np.float32).reshape(1, -1)
        audio = av.AudioFrame.from_ndarray(pcm, format="flt", layout="stereo")
        audio.sample_rate = SAMPLE_RATE_HZ
        audio.pts = self._pts
        self._pts += FRAME_SAMPLES
        packets = self._codec.encode(audio)
        return b"".join(bytes(p) for p in packets)
