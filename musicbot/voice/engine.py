"""The engine of one stream: chunks in, 20 ms of output (PCM or an Opus packet) out.

DSP path: decoded PCM → filter chain → loudness normalizer → player volume → limiter →
Opus encoder. Passthrough: an Opus source whose packets are 20 ms frames, with nothing that
changes the audio (identity filters, volume 1.0, normalization off), is sent packet by packet
without decoding. Switching between the two paths happens on a packet boundary; the one frame
at the switch is encoded as a crossfade between the DSP output and the plainly decoded source,
so neither direction leaves a gap or a step.

Everything here runs on the audio thread (discord.py's player thread, or ``musicbot render``):
no I/O, no locks held while computing; settings arrive through the setters between frames.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from musicbot.dsp.chain import FilterChain
from musicbot.dsp.frame import FRAME_SAMPLES, Frame, ramp_up, silence
from musicbot.dsp.gain import Volume
from musicbot.dsp.limiter import Limiter
from musicbot.dsp.loudness import LoudnessNormalizer
from musicbot.dsp.params import IDENTITY_SETTINGS, FilterSettings
from musicbot.sources.decoder import END_OF_STREAM, Chunk, OpusPacketDecoder, _EndOfStream
from musicbot.sources.opus_packets import is_passthrough_packet
from musicbot.voice.encoder import OpusEncoder

OPUS_SILENCE = b"\xf8\xff\xfe"  # a 20 ms Opus silence frame, as discord.py sends it
DEFAULT_TARGET_LUFS = -14.0
MAX_PLAYER_VOLUME = 2.0  # /volume 200

Pull = Callable[[], Chunk | _EndOfStream | None]
"""Returns the next chunk, END_OF_STREAM, or None when nothing is buffered yet (underrun)."""


@dataclass
class EngineStats:
    dsp_frames: int = 0
    passthrough_frames: int = 0
    underruns: int = 0
    dsp_seconds: float = 0.0  # time spent in the chain and output stage, for /stats and metrics


class AudioEngine:
    """One stream's audio path. Filters, volume and normalization persist across tracks;
    call ``start_track`` when a new source begins."""

    def __init__(
        self,
        filters: FilterSettings = IDENTITY_SETTINGS,
        *,
        volume: float = 1.0,
        normalize: bool = True,
        target_lufs: float = DEFAULT_TARGET_LUFS,
    ) -> None:
        self.chain = FilterChain(filters)
        self.normalizer = LoudnessNormalizer(target_lufs=target_lufs, enabled=normalize)
        self._volume = Volume(None)
        self._volume_value = 1.0
        self.set_volume(volume)
        self.limiter = Limiter()
        self.stats = EngineStats()
        self._encoder: OpusEncoder | None = None
        self._packet_mode = False
        self._opus_decoder: OpusPacketDecoder | None = None
        self._recent_packets: deque[bytes] = deque(maxlen=OpusPacketDecoder.PREROLL_PACKETS)
        self._passing_through = False
        self._fresh = True  # nothing of the current track has gone out yet
        self._ended = False

    # ------------------------------------------------------------------ settings (between frames)
    def set_filters(self, settings: FilterSettings) -> None:
        self.chain.set_settings(settings)

    @property
    def filters(self) -> FilterSettings:
        return self.chain.settings

    def set_volume(self, volume: float) -> None:
        """Player volume as a linear factor, 0.0–2.0 (``/volume 0–200``)."""
        if not 0.0 <= volume <= MAX_PLAYER_VOLUME:
            raise ValueError(f"volume must be 0–{MAX_PLAYER_VOLUME:g}, got {volume}")
        self._volume_value = volume
        self._volume.set_params(None if volume == 1.0 else volume)

    @property
    def volume(self) -> float:
        return self._volume_value

    def set_normalization(self, enabled: bool, target_lufs: float | None = None) -> None:
        self.normalizer.set_enabled(enabled)
        if target_lufs is not None:
            self.normalizer.set_target(target_lufs)

    def start_track(self, *, packet_mode: bool) -> None:
        """A new source begins: filter tails and buffered audio of the last one are dropped."""
        self.chain.reset()
        self._packet_mode = packet_mode
        self._recent_packets.clear()
        self._opus_decoder = OpusPacketDecoder() if packet_mode else None
        self._passing_through = False
        self._fresh = True
        self._ended = False

    @property
    def passing_through(self) -> bool:
        return self._passing_through

    @property
    def can_pass_through(self) -> bool:
        """Nothing would change the audio, so the source's packets can go out as they are."""
        return (
            self._packet_mode
            and self.chain.is_identity
            and self._volume.is_identity
            and self.normalizer.is_identity
        )

    # ------------------------------------------------------------------ output
    def next_packet(self, pull: Pull) -> bytes | None:
        """The next Opus packet; ``OPUS_SILENCE`` on underrun; None at the end of the stream."""
        if self._ended:
            return None
        if self._fresh and self.can_pass_through:
            self._passing_through = True  # from the first packet on: nothing to fade from
        self._fresh = False
        if self._passing_through or self.can_pass_through:
            return self._next_passthrough(pull)
        frame = self.next_pcm(pull)
        if frame is None:
            return None
        if frame is _UNDERRUN:
            return OPUS_SILENCE
        return self._encode(frame)

    def next_pcm(self, pull: Pull) -> Frame | None:
        """The next 20 ms of processed PCM, ``silence()`` on underrun, None at the end."""
        if self._ended:
            return None
        self._fresh = False
        started = time.perf_counter()
        try:
            while not self.chain.ready:
                chunk = pull()
                if chunk is None:
                    self.stats.underruns += 1
                    return _UNDERRUN
                if chunk is END_OF_STREAM:
                    self.chain.finish()
                    if not self.chain.ready:
                        self._ended = True
                        return None
                    break
                assert isinstance(chunk, Chunk)
                self.chain.push(self._pcm_of(chunk))
            frame = self.chain.pop()
            assert frame is not None
            self.stats.dsp_frames += 1
            return self._output_stage(frame)
        finally:
            self.stats.dsp_seconds += time.perf_counter() - started

    def _output_stage(self, frame: Frame) -> Frame:
        frame = self.normalizer.process(frame)
        if not self._volume.is_identity:
            frame = self._volume.process(frame)
        return self.limiter.process(frame)

    def _next_passthrough(self, pull: Pull) -> bytes | None:
        if not self.can_pass_through:
            return self._leave_passthrough(pull)
        chunk = pull()
        if chunk is None:
            self.stats.underruns += 1
            return OPUS_SILENCE
        if chunk is END_OF_STREAM:
            self._ended = True
            return None
        assert isinstance(chunk, Chunk) and chunk.packet is not None
        if not self._passing_through:
            return self._enter_passthrough(chunk)
        self._recent_packets.append(chunk.packet)
        self.stats.passthrough_frames += 1
        if is_passthrough_packet(chunk.packet):
            return chunk.packet
        return self._encode(self._decode_packet(chunk.packet))  # an odd-sized packet: re-encode it

    def _enter_passthrough(self, chunk: Chunk) -> bytes:
        """Last DSP frame: fade from the processed output into the plain source, so the next
        packet continues the plain source exactly."""
        assert chunk.packet is not None
        plain = self._decode_packet(chunk.packet)
        self._recent_packets.append(chunk.packet)
        processed = self._output_stage(self.chain.pop() or self._push_pop(plain))
        self._passing_through = True
        self.chain.reset()
        self.limiter.reset()
        return self._encode(_crossfade(processed, plain))

    def _leave_passthrough(self, pull: Pull) -> bytes | None:
        """First DSP frame: fade from the plain source into the processed output."""
        chunk = pull()
        if chunk is None:
            self.stats.underruns += 1
            return OPUS_SILENCE
        if chunk is END_OF_STREAM:
            self._ended = True
            return None
        assert isinstance(chunk, Chunk) and chunk.packet is not None
        self._opus_decoder = OpusPacketDecoder()
        self._opus_decoder.preroll(list(self._recent_packets))
        self._passing_through = False
        plain = self._pcm_of(chunk)
        self.chain.push(plain)
        processed = self.chain.pop()
        frame = self._output_stage(processed if processed is not None else plain)
        self.stats.dsp_frames += 1
        return self._encode(_crossfade(plain, frame))

    def _push_pop(self, frame: Frame) -> Frame:
        self.chain.push(frame)
        return self.chain.pop() or frame

    def _pcm_of(self, chunk: Chunk) -> Frame:
        if chunk.pcm is not None:
            return chunk.pcm
        assert chunk.packet is not None
        self._recent_packets.append(chunk.packet)
        return self._decode_packet(chunk.packet)

    def _decode_packet(self, packet: bytes) -> Frame:
        if self._opus_decoder is None:
            self._opus_decoder = OpusPacketDecoder()
        return self._opus_decoder.decode(packet)

    def _encode(self, frame: Frame) -> bytes:
        if self._encoder is None:
            self._encoder = OpusEncoder()
        return self._encoder.encode(frame)


_UNDERRUN = silence()


def _crossfade(old: Frame, new: Frame) -> Frame:
    """Equal-gain crossfade over one frame (the two are nearly the same signal)."""
    fade_in = ramp_up(FRAME_SAMPLES)
    return np.asarray(old * (1.0 - fade_in) + new * fade_in, dtype=np.float32)
