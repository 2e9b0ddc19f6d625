"""Recovering where each piece of decoded audio came from, to prove nothing was lost or repeated."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy import signal

from musicbot.audio import END_OF_STREAM, Chunk
from tests.voice.pyav_opus import OpusPacketDecoder

BLOCK = 4800  # 100 ms
SEARCH = 60000  # look up to 1.25 s either side of where the previous block matched


@dataclass(frozen=True)
class Timeline:
    shifts: list[int]
    """For each 100 ms block of the received audio: reference index − received index, in samples."""
    scores: list[float]
    """Normalized cross-correlation of each block at its best match (1.0 = identical)."""

    @property
    def lost_samples(self) -> int:
        return self.shifts[-1]

    @property
    def lost_ms(self) -> float:
        return self.lost_samples / 48.0

    @property
    def repeated(self) -> bool:
        """True when any block matched earlier audio than one before it (a duplicate)."""
        return any(b < a - 48 for a, b in zip(self.shifts, self.shifts[1:], strict=False)) or min(self.shifts) < -48


def timeline(reference: np.ndarray, received: np.ndarray) -> Timeline:
    shifts: list[int] = []
    scores: list[float] = []
    shift = 0
    for start in range(0, len(received) - BLOCK, BLOCK):
        seg = received[start:start + BLOCK]
        if np.std(seg) < 1e-3:
            continue
        lo = max(0, start + shift - SEARCH)
        hi = min(len(reference), start + shift + SEARCH + BLOCK)
        window = reference[lo:hi]
        if len(window) < BLOCK:
            break
        corr = signal.correlate(window, seg, mode="valid", method="fft")
        cumulative = np.concatenate([[0.0], np.cumsum(window**2)])
        energy = np.sqrt(cumulative[BLOCK:] - cumulative[:-BLOCK])
        ncc = corr / (energy * np.linalg.norm(seg) + 1e-12)
        best = int(np.argmax(ncc))
        shift = lo + best - start
        shifts.append(shift)
        scores.append(float(ncc[best]))
    return Timeline(shifts, scores)


def collect(
    stream: object, *, limit_chunks: int | None = None, timeout: float = 20.0, arrivals: list[float] | None = None
) -> tuple[list[Chunk], np.ndarray]:
    """Read a Decoder or ResilientStream to the end; returns chunks and their PCM (Opus decoded).

    ``arrivals`` collects the monotonic time each chunk arrived (to measure recovery stalls).
    """
    chunks: list[Chunk] = []
    pcm: list[np.ndarray] = []
    opus = OpusPacketDecoder()
    while limit_chunks is None or len(chunks) < limit_chunks:
        item = stream.read(timeout=timeout)  # type: ignore[attr-defined]
        if item is END_OF_STREAM:
            break
        assert isinstance(item, Chunk)
        if arrivals is not None:
            arrivals.append(time.monotonic())
        chunks.append(item)
        pcm.append(item.pcm if item.pcm is not None else opus.decode(item.packet or b""))
    return chunks, np.concatenate(pcm) if pcm else np.zeros((0, 2), np.float32)
