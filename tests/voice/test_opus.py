"""The ctypes libopus bindings give exactly what PyAV's libopus gives (the engine's numbers do not move)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from musicbot.dsp.frame import FRAME_SAMPLES
from musicbot.voice.encoder import OpusEncoder
from musicbot.voice.packet_decoder import PacketDecoder
from musicbot.voice.protocol import OpusSettings
from tests.media import opus_packets, tone, write_audio
from tests.voice.pyav_opus import OpusPacketDecoder


def pyav_encoder() -> av.CodecContext:
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.layout, codec.format, codec.bit_rate = 48000, "stereo", "flt", 128_000
    codec.options = {"application": "audio", "frame_duration": "20", "fec": "1", "packet_loss": "15", "vbr": "on"}
    codec.open()
    return codec


def test_encoder_packets_are_byte_identical_to_pyav_libopus() -> None:
    signal = tone(330.0, 0.6, amplitude=0.3) + tone(2500.0, 0.6, amplitude=0.1)
    # With FEC on: FFmpeg's libopus wrapper sets something more when its "fec" is 0 (its packets then
    # differ from a plain encoder's), so the bindings are compared where both set the same.
    reference, ours = pyav_encoder(), OpusEncoder(OpusSettings(fec=True))
    for i in range(0, len(signal), FRAME_SAMPLES):
        frame = np.ascontiguousarray(signal[i:i + FRAME_SAMPLES])
        audio = av.AudioFrame.from_ndarray(frame.reshape(1, -1), format="flt", layout="stereo")
        audio.sample_rate, audio.pts = 48000, i
        expected = b"".join(bytes(p) for p in reference.encode(audio))
        assert ours.encode(frame) == expected
    assert ours.lookahead_samples == 312


def test_music_is_encoded_in_celt_mode_only() -> None:
    # In-band FEC at 15 % expected loss would put every frame in hybrid SILK+CELT mode: 2.4x the CPU and
    # further from the source (docs/benchmarks.md). The TOC byte's config number says the mode: 16-31 is CELT.
    signal = tone(220.0, 1.0, amplitude=0.3) + tone(3300.0, 1.0, amplitude=0.1)
    encoder = OpusEncoder()
    configs = {encoder.encode(np.ascontiguousarray(signal[i:i + FRAME_SAMPLES]))[0] >> 3
               for i in range(0, len(signal) - FRAME_SAMPLES + 1, FRAME_SAMPLES)}
    assert configs and min(configs) >= 16, sorted(configs)


def test_encoder_refuses_a_frame_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError, match="960"):
        OpusEncoder().encode(np.zeros((480, 2), np.float32))


@pytest.fixture(scope="module")
def packets(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    path = write_audio(Path(tmp_path_factory.mktemp("opus")) / "tone.webm", tone(440.0, 1.0, amplitude=0.3))
    return opus_packets(path)


def test_packet_decoder_matches_the_sources_decoder_sample_for_sample(packets: list[bytes]) -> None:
    ours, reference = PacketDecoder(), OpusPacketDecoder()
    for packet in packets:
        assert np.array_equal(ours.decode(packet), reference.decode(packet))


def test_a_40_ms_packet_is_cut_to_its_first_20_ms_like_the_sources_decoder() -> None:
    packet = OpusEncoder().encode(np.ascontiguousarray(tone(440.0, 0.02, amplitude=0.2)))
    toc, body = packet[0], packet[1:]
    doubled = bytes([toc | 0x01]) + body + body  # TOC code 1: two 20 ms frames of equal size
    ours, reference = PacketDecoder().decode(doubled), OpusPacketDecoder().decode(doubled)
    assert ours.shape == (FRAME_SAMPLES, 2)
    assert np.array_equal(ours, reference) and np.any(ours)
