"""The decoder thread: every common format becomes continuous 48 kHz stereo 20 ms chunks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicbot.errors import MediaError
from musicbot.sources.decoder import END_OF_STREAM, Chunk, Decoder
from musicbot.sources.opus_packets import is_passthrough_packet, opus_packet_samples
from tests.broken_media import float_wav
from tests.dsp.signals import clicks, dominant_hz
from tests.media import opus_packets, tone, write_audio
from tests.voice.pyav_opus import OpusPacketDecoder


def decode_all(decoder: Decoder) -> tuple[list[Chunk], np.ndarray]:
    decoder.start()
    chunks: list[Chunk] = []
    opus = OpusPacketDecoder()
    pcm = []
    while (item := decoder.read(timeout=10)) is not END_OF_STREAM:
        assert isinstance(item, Chunk)
        chunks.append(item)
        pcm.append(item.pcm if item.pcm is not None else opus.decode(item.packet or b""))
    decoder.close()
    return chunks, np.concatenate(pcm)


@pytest.mark.parametrize(("suffix", "rate"), [(".webm", 48000), (".ogg", 48000), (".mp3", 44100),
                                              (".m4a", 44100), (".flac", 48000), (".wav", 22050)])
def test_each_format_decodes_to_continuous_48k_stereo_frames(tmp_path: Path, suffix: str, rate: int) -> None:
    path = write_audio(tmp_path / f"tone{suffix}", tone(440.0, 3.0, rate=rate), rate=rate)
    chunks, pcm = decode_all(Decoder(str(path)))

    assert [c.start_sample for c in chunks] == [i * 960 for i in range(len(chunks))]
    assert pcm.shape[1] == 2 and pcm.dtype == np.float32
    assert abs(len(pcm) / 48000 - 3.0) < 0.1  # codec padding adds at most a few frames
    body = pcm[4800:-4800]
    assert abs(dominant_hz(body[:, 0]) - 440.0) < 0.5
    assert np.sqrt(np.mean(body**2)) == pytest.approx(0.4 / np.sqrt(2), rel=0.1)  # MP3 at 128k: −0.5 dB
    assert clicks(body) == []


def test_opus_source_is_carried_as_its_own_packets(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "tone.webm", tone(660.0, 2.0))
    decoder = Decoder(str(path))
    chunks, _ = decode_all(decoder)

    assert decoder.packet_mode
    assert all(c.pcm is None for c in chunks)
    assert [c.packet for c in chunks] == opus_packets(path)
    assert all(is_passthrough_packet(c.packet or b"") for c in chunks)


def test_passthrough_can_be_refused_and_opus_is_then_decoded(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "tone.webm", tone(660.0, 1.0))
    decoder = Decoder(str(path), allow_passthrough=False)
    chunks, pcm = decode_all(decoder)
    assert not decoder.packet_mode and all(c.packet is None for c in chunks)
    assert abs(dominant_hz(pcm[4800:-4800, 0]) - 660.0) < 0.5


@pytest.mark.parametrize("suffix", [".flac", ".webm"])
def test_start_position_skips_exactly_to_the_requested_time(tmp_path: Path, suffix: str) -> None:
    # a chirp, so the position in the file is readable from the frequency
    rate, seconds = 48000, 6.0
    t = np.arange(int(rate * seconds)) / rate
    chirp = (0.4 * np.sin(2 * np.pi * (200 * t + 50 * t**2))).astype(np.float32)
    path = write_audio(tmp_path / f"chirp{suffix}", np.stack([chirp, chirp], 1))

    chunks, pcm = decode_all(Decoder(str(path), start_s=3.0))
    assert chunks[0].start_sample == 3 * 48000
    # instantaneous frequency at the start of the output is that of t = 3 s: 200 + 100·3 = 500 Hz
    assert abs(dominant_hz(pcm[960:960 + 2400, 0]) - (200 + 100 * 3.035)) < 15
    assert abs(len(pcm) / 48000 - 3.0) < 0.1


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    decoder = Decoder(str(tmp_path / "nope.mp3")).start()
    with pytest.raises(MediaError, match="No such file"):
        decoder.read(timeout=5)


def test_unreadable_media_is_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"this is not audio at all" * 100)
    decoder = Decoder(str(junk)).start()
    with pytest.raises(MediaError, match=r"Cannot open|no audio"):
        decoder.read(timeout=5)


def test_buffer_is_bounded_and_read_nowait_never_blocks(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "long.flac", tone(440.0, 8.0))
    decoder = Decoder(str(path), buffer_frames=10).start()
    decoder.wait_open(5)
    import time

    time.sleep(0.3)
    assert decoder.buffered_frames <= 10
    first = decoder.read_nowait()
    assert isinstance(first, Chunk) and first.start_sample == 0
    decoder.close()


def test_toc_parser_matches_packet_durations() -> None:
    assert opus_packet_samples(bytes([0xFC, 0])) == 960  # config 31 (CELT 20 ms), one frame
    assert opus_packet_samples(bytes([0xF8 | 1, 0])) == 1920  # two CELT 20 ms frames
    assert opus_packet_samples(bytes([0x18, 0])) == 2880  # config 3: SILK 60 ms
    assert opus_packet_samples(bytes([0xF3, 0x03])) == 3 * 480  # config 30 (CELT 10 ms), 3 frames
    assert opus_packet_samples(b"") == 0


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf], ids=str)
def test_non_finite_samples_of_a_float_source_arrive_as_silence(tmp_path: Path, value: float) -> None:
    audio = tone(440.0, 1.0)
    audio[12_345, 0] = audio[30_000, 1] = value
    path = float_wav(tmp_path / "float.wav", audio)
    _, pcm = decode_all(Decoder(str(path)))

    assert np.isfinite(pcm).all()
    assert pcm[12_345, 0] == 0.0 and pcm[30_000, 1] == 0.0
    expected = audio.copy()
    expected[12_345, 0] = expected[30_000, 1] = 0.0
    np.testing.assert_array_equal(pcm[: len(audio)], expected)  # nothing else touched
