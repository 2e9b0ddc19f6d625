"""The decoder thread: every common format becomes continuous 48 kHz stereo 20 ms chunks."""

from __future__ import annotations

import logging
from pathlib import Path

import av
import numpy as np
import pytest

from musicbot.audio import END_OF_STREAM, Chunk
from musicbot.errors import MediaError
from musicbot.sources.decoder import Decoder
from musicbot.sources.errors import BadMediaError, media_failure
from musicbot.sources.models import StreamInfo
from musicbot.sources.opus_packets import is_passthrough_packet, opus_packet_samples
from musicbot.sources.stream import ResilientStream
from tests import broken_media
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
    with pytest.raises(MediaError, match=r"not an audio file the bot can read|no audio"):
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


BROKEN = {  # file → the words its message must hold
    "truncated.ogg": "The file is cut short",
    "truncated.mp3": "The file ends early: only 0:02 of its 0:04",
    "truncated.flac": "The file ends early",
    "truncated.wav": "The file is cut short",
    "corrupt.mp3": "The file ends early",
    "corrupt.flac": "The file ends early",
    "corrupt.m4a": "The file ends early",
    "corrupt.ogg": "The file ends early",
    "lying.wav": "The file is cut short: it stops after 0:02",
    "one.wav": "The file holds almost no audio",
    "random.mp3": "This is not an audio file the bot can read, or it is damaged.",
    "random.ogg": "The file is empty or cut short.",
    "empty.flac": "The file holds no audio.",
    "truncated.m4a": "This is not an audio file the bot can read",
}


def make_broken(folder: Path, name: str) -> Path:
    kind = name.split(".", maxsplit=1)[0]
    path = folder / name
    makers = {"truncated": broken_media.truncated, "corrupt": broken_media.corrupt_middle,
              "lying": broken_media.lying_wav, "one": broken_media.one_sample_wav,
              "random": broken_media.random_bytes, "empty": lambda p: (p.write_bytes(b""), p)[1]}
    return makers[kind](path)  # type: ignore[no-any-return]


@pytest.mark.parametrize("allow_passthrough", [True, False], ids=["packets", "pcm"])
@pytest.mark.parametrize("name", list(BROKEN))
def test_every_broken_file_ends_with_what_is_wrong_in_users_words(
    tmp_path: Path, name: str, allow_passthrough: bool, caplog: pytest.LogCaptureFixture
) -> None:
    path = make_broken(tmp_path, name)
    decoder = Decoder(str(path), allow_passthrough=allow_passthrough).start()
    heard = 0
    with pytest.raises(BadMediaError) as caught:
        while decoder.read(timeout=10) is not END_OF_STREAM:
            heard += 1
    decoder.close()
    message = str(caught.value)
    assert BROKEN[name] in message
    assert str(tmp_path) not in message and "\n" not in message and len(message) < 140
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # no "internal error", no traceback
    if name.startswith(("truncated.", "corrupt.", "lying")) and name != "truncated.m4a":
        assert heard >= 45  # what could be read was played first (about 2 s)


@pytest.mark.parametrize("suffix", [".webm", ".ogg", ".mp3", ".m4a", ".flac", ".wav"])
@pytest.mark.parametrize("start_s", [0.0, 1.3, 2.95])
def test_good_files_are_not_called_damaged_from_any_position(tmp_path: Path, suffix: str, start_s: float) -> None:
    rate = 44100 if suffix in (".mp3", ".m4a") else 48000
    path = write_audio(tmp_path / f"good{suffix}", tone(440.0, 3.0, rate=rate), rate=rate)
    decoder = Decoder(str(path), start_s=start_s).start()
    while decoder.read(timeout=10) is not END_OF_STREAM:
        pass
    decoder.close()


@pytest.mark.parametrize(("error", "words"), [
    (av.error.HTTPOtherClientError(-1, "Server returned 4XX Client Error, but not one of 40{0,1,3,4}"),
     "The server refused the request for the file (an HTTP 4xx error)."),
    (av.error.HTTPNotFoundError(-1, "Server returned 404 Not Found"), "The server says the file is not there"),
    (av.error.HTTPServerError(-1, "Server returned 5XX Server Error reply"), "The server failed"),
    (av.error.InvalidDataError(-1, "Invalid data found when processing input"), "not an audio file"),
    (av.error.ConnectionResetError(-1, "Connection reset by peer"), "The connection to the server failed"),
])
def test_ffmpeg_failures_are_told_in_users_words(error: Exception, words: str) -> None:
    failure = media_failure(error)
    assert words in str(failure) and "Server returned" not in str(failure) and "Invalid data" not in str(failure)
    assert isinstance(failure, MediaError)
    mid_track = media_failure(error, position_s=83.4)
    assert str(mid_track).startswith("Playback stopped at 1:23: ")


# ResilientStream reopens a stream that ended early at the position reached; a damaged file is not
# reopened (a reopen would seek past the damage and play on without a word): its error ends it.
@pytest.mark.parametrize("name", list(BROKEN))
def test_the_production_stream_passes_the_same_words_on(tmp_path: Path, name: str) -> None:
    # What /play opens in production: a ResilientStream, which reopens a stream that ends early.
    stream = ResilientStream(StreamInfo(url=str(make_broken(tmp_path, name)))).start()
    with pytest.raises(MediaError) as caught:
        while stream.read(timeout=10) is not END_OF_STREAM:
            pass
    stream.close()
    assert BROKEN[name] in str(caught.value)
