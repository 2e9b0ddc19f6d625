"""The engine of one stream: chunks in, 20 ms of output (PCM or an Opus packet) out.

DSP path: decoded PCM → filter chain → loudness normalizer → player volume → limiter → Opus
encoder. Passthrough: an Opus source whose packets are 20 ms frames, with nothing that changes
the audio (identity filters, volume 1.0, normalization off), goes out packet by packet, undecoded.

Switching paths is sample-exact. The listener's decoder hears the source's own timeline S in
passthrough; our encoder delays what it is given by ``ENCODER_DELAY_SAMPLES`` and the limiter
by its look-ahead. So on entering the DSP path at packet boundary b, the encoder is primed with
S[b+d-960 : b+d], the limiter with the samples before b+d+L, and the chain is fed from S[b+d+L]
on: the first re-encoded packet decodes to exactly S[b : b+960]. Leaving it, the source's
packet that starts where the listener is goes out next. When a time-stretch has moved the
timeline in between, the last DSP frame crossfades into the plain source instead.

Crossfade (``begin_crossfade``): the next track's audio is mixed into the chain's input
(``voice/crossfade.py``); when the fade is complete, its source becomes this engine's source
without a reset, and ``take_crossfade_completed`` tells the player to swap its slots.

Everything here runs on the audio thread (discord.py's player thread, or ``musicbot render``):
no I/O, no locks; settings arrive through the setters between frames.
"""

from __future__ import annotations

import logging
import time
from collections import deque

import numpy as np

from musicbot.audio import CHANNELS, END_OF_STREAM, FRAME_SAMPLES, Chunk, Frame, Pull
from musicbot.dsp.frame import ramp_up, silence
from musicbot.dsp.gain import Volume
from musicbot.dsp.params import IDENTITY_SETTINGS, FilterSettings
from musicbot.sources.opus_packets import is_passthrough_packet
from musicbot.voice.crossfade import Crossfade
from musicbot.voice.encoder import OpusEncoder
from musicbot.voice.packet_decoder import PacketDecoder
from musicbot.voice.protocol import (
    DEFAULT_TARGET_LUFS,
    OPUS_SILENCE,
    EngineConfig,
    EngineStats,
    OpusSettings,
    SetCrossfade,
)

log = logging.getLogger(__name__)

# libopus 1.6 (application "audio", 48 kHz, CELT mode: no in-band FEC, voice/encoder.py) output
# lags its input by this many samples, its reported lookahead (measured: tests/voice/test_engine.py
# checks it against the bundled libopus; in hybrid mode, with FEC on, it was 310).
ENCODER_DELAY_SAMPLES = 312


