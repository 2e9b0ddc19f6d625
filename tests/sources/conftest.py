"""Fixtures for the source tests: generated media served from 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.media import music_like, tone, write_audio
from tests.sources.server import MediaServer, serve

LONG_S = 8.0


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("media")
    signal = music_like(LONG_S)
    for suffix in (".webm", ".mp3", ".m4a", ".wav"):
        write_audio(root / f"music{suffix}", signal)
    write_audio(root / "radio.mp3", tone(440.0, 2.0))
    return root


@pytest.fixture(scope="session")
def media_server(media_dir: Path) -> Iterator[MediaServer]:
    with serve(media_dir) as server:
        yield server


@pytest.fixture
def server(media_server: MediaServer) -> MediaServer:
    media_server.log.clear()
    return media_server


def mono(pcm: np.ndarray) -> np.ndarray:
    return np.asarray(pcm[:, 0], dtype=np.float64)
