"""Opus encoding of 20 ms frames with the libopus bundled in the PyAV wheel (no system libopus)."""

from __future__ import annotations

from typing import Any

import numpy as np

from musicbot.audio import CHANNELS, FRAME_SAMPLES, SAMPLE_RATE, Frame
from musicbot.voice.opus import RawOpusEncoder
from musicbot.voice.protocol import OpusSettings

BITRATE_BPS = 128_000
# The defaults of OpusSettings (MUSICBOT_OPUS_COMPLEXITY, MUSICBOT_OPUS_FEC, MUSICBOT_OPUS_EXPECTED_LOSS),
# chosen by measurement (benchmarks/opus_settings.py, docs/benchmarks.md):
# - Expected packet loss 15 %, as discord.py sets it. With in-band FEC off it costs no CPU and makes
#   CELT lean less on the previous frame: on music -0.1 dB at no loss, +0.15 to +0.5 dB at 2-10 %
#   loss (log-spectral distance).
# - In-band FEC off (discord.py turns it on). FEC at an expected loss of 10-15 % puts libopus 1.6 in
#   hybrid SILK+CELT mode on every frame, which costs 2.4x the CPU (406 vs 166 µs per frame at
#   complexity 10) and leaves music further from the source at every loss rate tried, 0-10 % (LSD
#   2.07-2.78 dB vs 0.88-1.72 dB): the repair of the few lost packets does not make up for what hybrid
#   mode does to all the others. Speech would gain from it; a music bot's input is music, and
#   Discord's loss is mostly < 5 %.
# - Complexity 10, libopus's default (discord.py's too). 8 measured the same as 10 on music; 5 encodes
#   ~40 % faster for +0.05 dB (synthetic input) to +0.5 dB (an earlier one-off on harmonic material)
#   more error: not the default without a listening test, but a setting for a crowded machine.
DEFAULT_OPUS = OpusSettings()


class OpusEncoder:
    """float32 (960, 2) in, one Opus packet out: 128 kbps VBR, 20 ms frames, ``OpusSettings``.

    Called from the audio thread. One instance per stream: the encoder carries state
    across frames, so two guilds never share one.
    """

    def __init__(self, settings: OpusSettings = DEFAULT_OPUS, *, bitrate_bps: int = BITRATE_BPS) -> None:
        self._bitrate_bps = bitrate_bps
        self._complexity = settings.complexity
        self._raw = RawOpusEncoder(bitrate_bps=bitrate_bps, complexity=settings.complexity, fec=settings.fec,
                                   packet_loss_pct=settings.expected_loss_pct)
        self._header_context: Any = None

    @property
    def lookahead_samples(self) -> int:
        """libopus' algorithmic delay: the decoded output lags the input by this many samples."""
        return self._raw.lookahead_samples

    @property
    def codec_context(self) -> Any:
        """A PyAV libopus context with the same settings, for its extradata (the OpusHead an Ogg
        muxer needs); built on first use, only ``musicbot render`` asks."""
        if self._header_context is None:
            import av  # only here: the render workers never need PyAV's Python side

            context: Any = av.CodecContext.create("libopus", "w")
            context.sample_rate = SAMPLE_RATE
            context.layout = "stereo"
            context.format = "flt"
            context.bit_rate = self._bitrate_bps
            context.options = {"application": "audio", "frame_duration": "20",
                               "compression_level": str(self._complexity)}
            context.open()
            self._header_context = context
        return self._header_context

    def encode(self, frame: Frame) -> bytes:
        """Encode exactly one frame. libopus has no extra latency per packet at 20 ms frames,
        so each call yields exactly one packet."""
        pcm = np.ascontiguousarray(frame, dtype=np.float32)
        if pcm.shape != (FRAME_SAMPLES, CHANNELS):
            raise ValueError(f"OpusEncoder encodes ({FRAME_SAMPLES}, {CHANNELS}) frames, got {pcm.shape}")
        return self._raw.encode(pcm.ctypes.data, FRAME_SAMPLES)  # libopus runs without the GIL