class _Underrun(Exception):
    """The source has nothing buffered right now."""


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
        opus: OpusSettings | None = None,
    ) -> None:
        config = EngineConfig(filters, volume, normalize, target_lufs, opus=opus or OpusSettings())  # checks them
        # Imported here: the filters, the normalizer and the limiter load scipy (about 40 MiB
        # resident), which a bot process whose render workers do the rendering never needs: it
        # imports this module only for its constants and types.
        from musicbot.dsp.chain import FilterChain
        from musicbot.dsp.limiter import Limiter
        from musicbot.dsp.loudness import LoudnessNormalizer

        self.chain = FilterChain(config.filters)
        self.normalizer = LoudnessNormalizer(target_lufs=config.target_lufs, enabled=config.normalize)
        self._volume = Volume(None)
        self._volume_value = 1.0
        self.set_volume(config.volume)
        self._opus = config.opus
        self.limiter = Limiter()
        self.stats = EngineStats()
        self.last_render_s = 0.0  # wall time of the last next_packet, seconds
        self._encoder: OpusEncoder | None = None
        self._decoder: PacketDecoder | None = None
        self._packet_mode = False
        self._passing_through = False
        self._ended = False
        self._source_done = False
        self._ahead: deque[Chunk] = deque()  # pulled from the source, not yet heard
        self._sent: deque[bytes] = deque(maxlen=PacketDecoder.PREROLL_PACKETS)  # passed-through packets
        self._decoded: deque[tuple[int, Frame]] = deque(maxlen=3)  # recent decoded source frames
        self._feed = np.zeros((0, CHANNELS), np.float32)  # decoded source not yet given to the chain
        self._feed_start = 0  # the source's sample at _feed[0]
        self._block_start = 0  # the source's sample at the start of the last block given to the chain
        self._heard_pos: int | None = None  # source sample the listener hears next, while aligned
        self.crossfade_samples = 0
        self._crossfade: Crossfade | None = None
        self._crossfade_completed = False
        # A splice joined the continuation off the source's packet grid (its pre-roll and the best-matching
        # sample dropped): the rest of the track stays on the DSP path, its packets no longer line up.
        self._spliced = False
        self._pull_override: Pull | None = None  # the incoming source, for the rest of the call that took it over
        self._deferred_error: Exception | None = None

    # ------------------------------------------------------------------ settings (between frames)
    def set_filters(self, settings: FilterSettings) -> None:
        self.chain.set_settings(settings)

    @property
    def filters(self) -> FilterSettings:
        return self.chain.settings

    @classmethod
    def from_config(cls, config: EngineConfig) -> AudioEngine:
        engine = cls(config.filters, volume=config.volume, normalize=config.normalize,
                     target_lufs=config.target_lufs, opus=config.opus)
        engine.crossfade_samples = SetCrossfade(config.crossfade_s).samples
        return engine

    def set_volume(self, volume: float) -> None:
        """Player volume as a linear factor, 0.0–2.0 (``/volume 0–200``; checked by ``SetVolume``)."""
        self._volume_value = volume
        self._volume.set_params(None if volume == 1.0 else volume)

    @property
    def volume(self) -> float:
        return self._volume_value

    def set_normalization(self, enabled: bool, target_lufs: float | None = None) -> None:
        self.normalizer.set_enabled(enabled)
        if target_lufs is not None:
            self.normalizer.set_target(target_lufs)

    def set_crossfade(self, seconds: float) -> None:
        """Overlap of consecutive tracks, 0–12 s (0: gapless)."""
        self.crossfade_samples = SetCrossfade(seconds).samples

    # ------------------------------------------------------------------ crossfade (between frames)
    @property
    def crossfading(self) -> bool:
        return self._crossfade is not None

    def begin_crossfade(self, pull: Pull, *, packet_mode: bool, length_samples: int,
                        until_sample: int | None = None, skip_samples: int = 0) -> None:
        """Start fading ``pull``'s source in (and the current one out) over ``length_samples``
        of source audio. Passthrough stops for the fade. A splice (``until_sample``: the current
        source silent from that sample on) waits until the fade must start; ``skip_samples`` of
        the incoming source's decoded audio are dropped first (``voice/crossfade.py``)."""
        self._crossfade = Crossfade(pull, packet_mode=packet_mode, length_samples=length_samples,
                                    until_sample=until_sample, skip_samples=skip_samples)

    def hurry_crossfade(self) -> None:
        if self._crossfade is not None:
            self._crossfade.hurry()

    def cancel_crossfade(self) -> None:
        """The incoming source is withdrawn (the caller closes it): fade back within a frame."""
        if self._crossfade is not None:
            self._crossfade.cancel()

    def take_crossfade_completed(self) -> bool:
        """True once after the incoming track became this engine's source (in the last call)."""
        completed, self._crossfade_completed = self._crossfade_completed, False
        return completed

    def start_track(self, *, packet_mode: bool) -> None:
        """A new source begins: buffered audio of the last one is dropped, filter tails too."""
        self.chain.reset()
        self._packet_mode = packet_mode
        self._decoder = PacketDecoder() if packet_mode else None
        self._ended = self._source_done = False
        self._ahead.clear()
        self._sent.clear()
        self._decoded.clear()
        self._feed = np.zeros((0, CHANNELS), np.float32)
        self._feed_start = 0
        self._heard_pos = None
        self._crossfade = None
        self._crossfade_completed = False
        self._spliced = False
        self._pull_override = None
        self._deferred_error = None
        self._passing_through = self.can_pass_through

    @property
    def passing_through(self) -> bool:
        return self._passing_through

    @property
    def idle_passthrough(self) -> bool:
        """Passing packets through with nothing to change, fade or glide: whoever holds the
        source could send its packets on without this engine (``voice/host.py``'s hand-back)."""
        return self._passing_through and self.can_pass_through and not self._ended

    def release_passthrough(self) -> tuple[tuple[Chunk, ...], tuple[bytes, ...]]:
        """While ``idle_passthrough``: the chunks read ahead and not yet sent (given up), and the
        last packets sent (for ``take_over_passthrough``)."""
        chunks = tuple(self._ahead)
        self._ahead.clear()
        return chunks, tuple(self._sent)

    def take_over_passthrough(self, sent: tuple[bytes, ...]) -> None:
        """The source was passed through elsewhere, ``sent`` being its last packets: carry on from
        the next chunk as if this engine had sent them (entering the DSP path sample-exactly)."""
        self._passing_through = True
        self._ended = self._source_done = False
        self._ahead.clear()
        self._sent.clear()
        self._sent.extend(sent)

    @property
    def can_pass_through(self) -> bool:
        """Nothing would change the audio, so the source's packets can go out as they are."""
        return self._packet_mode and self._crossfade is None and not self._spliced and self.transparent

    @property
    def transparent(self) -> bool:
        """True when the filters, volume and normalization leave the audio as it is (any source)."""
        # Cheapest first: asked every frame, and with normalization on (the default) it ends at once.
        return self.normalizer.is_identity and self._volume.is_identity and self.chain.filters_identity

    @property
    def latency_samples(self) -> int:
        """How late the DSP path's output is against its input, in 48 kHz samples: the limiter's
        look-ahead (the filters add none; passthrough adds none). Live playback keeps it (1.5 ms);
        offline rendering drops this many samples at the start and takes the tail from ``flush``."""
        return self.limiter.latency_samples

    def flush(self) -> Frame:
        """The last ``latency_samples`` of processed audio, which the limiter still holds once
        ``next_pcm`` returned None (offline use; the live path never needs them)."""
        return self.limiter.process(silence())[: self.latency_samples]

    # ------------------------------------------------------------------ output
    def next_packet(self, pull: Pull) -> bytes | None:
        """The next Opus packet; ``OPUS_SILENCE`` on underrun; None at the end of the stream. Its
        wall time goes to ``last_render_s`` (``musicbot_frame_render_seconds``, observed by the player)."""
        started = time.perf_counter()
        try:
            return self._next_packet(pull)
        finally:
            self.last_render_s = time.perf_counter() - started

    def _next_packet(self, pull: Pull) -> bytes | None:
        if self._ended:
            return None
        self._pull_override = None
        try:
            if self._passing_through:
                if self.can_pass_through:
                    return self._pass_one(pull)
                if not self._enter_dsp(pull):
                    return self._pass_one(pull)  # not enough buffered to switch yet: one more as is
            elif self.can_pass_through and not self._source_done:
                return self._leave_dsp(pull)
            frame = self._dsp_frame(pull)
        except _Underrun:
            self.stats.underruns += 1
            return OPUS_SILENCE
        return None if frame is None else self._encode(frame)

    def next_pcm(self, pull: Pull) -> Frame | None:
        """The next 20 ms of processed PCM, silence on underrun, None at the end (no passthrough)."""
        if self._ended:
            return None
        self._pull_override = None
        try:
            return self._dsp_frame(pull)
        except _Underrun:
            self.stats.underruns += 1
            return silence()

    # ------------------------------------------------------------------ DSP path
    def _dsp_frame(self, pull: Pull) -> Frame | None:
        while not self.chain.ready:
            if self._source_done and self._crossfade is None:
                if self._deferred_error is not None:
                    error, self._deferred_error = self._deferred_error, None
                    raise error
                self._ended = True
                return None
            block = self._next_block(pull) if self._crossfade is None else self._mixed_block(pull)
            started = time.perf_counter()
            if block is None:
                self.chain.finish()
            else:
                self.chain.push(block)
            self.stats.dsp_seconds += time.perf_counter() - started
        started = time.perf_counter()
        frame = self.chain.pop()
        assert frame is not None
        out = self._output_stage(frame)
        self.stats.dsp_seconds += time.perf_counter() - started
        self.stats.dsp_frames += 1
        if self.chain.stretching:
            self._heard_pos = None  # the output no longer follows the source sample for sample
        if self._heard_pos is not None:
            self._heard_pos += FRAME_SAMPLES
            while self._ahead and self._ahead[0].start_sample < self._heard_pos:
                self._ahead.popleft()
        return out

    def _next_block(self, pull: Pull) -> Frame | None:
        """The next 960 samples for the chain from the feed; None once the source has ended."""
        pull = self._pull_override or pull
        while len(self._feed) < FRAME_SAMPLES and not self._source_done:
            item = pull()
            if item is None:
                raise _Underrun
            if item is END_OF_STREAM:
                self._source_done = True
                break
            assert isinstance(item, Chunk)
            pcm = self._decode(item)
            if not len(self._feed):
                self._feed_start = item.start_sample  # a seek or a new source numbers from where it starts
            self._feed = pcm if not len(self._feed) else np.concatenate([self._feed, pcm])
        if not len(self._feed):
            return None
        self._block_start = self._feed_start
        block = self._feed[:FRAME_SAMPLES]
        if len(block) < FRAME_SAMPLES:  # the track's last partial frame
            block = np.concatenate([block, np.zeros((FRAME_SAMPLES - len(block), CHANNELS), np.float32)])
        self._feed = self._feed[FRAME_SAMPLES:]
        self._feed_start += FRAME_SAMPLES
        return np.ascontiguousarray(block)

    def _mixed_block(self, pull: Pull) -> Frame:
        """One input block during a crossfade; the hand-over when the fade is complete."""
        crossfade = self._crossfade
        assert crossfade is not None
        outgoing: Frame | None = None
        position: int | None = None
        if not self._source_done:
            try:
                outgoing = self._next_block(pull)
                position = self._block_start
            except _Underrun:
                self.stats.underruns += 1  # the outgoing track stalls this block; the fade goes on
            except Exception:
                # The outgoing track failed while fading out: it just ends here, the fade goes on.
                log.warning("track failed during a crossfade", exc_info=True)
                self._source_done = True
        block = crossfade.mix(outgoing, position, outgoing_ended=self._source_done)
        self.stats.underruns += crossfade.underruns
        crossfade.underruns = 0
        if crossfade.finished:
            self._take_over(crossfade)
        elif crossfade.cancelled:
            self._crossfade = None
        return block

    def _take_over(self, crossfade: Crossfade) -> None:
        """The incoming track becomes the source, mid-stream: the chain keeps its state."""
        self._crossfade = None
        self._crossfade_completed = True
        self._spliced = crossfade.dropped_samples % FRAME_SAMPLES != 0
        self._pull_override = crossfade.pull
        self._packet_mode = crossfade.packet_mode
        self._decoder = crossfade.decoder
        self._feed = crossfade.feed
        self._feed_start = crossfade.feed_start
        self._source_done = crossfade.source_done
        self._deferred_error = crossfade.error
        self._heard_pos = None
        self._ahead.clear()
        self._sent.clear()
        self._decoded.clear()

    def _decode(self, chunk: Chunk) -> Frame:
        if chunk.pcm is not None:
            return chunk.pcm
        assert chunk.packet is not None
        if self._decoder is None:  # a re-opened stream may switch from PCM to Opus packets
            self._decoder = PacketDecoder()
        pcm = self._decoder.decode(chunk.packet)
        self._ahead.append(chunk)
        if self._heard_pos is None and len(self._ahead) > PacketDecoder.PREROLL_PACKETS:
            self._ahead.popleft()
        self._decoded.append((chunk.start_sample, pcm))
        return pcm

    def _output_stage(self, frame: Frame) -> Frame:
        frame = self.normalizer.process(frame)
        if not self._volume.is_identity:
            frame = self._volume.process(frame)
        return self.limiter.process(frame)

    # ------------------------------------------------------------------ passthrough and switching
    def _pass_one(self, pull: Pull) -> bytes | None:
        chunk = self._ahead.popleft() if self._ahead else pull()
        if chunk is None:
            raise _Underrun
        if chunk is END_OF_STREAM:
            self._ended = True
            return None
        assert isinstance(chunk, Chunk)
        if chunk.packet is None:
            # A re-opened stream (fresh URL after expiry) may serve another format: from here on
            # this track takes the DSP path.
            assert chunk.pcm is not None
            self._packet_mode = self._passing_through = False
            if not len(self._feed):
                self._feed_start = chunk.start_sample
            self._feed = np.concatenate([self._feed, chunk.pcm])
            frame = self._dsp_frame(pull)
            return None if frame is None else self._encode(frame)
        self._sent.append(chunk.packet)
        self.stats.passthrough_frames += 1
        if is_passthrough_packet(chunk.packet):
            return chunk.packet
        # An odd-sized packet (not one 20 ms frame) cannot go out as is; Discord's clock
        # assumes 960 samples per packet.
        return self._encode(PacketDecoder().decode(chunk.packet))

    def _peek(self, pull: Pull, count: int) -> list[Chunk] | None:
        while len(self._ahead) < count:
            item = pull()
            if item is None or item is END_OF_STREAM:
                if item is END_OF_STREAM:
                    self._source_done = True
                return None
            assert isinstance(item, Chunk)
            self._ahead.append(item)
        return list(self._ahead)[:count]

    def _enter_dsp(self, pull: Pull) -> bool:
        """Switch from passthrough at the next packet boundary b, sample-exactly (see module doc)."""
        chunks = self._peek(pull, 2)
        if chunks is None or any(c.packet is None for c in chunks):
            return False
        decoder = PacketDecoder()
        previous = silence()
        for packet in self._sent:  # converge the decoder's state, keep the frame before b
            previous = decoder.decode(packet)
        here, after = (decoder.decode(c.packet or b"") for c in chunks)
        timeline = np.concatenate([previous, here, after])  # S[b-960 : b+1920]
        b = chunks[0].start_sample
        delay, lookahead = ENCODER_DELAY_SAMPLES, self.limiter.latency_samples
        self._encoder_or_new().encode(timeline[delay:delay + FRAME_SAMPLES])
        self.limiter.reset()
        self.limiter.process(np.ascontiguousarray(timeline[delay + lookahead:delay + lookahead + FRAME_SAMPLES]))
        self._decoder = decoder
        self._decoded.clear()
        self._decoded.extend([(b - FRAME_SAMPLES, previous), (b, here), (b + FRAME_SAMPLES, after)])
        start = FRAME_SAMPLES + delay + lookahead
        self._feed = np.ascontiguousarray(timeline[start:])
        self._feed_start = b + delay + lookahead
        self._heard_pos = b
        self._passing_through = False
        return True

    def _leave_dsp(self, pull: Pull) -> bytes | None:
        """Back to passthrough. Aligned: the next source packet simply follows. Otherwise the
        last DSP frame fades into the plain source so that the next packet continues it."""
        if self._heard_pos is not None and self._ahead and self._ahead[0].start_sample == self._heard_pos:
            self._reset_dsp_state()
            return self._pass_one(pull)
        try:
            frame = self._dsp_frame(pull)
        except _Underrun:
            self.stats.underruns += 1
            return OPUS_SILENCE
        if frame is None:
            return None
        if len(self._decoded) >= 2 and self._ahead:
            (_, before), (b, here) = list(self._decoded)[-2:]
            d = ENCODER_DELAY_SAMPLES
            plain = np.concatenate([before[d:], here[:d]])  # decodes to S[b-960 : b]
            while self._ahead and self._ahead[0].start_sample != b:
                self._ahead.popleft()
            if self._ahead:
                self._reset_dsp_state()
                fade = ramp_up()
                return self._encode(np.asarray(frame * (1 - fade) + plain * fade, dtype=np.float32))
        return self._encode(frame)  # nothing to fade into yet: stay on the DSP path this frame

    def _reset_dsp_state(self) -> None:
        self.chain.reset()
        self.limiter.reset()
        self._feed = np.zeros((0, CHANNELS), np.float32)
        self._heard_pos = None
        self._passing_through = True

    def _encoder_or_new(self) -> OpusEncoder:
        if self._encoder is None:
            self._encoder = OpusEncoder(self._opus)
        return self._encoder

    def _encode(self, frame: Frame) -> bytes:
        started = time.perf_counter()
        packet = self._encoder_or_new().encode(frame)
        self.stats.dsp_seconds += time.perf_counter() - started  # the encoder is a third of a frame's cost
        return packet
