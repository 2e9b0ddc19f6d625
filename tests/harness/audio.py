"""Tiny ``discord.AudioSource`` implementations for tests (20 ms s16le 48 kHz stereo frames)."""

from __future__ import annotations

import threading

import discord
import numpy as np
import numpy.typing as npt

FRAME_BYTES = 3840  # 960 samples x 2 channels x 2 bytes


def sine_pcm(
    freq: float, seconds: float, *, amplitude: float = 0.4, sample_rate: int = 48000
) -> npt.NDArray[np.float32]:
    """A stereo float32 sine, shape ``(n, 2)``."""
    n = int(sample_rate * seconds)
    mono = (amplitude * np.sin(2 * np.pi * freq * np.arange(n) / sample_rate)).astype(np.float32)
    return np.repeat(mono[:, None], 2, axis=1)


class PcmSource(discord.AudioSource):
    """Plays a float ``(n, 2)`` array in [-1, 1] (or int16 ``(n, 2)``); the last frame is zero-padded.

    ``reads`` counts ``read()`` calls; ``cleaned_up`` is set by ``cleanup()`` (idempotent)."""

    def __init__(self, pcm: npt.NDArray[np.floating] | npt.NDArray[np.int16]) -> None:
        if pcm.dtype != np.int16:
            pcm = (np.clip(pcm, -1.0, 1.0) * 32767.0).astype("<i2")
        buf = np.ascontiguousarray(pcm.astype("<i2", copy=False).reshape(-1, 2)).tobytes()
        if len(buf) % FRAME_BYTES:
            buf += bytes(FRAME_BYTES - len(buf) % FRAME_BYTES)
        self._buf = buf
        self._pos = 0
        self.reads = 0
        self.cleaned_up = threading.Event()

    def read(self) -> bytes:
        self.reads += 1
        chunk = self._buf[self._pos : self._pos + FRAME_BYTES]
        self._pos += FRAME_BYTES
        return chunk

    def is_opus(self) -> bool:
        return False

    def cleanup(self) -> None:
        self.cleaned_up.set()

    @property
    def frames(self) -> int:
        return len(self._buf) // FRAME_BYTES


class SineSource(PcmSource):
    """``seconds`` of a ``freq`` Hz sine (default 2 s of 440 Hz at 0.4 full scale)."""

    def __init__(self, freq: float = 440.0, seconds: float = 2.0, *, amplitude: float = 0.4) -> None:
        super().__init__(sine_pcm(freq, seconds, amplitude=amplitude))
        self.freq = freq
