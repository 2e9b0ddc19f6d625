"""Generated audio written to real media files with PyAV's encoders.

Used by ``musicbot bench`` (it needs sources without the network) and by the tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

CODECS = {
    ".webm": ("webm", "libopus"),
    ".ogg": ("ogg", "libopus"),
    ".opus": ("opus", "libopus"),
    ".mp3": ("mp3", "libmp3lame"),
    ".m4a": ("ipod", "aac"),
    ".flac": ("flac", "flac"),
    ".wav": ("wav", "pcm_s16le"),
}


def music_like(seconds: float, rate: int = 48000, seed: int = 7) -> npt.NDArray[np.float32]:
    """A loud, busy stereo signal (chords, a bass line, noise) that keeps encoders and filters working."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * rate)) / rate
    mix = np.zeros((len(t), 2))
    for i, freq in enumerate((55.0, 110.0, 220.0, 277.2, 329.6, 440.0, 1760.0)):
        pan = 0.3 + 0.4 * (i % 2)
        wave_ = np.sin(2 * np.pi * freq * t + i) * (0.5 + 0.5 * np.sin(2 * np.pi * (0.5 + i / 7) * t))
        mix[:, 0] += pan * wave_
        mix[:, 1] += (1 - pan) * wave_
    mix += 0.1 * rng.standard_normal(mix.shape)
    scaled: npt.NDArray[np.float32] = (0.9 * mix / np.max(np.abs(mix))).astype(np.float32)
    return scaled


def tone(freq_hz: float, seconds: float, rate: int = 48000, amplitude: float = 0.4) -> npt.NDArray[np.float32]:
    """A stereo sine, shape (n, 2)."""
    t = np.arange(round(seconds * rate)) / rate
    mono = (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)
    return np.stack([mono, mono], axis=1)


def sweep(seconds: float, start_hz: float = 300.0, hz_per_s: float = 20.0, rate: int = 48000,
          amplitude: float = 0.4) -> npt.NDArray[np.float32]:
    """A stereo sine whose frequency rises linearly: at ``t`` seconds it is ``start_hz + hz_per_s·t``,
    so the pitch heard tells where in the file playback is (``sweep_position``)."""
    t = np.arange(round(seconds * rate)) / rate
    phase = 2 * np.pi * (start_hz * t + hz_per_s * t * t / 2)
    mono = (amplitude * np.sin(phase)).astype(np.float32)
    return np.stack([mono, mono], axis=1)


def sweep_position(heard_hz: float, start_hz: float = 300.0, hz_per_s: float = 20.0) -> float:
    """Seconds into a ``sweep`` where its frequency is ``heard_hz``."""
    return (heard_hz - start_hz) / hz_per_s


def write_audio(path: Path, samples: npt.NDArray[np.float32], rate: int = 48000) -> Path:
    """Encode (n, 2) float samples into ``path``; the container follows the suffix."""
    fmt, codec = CODECS[path.suffix]
    out = av.open(str(path), "w", format=fmt)
    stream: Any = out.add_stream(codec, rate=rate)
    stream.layout = "stereo"
    if codec == "libopus":
        stream.bit_rate = 128000
        stream.options = {"frame_duration": "20"}
    ctx_format = "s16" if codec in ("pcm_s16le", "flac") else ("s16p" if codec == "libmp3lame" else "fltp")
    if codec == "libopus":
        ctx_format = "flt"
    block = 960 if codec == "libopus" else 1152 if codec == "libmp3lame" else 1024
    for start in range(0, len(samples), block):
        chunk = samples[start:start + block]
        if codec == "libopus" and len(chunk) < block:
            chunk = np.concatenate([chunk, np.zeros((block - len(chunk), 2), np.float32)])
        frame = _frame(chunk, ctx_format)
        frame.sample_rate = rate
        frame.pts = start
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)
    out.close()
    return path


def _frame(chunk: npt.NDArray[np.float32], fmt: str) -> av.AudioFrame:
    if fmt == "flt":
        return av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk.reshape(1, -1)), format="flt", layout="stereo")
    if fmt == "fltp":
        return av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk.T), format="fltp", layout="stereo")
    ints = (np.clip(chunk, -1, 1) * 32767).astype(np.int16)
    if fmt == "s16p":
        return av.AudioFrame.from_ndarray(np.ascontiguousarray(ints.T), format="s16p", layout="stereo")
    return av.AudioFrame.from_ndarray(np.ascontiguousarray(ints.reshape(1, -1)), format="s16", layout="stereo")


def read_wav(path: Path) -> tuple[int, npt.NDArray[np.float32]]:
    import wave

    with wave.open(str(path), "rb") as wav:
        rate, channels = wav.getframerate(), wav.getnchannels()
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    return rate, (data.reshape(-1, channels) / 32768.0).astype(np.float32)


def opus_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return [bytes(p) for p in container.demux(stream) if p.size]
