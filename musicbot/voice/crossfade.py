"""The next track fading in under the end of the current one, at the filter chain's input.

Mixing before the chain means one chain, one normalizer and one encoder for both tracks: the
guild's filters apply to the mix, and when the fade is over the chain just carries on with the
new track (no reset, so nothing clicks). The gains are equal-power, ``cos θ`` for the outgoing
track and ``sin θ`` for the incoming one, θ going from 0 to π/2: for two unrelated songs the
summed power, and so the loudness, stays level across the fade.

θ glides sample by sample within each block. ``hurry`` (a skip mid-fade) reaches π/2 within
one block; ``cancel`` (the next track was withdrawn) returns to 0 within one block. Audio
thread only.

A splice (a SponsorBlock segment skipped: the same track continues after it) is a fade whose
outgoing side must be silent from a given source sample on (``until_sample``): it waits, armed,
until the chain's input comes within ``length_samples`` of that sample and ends at a block
boundary no later than it; the player arms it a little early because its own idea of the
position is a frame or two behind the chain's. ``skip_samples`` drops the first decoded samples
of the incoming source: an Opus decoder opened mid-stream needs a few packets to converge, so the
continuation is opened that much early and the pre-roll is thrown away.

A splice also picks where exactly the continuation joins: within ±``ALIGN_SAMPLES`` of the nominal
sample, where its waveform best matches the last block of the outgoing side (as a time-stretch
picks its overlaps), so a held note carries on in phase instead of cancelling itself for a moment.
A one-block splice then fades by the two sides' measured correlation ρ (equal gain when they are
alike, equal power when unrelated: ``joined_gains``), so the level holds either way.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from musicbot.audio import END_OF_STREAM, Chunk, EndOfStream
from musicbot.dsp.frame import CHANNELS, FRAME_SAMPLES, Frame, ramp_up
from musicbot.voice.packet_decoder import PacketDecoder

log = logging.getLogger(__name__)

HALF_PI = math.pi / 2
MAX_CROSSFADE_S = 12.0
ALIGN_SAMPLES = 240  # ±5 ms: half a period of anything above 100 Hz, inaudible as a shift in time

IncomingPull = Callable[[], Chunk | EndOfStream | None]


class Crossfade:
    """One fade in progress. ``mix`` is called once per 960-sample input block of the chain."""

    def __init__(self, pull: IncomingPull, *, packet_mode: bool, length_samples: int,
                 until_sample: int | None = None, skip_samples: int = 0) -> None:
        self.pull: IncomingPull | None = pull
        self.packet_mode = packet_mode
        self.decoder: PacketDecoder | None = PacketDecoder() if packet_mode else None
        self.feed = np.zeros((0, CHANNELS), np.float32)  # incoming audio decoded, not yet mixed
        self.feed_start = 0  # the incoming source's sample at feed[0]
        self.source_done = False
        self.error: Exception | None = None  # the incoming source failed; raised once it is the current one
        self.underruns = 0
        self.until_sample = until_sample
        self.started = until_sample is None
        self._length = max(FRAME_SAMPLES, length_samples)
        self._skip = max(0, skip_samples)
        self.dropped_samples = self._skip  # of the incoming source before what is heard (pre-roll and join)
        # Room to move the join earlier: taken from the pre-roll, so a splice without one is not aligned.
        self._align = ALIGN_SAMPLES if until_sample is not None and self._skip >= 2 * ALIGN_SAMPLES else 0
        self._skip -= self._align
        self._rho = 0.0  # the sides' correlation at a one-block splice (0: equal power)
        self._underrun = False
        self._theta = 0.0
        self._target = HALF_PI
        self._step = HALF_PI * FRAME_SAMPLES / self._length

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
        self.started = True

    def mix(self, outgoing: Frame | None, position: int | None = None, *, outgoing_ended: bool = True) -> Frame:
        """outgoing·cos θ + incoming·sin θ for one block; ``outgoing`` None once that track ended
        (``outgoing_ended``) or when it had nothing buffered for this block. ``position``: the
        outgoing source's sample at the block's start (an armed splice waits for it)."""
        if not self.started and not self._arrived(outgoing, position, outgoing_ended):
            # Armed: the outgoing track alone (an underrun of it stays the silence it was). The
            # continuation's pre-roll is decoded meanwhile, as it arrives: the join needs it at once.
            self._fill(FRAME_SAMPLES + 2 * self._align, early=True)
            return outgoing if outgoing is not None else np.zeros((FRAME_SAMPLES, CHANNELS), np.float32)
        if self._align:
            self._join(outgoing)
        incoming = self._incoming_block()
        start = self._theta
        end = min(start + self._step, HALF_PI) if self._target > start else max(start - self._step, 0.0)
        theta = start + (end - start) * ramp_up()
        self._theta = end
        gain_in, gain_out = joined_gains(np.asarray(theta, dtype=np.float64), self._rho)
        mixed = incoming * gain_in
        if outgoing is not None:
            mixed += outgoing * gain_out
        return np.ascontiguousarray(mixed, dtype=np.float32)

    def _join(self, outgoing: Frame | None) -> None:
        """Where the continuation starts: the best match for ``outgoing`` within ±``ALIGN_SAMPLES``."""
        align, self._align = self._align, 0
        window = FRAME_SAMPLES + 2 * align
        if outgoing is None or not self._fill(window):
            lag, rho = align, 0.0  # nothing to compare: the nominal sample
        else:
            lag, rho = best_join(outgoing, self.feed[:window])
        self.feed = self.feed[lag:]
        self.feed_start += lag
        self.dropped_samples += lag - align
        if self._step >= HALF_PI:
            self._rho = rho

    def _incoming_block(self) -> Frame:
        if not self._fill(FRAME_SAMPLES) and self._underrun:
            # Underrun of the incoming track: this block mixes silence for it, nothing is lost.
            self._underrun = False
            return np.zeros((FRAME_SAMPLES, CHANNELS), np.float32)
        block = self.feed[:FRAME_SAMPLES]
        self.feed = self.feed[FRAME_SAMPLES:]
        self.feed_start += len(block)
        if len(block) < FRAME_SAMPLES:
            block = np.concatenate([block, np.zeros((FRAME_SAMPLES - len(block), CHANNELS), np.float32)])
        return block

    def _fill(self, samples: int, *, early: bool = False) -> bool:
        """Decode the incoming source until ``samples`` are in the feed; False when it ran dry
        (``_underrun`` set, unless ``early``: before the fade, nothing is missing yet) or ended first."""
        while len(self.feed) < samples and not self.source_done and self.pull is not None:
            try:
                item = self.pull()
            except Exception as error:  # the incoming track failed: it says so once it is current
                self.error = error
                self.source_done = True
                break
            if item is None:
                if not early:
                    self.underruns += 1
                    self._underrun = True
                return False
            if item is END_OF_STREAM:
                self.source_done = True
                break
            assert isinstance(item, Chunk)
            pcm, start = self._decode(item), item.start_sample
            if self._skip:  # the decoder's pre-roll: decoded (so it converges) and dropped
                dropped = min(self._skip, len(pcm))
                pcm, start, self._skip = pcm[dropped:], start + dropped, self._skip - dropped
            if not len(self.feed):
                self.feed_start = start
            self.feed = np.concatenate([self.feed, pcm])
        return len(self.feed) >= samples

    def _arrived(self, outgoing: Frame | None, position: int | None, outgoing_ended: bool) -> bool:
        """An armed splice starts now: the outgoing track reached the fade's start (or ended). The
        fade is then as many whole blocks as fit before ``until_sample`` (at least one: a splice
        asked for late ends within a block)."""
        assert self.until_sample is not None
        if outgoing is None and not outgoing_ended:
            return False
        if outgoing is not None and position is not None:
            if position + FRAME_SAMPLES <= self.until_sample - self._length:
                return False
            room_blocks = (self.until_sample - position) // FRAME_SAMPLES
            blocks = max(1, min(math.ceil(self._length / FRAME_SAMPLES), room_blocks))
            self._step = HALF_PI / blocks
        self.started = True
        return True

    def _decode(self, chunk: Chunk) -> Frame:
        if chunk.pcm is not None:
            return chunk.pcm
        assert chunk.packet is not None
        if self.decoder is None:
            self.decoder = PacketDecoder()
        return self.decoder.decode(chunk.packet)


def best_join(outgoing: Frame, window: Frame) -> tuple[int, float]:
    """The offset into ``window`` (``len(outgoing)`` + 2·lag samples) where it best continues
    ``outgoing`` in phase, and the two's correlation there (0–1)."""
    x = outgoing.mean(axis=1, dtype=np.float64)
    w = window.mean(axis=1, dtype=np.float64)
    dots = np.correlate(w, x, mode="valid")
    energies = np.convolve(w * w, np.ones(len(x)), mode="valid")
    scores = dots / np.sqrt(energies + 1e-12)
    lag = int(np.argmax(scores))
    norm = math.sqrt(float(x @ x) * float(energies[lag]))
    return lag, (min(1.0, max(0.0, float(dots[lag]) / norm)) if norm > 1e-12 else 0.0)


def joined_gains(theta: npt.NDArray[np.float64], rho: float) -> tuple[npt.NDArray[np.float64],
                                                                       npt.NDArray[np.float64]]:
    """Gains (incoming, outgoing) along θ ∈ [0, π/2] that keep the level of two sides correlated by
    ``rho``: with g_in = sin θ, g_out solves g_in² + g_out² + 2ρ·g_in·g_out = 1 (cos θ when ρ = 0,
    1 − sin θ when ρ = 1)."""
    gain_in = np.sin(theta)
    if rho <= 0.0:
        return gain_in, np.cos(theta)
    return gain_in, -rho * gain_in + np.sqrt(np.maximum(0.0, 1.0 - gain_in * gain_in * (1.0 - rho * rho)))
