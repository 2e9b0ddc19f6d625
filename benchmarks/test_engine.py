"""pytest-benchmark suite for the audio engine: µs per 20 ms frame on each path.

Run: ``.venv/bin/pytest benchmarks --benchmark-enable`` (the default test run skips timing).
The same paths, with p50/p99 and streams per core, come from ``musicbot bench``.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import cycle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from musicbot.audio import END_OF_STREAM, Chunk
from musicbot.bench import FULL_CHAIN, SINGLE_FILTERS
from musicbot.dsp.chain import FilterChain
from musicbot.dsp.frame import FRAME_SAMPLES, Frame
from musicbot.dsp.params import FilterSettings
from musicbot.dsp.settings import parse_filters
from musicbot.sources.decoder import Decoder
from musicbot.sources.synth import music_like, write_audio
from musicbot.voice.encoder import OpusEncoder
from musicbot.voice.engine import AudioEngine
from musicbot.voice.packet_decoder import PacketDecoder

SECONDS = 6.0


@pytest.fixture(scope="module")
def pcm_frames() -> list[Frame]:
    audio = music_like(SECONDS)
    starts = range(0, len(audio) - FRAME_SAMPLES, FRAME_SAMPLES)
    return [np.ascontiguousarray(audio[i:i + FRAME_SAMPLES]) for i in starts]


@pytest.fixture(scope="module")
def opus_packets(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    path = write_audio(Path(tmp_path_factory.mktemp("bench")) / "music.webm", music_like(SECONDS))
    decoder = Decoder(str(path), buffer_frames=10_000).start()
    packets = []
    while (item := decoder.read(timeout=30)) is not END_OF_STREAM:
        assert isinstance(item, Chunk) and item.packet is not None
        packets.append(item.packet)
    return packets


def test_decode_opus(benchmark: Any, opus_packets: list[bytes]) -> None:
    decoder, source = PacketDecoder(), cycle(opus_packets)  # what the engine decodes with
    benchmark(lambda: decoder.decode(next(source)))


def test_encode_opus(benchmark: Any, pcm_frames: list[Frame]) -> None:
    encoder, source = OpusEncoder(), cycle(pcm_frames)
    benchmark(lambda: encoder.encode(next(source)))


def _chain_step(chain: FilterChain, source: Iterator[Frame]) -> Frame | None:
    while not chain.ready:
        chain.push(next(source).copy())
    return chain.pop()


@pytest.mark.parametrize("name", list(SINGLE_FILTERS))
def test_filter(benchmark: Any, pcm_frames: list[Frame], name: str) -> None:
    chain, source = FilterChain(parse_filters(SINGLE_FILTERS[name])), cycle(pcm_frames)
    benchmark(lambda: _chain_step(chain, source))


def test_full_chain(benchmark: Any, pcm_frames: list[Frame]) -> None:
    chain, source = FilterChain(parse_filters(FULL_CHAIN)), cycle(pcm_frames)
    benchmark(lambda: _chain_step(chain, source))


@pytest.mark.parametrize(("label", "filters", "normalize"), [
    ("passthrough", {}, False),
    ("transcode_no_filters", {}, True),
    ("full_chain_stream", FULL_CHAIN, True),
])
def test_engine_path(benchmark: Any, opus_packets: list[bytes], label: str, filters: dict[str, Any],
                     normalize: bool) -> None:
    engine = AudioEngine(parse_filters(filters) if filters else FilterSettings(), normalize=normalize)
    engine.start_track(packet_mode=True)
    chunks = cycle([Chunk(i * FRAME_SAMPLES, packet=p) for i, p in enumerate(opus_packets)])
    benchmark(lambda: engine.next_packet(lambda: next(chunks)))
