"""WSOLA time stretching (waveform-similarity overlap-add) with linked stereo channels.

Why it is written by hand: scipy has no streaming time-stretch (nothing that changes tempo
without pitch, frame by frame, with state). This is the classic algorithm SoundTouch uses.

Each output hop of ``HOP`` samples (20 ms, one frame) is the crossfade, under a periodic Hann
window of ``WINDOW`` samples, of the previous segment's second half and the first half of a new
segment. The new segment is taken near its nominal input position (which advances by
HOP·tempo per hop, accumulated as a float, so the long-term tempo is exact) and shifted by up to
±``SEEK`` samples to where it best matches the natural continuation of the previous segment
(normalized cross-correlation, coarse on a 4× decimated mono sum, then refined at full
rate on both channels). Both channels get the same shift, so the stereo image cannot
drift, unlike Lavalink/lavadsp which runs one SoundTouch per channel.

At tempo 1 it steps aside: output is the input, with no delay. Leaving or entering that state
is a crossfade like any other hop, so switching on or off neither clicks nor loses audio.

Everything here runs on the audio thread, one call per frame.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from musicbot.dsp.frame import CHANNELS, Frame

WINDOW = 1920
"""Segment length in samples (40 ms)."""
HOP = WINDOW // 2
"""Synthesis hop in samples (20 ms): every hop emits exactly one output frame."""
SEEK = 720
"""Largest shift, in samples (±15 ms), of a segment from its nominal position."""
DECIMATE = 4
_MIN_CAPACITY = 16_384
_TINY = 1e-12

_HANN = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(WINDOW) / WINDOW)).astype(np.float32)
_FALL = np.ascontiguousarray(_HANN[HOP:, None])  # rising half = 1 − falling half (periodic Hann)
_BLOCK_SUM = np.ones(DECIMATE * CHANNELS, dtype=np.float32)


def _empty() -> Frame:
    return np.zeros((0, CHANNELS), dtype=np.float32)


class Wsola:
    """Tempo change without pitch change for stereo float32 blocks (audio thread only).

    ``tempo`` is how many input samples are consumed per output sample (2.0 = twice as fast).
    ``process`` returns whole hops, (k·HOP, 2) with k ≥ 0, or its input unchanged at tempo 1.
    """

    def __init__(self, tempo: float = 1.0) -> None:
        _check_tempo(tempo)
        self._tempo = tempo
        self._buf = np.zeros((_MIN_CAPACITY, CHANNELS), dtype=np.float32)
        self._len = 0
        self._bypass = True
        self._prev_start = 0
        self._nominal = 0.0
        if tempo != 1.0:
            self._engage()

    @property
    def tempo(self) -> float:
        """Input samples consumed per output sample."""
        return self._tempo

    @property
    def is_bypassed(self) -> bool:
        """True at tempo 1 with nothing held back: input passes straight through."""
        return self._bypass

    @property
    def pending_input(self) -> float:
        """Input samples taken in but not yet represented in the output (approximate)."""
        if self._bypass:
            return 0.0
        return max(0.0, self._len - self._output_anchor())

    def set_tempo(self, tempo: float) -> None:
        """Use ``tempo`` from the next hop on (each hop crossfades, so the change is smooth)."""
        _check_tempo(tempo)
        if tempo == self._tempo:
            return
        old, self._tempo = self._tempo, tempo
        if self._bypass:
            self._engage()
        else:
            # Keep the input position that the output boundary maps to where it was.
            self._nominal += HOP * (tempo - old) / 2

    def reset(self) -> None:
        """Forget all audio (as after a seek); keep the tempo."""
        self._len = 0
        self._bypass = True
        if self._tempo != 1.0:
            self._engage()

    def process(self, block: Frame) -> Frame:
        """Push (n, 2) float32 input; return the whole hops that are ready, (k·HOP, 2) float32."""
        if self._bypass:
            return block
        self._append(block)
        if self._tempo == 1.0:
            return self._disengage()
        hops = []
        while self._ready():
            hops.append(self._hop())
        if not hops:
            return _empty()
        return hops[0] if len(hops) == 1 else np.concatenate(hops)

    def flush(self) -> Frame:
        """Return the output still owed for the input pushed so far (zero-padded), then reset."""
        if self._bypass:
            return _empty()
        owed = round((self._len - self._output_anchor()) / self._tempo)
        hops = []
        made = 0
        while made < owed:
            short = self._needed() - self._len
            if short > 0:
                self._append(np.zeros((short, CHANNELS), dtype=np.float32))
            hops.append(self._hop())
            made += HOP
        self.reset()
        return np.concatenate(hops)[:owed] if hops else _empty()

    # -- internals -------------------------------------------------------------------------

    def _engage(self) -> None:
        """Start stretching at buffer position ``_len`` (everything before it was passed through).

        A virtual previous segment ends exactly there, so the first hop crossfades the plain
        input into the stretched output with nothing lost or repeated.
        """
        self._bypass = False
        at = self._len
        self._prev_start = at - HOP
        self._nominal = at + HOP * (self._tempo - 1.0) / 2

    def _disengage(self) -> Frame:
        """Return to plain input: one last crossfaded hop onto the input the output is due at.

        Plain input then continues from the end of that hop's new segment, so the output is
        off its nominal position by at most the search shift (±SEEK), whatever the tempo was.
        """
        template_end = self._prev_start + WINDOW
        centre = round(self._output_anchor())
        low = max(centre - SEEK, 0)
        high = min(centre + SEEK, self._len - HOP)
        if high < low or template_end > self._len:
            # Not enough audio to search: the previous segment's own continuation is seamless.
            out = self._buf[self._prev_start + HOP:self._len].copy()
        else:
            template = self._buf[self._prev_start + HOP:template_end]
            start = self._best_start(template, low, high)
            out = np.concatenate((self._crossfade(template, start), self._buf[start + HOP:self._len]))
        self._len = 0
        self._bypass = True
        return out

    def _output_anchor(self) -> float:
        """Input position that the next output sample corresponds to (centre of the crossfade)."""
        return self._nominal + HOP * (1.0 - self._tempo) / 2

    def _needed(self) -> int:
        return max(max(round(self._nominal) + SEEK, 0) + WINDOW, self._prev_start + WINDOW)

    def _ready(self) -> bool:
        return self._needed() <= self._len

    def _append(self, block: Frame) -> None:
        n = len(block)
        if self._len + n > len(self._buf):
            keep = max(0, min(self._prev_start + HOP, math.floor(self._nominal) - SEEK))
            kept = self._len - keep
            if kept + n > len(self._buf):
                grown = np.zeros((max(2 * len(self._buf), kept + n), CHANNELS), dtype=np.float32)
                grown[:kept] = self._buf[keep:self._len]
                self._buf = grown
            else:
                self._buf[:kept] = self._buf[keep:self._len]
            self._len = kept
            self._prev_start -= keep
            self._nominal -= keep
        self._buf[self._len:self._len + n] = block
        self._len += n

    def _hop(self) -> Frame:
        template = self._buf[self._prev_start + HOP:self._prev_start + WINDOW]
        centre = round(self._nominal)
        low = max(centre - SEEK, 0)
        high = max(centre + SEEK, low)
        start = self._best_start(template, low, high)
        self._prev_start = start
        self._nominal += HOP * self._tempo
        return self._crossfade(template, start)

    def _crossfade(self, template: Frame, start: int) -> Frame:
        """``template`` fading out over one hop while the segment at ``start`` fades in."""
        segment = self._buf[start:start + HOP]
        out = template - segment  # rise + fall == 1, so this is template·fall + segment·rise
        out *= _FALL
        out += segment
        return out

    def _best_start(self, template: Frame, low: int, high: int) -> int:
        """Segment start in [low, high] whose first half best matches ``template`` (both channels)."""
        region = self._buf[low:high + HOP]
        coarse = low + DECIMATE * _best_lag(_decimated(region), _decimated(template))
        first = max(low, coarse - DECIMATE + 1)
        last = min(high, coarse + DECIMATE - 1)
        # Interleaved stereo: a shift of one frame is a shift of two values, so one 1-D
        # correlation of the flattened arrays scores both channels at once. Windows a few
        # samples apart carry almost the same energy, so the raw dot product ranks them.
        near = region[first - low:last - low + HOP].reshape(-1)
        dots = np.correlate(near, template.reshape(-1), "valid")[::CHANNELS]
        return first + int(np.argmax(dots))


def _decimated(x: Frame) -> npt.NDArray[np.float32]:
    """Mono sum of blocks of ``DECIMATE`` frames, (len(x) // DECIMATE,) float32: a 12 kHz copy.

    Summing blocks is a crude low-pass, good enough to find the right neighbourhood; the
    full-rate stereo refinement around the winner fixes what it blurs.
    """
    size = len(x) // DECIMATE
    out: npt.NDArray[np.float32] = x[:size * DECIMATE].reshape(size, DECIMATE * CHANNELS) @ _BLOCK_SUM
    return out


def _best_lag(region: npt.NDArray[np.float32], template: npt.NDArray[np.float32]) -> int:
    """Lag where ``template`` best matches ``region`` (1-D arrays).

    The score is the normalized cross-correlation. ``np.correlate`` is a direct dot-product
    loop; at these sizes (≤ 90 k multiply-adds) it beats three FFT calls and their overhead.
    """
    width = len(template)
    if len(region) <= width:
        return 0
    dots = np.correlate(region, template, "valid")
    # Sliding energy from a running sum; float64 so a loud start cannot swamp a quiet end.
    power = np.empty(len(region) + 1)
    power[0] = 0.0
    np.square(region, out=power[1:])
    np.cumsum(power, out=power)
    energy = power[width:] - power[:-width]
    np.maximum(energy, _TINY, out=energy)
    np.sqrt(energy, out=energy)
    return int(np.argmax(dots / energy))


def _check_tempo(tempo: float) -> None:
    if not (math.isfinite(tempo) and tempo > 0.0):
        raise ValueError(f"tempo must be a positive finite number, got {tempo!r}")

