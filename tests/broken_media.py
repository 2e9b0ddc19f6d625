"""Broken and unusual media files, generated for the tests: float WAVs with NaN/Inf samples,
truncated or corrupted files, WAV headers that lie. Every file starts from a good one that
``tests.media.write_audio`` wrote, so what is broken is exactly what the function says."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from tests.media import tone, write_audio


def float_wav(path: Path, samples: npt.NDArray[np.float32], rate: int = 48000) -> Path:
    """A 32-bit float WAV holding ``samples`` exactly (NaN and ±Inf included)."""
    out = av.open(str(path), "w", format="wav")
    stream = out.add_stream("pcm_f32le", rate=rate)
    stream.layout = "stereo"  # type: ignore[attr-defined]
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples.reshape(1, -1)), format="flt", layout="stereo")
    frame.sample_rate = rate
    frame.pts = 0
    for packet in stream.encode(frame):  # type: ignore[attr-defined]
        out.mux(packet)
    for packet in stream.encode(None):  # type: ignore[attr-defined]
        out.mux(packet)
    out.close()
    return path


def good(path: Path, seconds: float = 4.0) -> Path:
    """A tone file of ``seconds`` in the format the suffix names."""
    return write_audio(path, tone(440.0, seconds))


def truncated(path: Path, keep: float = 0.5, seconds: float = 4.0) -> Path:
    """A good file cut after ``keep`` of its bytes (a download that stopped)."""
    good(path, seconds)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def corrupt_middle(path: Path, seconds: float = 4.0, seed: int = 3) -> Path:
    """A good file whose middle third is overwritten with random bytes."""
    good(path, seconds)
    data = bytearray(path.read_bytes())
    third = len(data) // 3
    data[third: 2 * third] = random.Random(seed).randbytes(third)
    path.write_bytes(bytes(data))
    return path


def random_bytes(path: Path, size: int = 64_000, seed: int = 5) -> Path:
    """Noise with an audio file's name."""
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def lying_wav(path: Path, claimed_seconds: float = 60.0, seconds: float = 2.0) -> Path:
    """A WAV whose header declares ``claimed_seconds`` of audio but holds ``seconds``."""
    write_audio(path, tone(440.0, seconds))
    data = bytearray(path.read_bytes())
    data_at = data.index(b"data")
    claimed = int(claimed_seconds * 48000 * 4)
    data[data_at + 4: data_at + 8] = struct.pack("<I", claimed)
    data[4:8] = struct.pack("<I", claimed + data_at)
    path.write_bytes(bytes(data))
    return path


def one_sample_wav(path: Path) -> Path:
    """A valid WAV holding a single stereo sample."""
    return write_audio(path, np.full((1, 2), 0.25, np.float32))
