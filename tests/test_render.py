"""`musicbot render` end to end, as a user runs it: a subprocess, real files, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest

from tests import broken_media
from tests.broken_media import float_wav
from tests.dsp.signals import dominant_hz, rms
from tests.media import music_like, opus_packets, read_wav, tone, write_audio


def musicbot(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "musicbot", *map(str, args)],
                          check=False, capture_output=True, text=True, timeout=120)


def decode(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as container:
        return np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1).T


def test_nightcore_to_wav_raises_pitch_and_shortens_by_a_quarter(tmp_path: Path) -> None:
    source = write_audio(tmp_path / "in.mp3", tone(440.0, 4.0, rate=44100), rate=44100)
    out = tmp_path / "out.wav"
    result = musicbot("render", source, out, "--preset", "nightcore", "--no-normalize")
    assert result.returncode == 0, result.stderr
    rate, pcm = read_wav(out)
    assert rate == 48000 and pcm.shape[1] == 2
    assert abs(dominant_hz(pcm[9600:-9600, 0]) - 550.0) < 550 * 0.005
    assert abs(len(pcm) / 48000 - 4.0 / 1.25) < 0.1
    assert np.max(np.abs(pcm)) <= 10 ** (-1 / 20) + 1e-3  # the limiter's ceiling


def test_opus_in_identity_chain_passes_packets_through_unchanged(tmp_path: Path) -> None:
    source = write_audio(tmp_path / "in.webm", tone(660.0, 3.0))
    out = tmp_path / "out.ogg"
    result = musicbot("render", source, out, "--no-normalize")
    assert result.returncode == 0, result.stderr
    assert "passed through" in result.stdout
    assert opus_packets(out) == opus_packets(source)


def test_filters_to_opus_re_encode_and_are_heard(tmp_path: Path) -> None:
    source = write_audio(tmp_path / "in.webm", tone(440.0, 3.0))
    out = tmp_path / "out.opus"
    result = musicbot("render", source, out, "--filters", '{"timescale": {"pitch": 1.5}}', "--no-normalize")
    assert result.returncode == 0, result.stderr
    assert opus_packets(out) != opus_packets(source)
    pcm = decode(out)
    assert abs(dominant_hz(pcm[9600:-9600, 0]) - 660.0) < 660 * 0.005


def test_filters_from_file_and_default_normalization(tmp_path: Path) -> None:
    quiet = music_like(12.0) * 0.15  # about −28 LUFS
    source = write_audio(tmp_path / "quiet.flac", quiet)
    spec = tmp_path / "filters.json"
    spec.write_text(json.dumps({"equalizer": [{"band": 3, "gain": 0.1}]}))
    out = tmp_path / "out.wav"
    result = musicbot("render", source, out, "--filters", f"@{spec}")
    assert result.returncode == 0, result.stderr
    _, pcm = read_wav(out)
    loudness = pyloudnorm.Meter(48000).integrated_loudness(pcm[-6 * 48000:].astype(np.float64))
    assert abs(loudness - (-14.0)) < 1.5


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["missing.mp3", "out.wav"], "No such file"),
        (["junk.mp3", "out.wav"], "Cannot open"),
        (["in.flac", "out.wav", "--filters", '{"timescale": {"speed": 9}}'], "timescale.speed: 9 is out of range"),
        (["in.flac", "out.wav", "--filters", "{not json"], "not valid JSON"),
        (["in.flac", "out.wav", "--filters", "@nofile.json"], "cannot read"),
        (["in.flac", "out.wav", "--preset", "nightcor"], "unknown preset"),
        (["in.flac", "out.mp4"], "must end in .wav, .ogg or .opus"),
        (["in.flac", "out.wav", "--volume", "300"], "--volume: 300 is out of range"),
    ],
)
def test_bad_input_gives_one_clear_line_and_nonzero_exit(tmp_path: Path, args: list[str], words: str) -> None:
    write_audio(tmp_path / "in.flac", tone(440.0, 0.5))
    (tmp_path / "junk.mp3").write_bytes(b"garbage" * 200)
    resolved = [str(tmp_path / a) if a.endswith((".mp3", ".wav", ".flac", ".mp4")) else a for a in args]
    resolved = [a.replace("@nofile", f"@{tmp_path}/nofile") for a in resolved]
    result = musicbot("render", *resolved)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out.wav").exists()


@pytest.mark.parametrize(
    ("filters", "words"),
    [
        ('{"volume": 1' + "0" * 400 + "}", "volume: a number with 401 digits is out of range"),
        ('{"volume": 1' + "0" * 5000 + "}", "a number in it is far too long"),
        ("@deep.json", "nested too deeply"),
        ("@latin1.json", "latin1.json is not UTF-8 text (byte 0xe9"),
        ("", "--filters: is empty"),
    ],
)
def test_pathological_filters_give_one_line_and_write_nothing(tmp_path: Path, filters: str, words: str) -> None:
    source = write_audio(tmp_path / "in.flac", tone(440.0, 0.5))
    (tmp_path / "deep.json").write_text("[" * 10_000 + "]" * 10_000)
    (tmp_path / "latin1.json").write_bytes('{"karaoke": {}} // café'.encode("latin-1"))
    out = tmp_path / "out.wav"
    result = musicbot("render", source, out, "--filters", filters.replace("@", f"@{tmp_path}/"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert not out.exists() and not (tmp_path / "out.wav.part").exists()


@pytest.mark.parametrize("preset", ["bassboost", "karaoke", "reverb", "rock"])
def test_a_nan_in_the_input_does_not_silence_the_rest(tmp_path: Path, preset: str) -> None:
    audio = music_like(4.0) * np.float32(0.5)
    audio[48_000 + 123, 0] = np.nan
    audio[48_000 + 5_000, 1] = np.inf
    source = float_wav(tmp_path / "float.wav", audio)
    out = tmp_path / "out.wav"
    result = musicbot("render", source, out, "--preset", preset, "--no-normalize")
    assert result.returncode == 0, result.stderr
    _, pcm = read_wav(out)
    before, after = pcm[24_000:48_000], pcm[48_000 + 6_000:]
    frame_after = pcm[48_000 + 5_000 + 960: 48_000 + 5_000 + 1920]  # the 20 ms right after the bad sample
    assert rms(after) > 0.7 * rms(before), "the rest of the track went quiet"
    assert rms(frame_after) > 0.5 * rms(before)


def clicks_and_tone(samples: int) -> np.ndarray:
    """Impulses at known samples over a quiet tone: where each impulse lands shows any shift."""
    x = tone(1000.0, samples / 48000, amplitude=0.05)[:samples]
    x[IMPULSES] = 0.5
    return x


IMPULSES = [1_000, 20_000, 47_000]


def lag_at(out: np.ndarray, reference: np.ndarray, at: int, search: int = 200) -> int:
    window = reference[at - search: at + search, 0]
    scores = np.correlate(out[at - 2 * search: at + 2 * search, 0], window, "valid")
    return int(np.argmax(scores)) - search


@pytest.mark.parametrize("normalize", [False, True], ids=["normalization off", "normalization on"])
def test_wav_output_is_sample_aligned_and_exactly_as_long_as_the_input(tmp_path: Path, normalize: bool) -> None:
    samples = 48_000 + 517  # not a whole number of 20 ms frames
    source = write_audio(tmp_path / "in.wav", clicks_and_tone(samples))
    out = tmp_path / "out.wav"
    result = musicbot("render", source, out, *([] if normalize else ["--no-normalize"]))
    assert result.returncode == 0, result.stderr
    _, original = read_wav(source)
    _, rendered = read_wav(out)

    assert len(rendered) == len(original) == samples
    assert [lag_at(rendered, original, k) for k in IMPULSES] == [0, 0, 0]
    if not normalize:  # nothing changes the audio: every sample comes back as it went in, the last 1.5 ms too
        np.testing.assert_array_equal(rendered, original)


def test_opus_output_is_aligned_and_as_long_as_the_input(tmp_path: Path) -> None:
    samples = 48_000 + 517
    source = write_audio(tmp_path / "in.wav", clicks_and_tone(samples))
    out = tmp_path / "out.ogg"
    result = musicbot("render", source, out, "--filters", '{"volume": 0.9}', "--no-normalize")
    assert result.returncode == 0, result.stderr
    _, original = read_wav(source)
    rendered = decode(out)

    assert len(rendered) == samples  # the encoder's delay is flushed, and the last packet says where it ends
    # Opus is lossy: a decoder places an impulse within a few samples of where the pre-skip says
    # (measured 4 early with FFmpeg's decoder, ±2 with libopus); the limiter's 72 were on top.
    assert all(abs(lag_at(rendered, original, k)) <= 4 for k in IMPULSES)


@pytest.mark.parametrize(("name", "make", "words"), [
    ("cut.mp3", broken_media.truncated, "The file ends early: only 0:02 of its 0:04 could be played"),
    ("cut.ogg", broken_media.truncated, "The file is cut short"),
    ("holes.flac", broken_media.corrupt_middle, "The file ends early"),
    ("lying.wav", broken_media.lying_wav, "The file is cut short: it stops after 0:02"),
])
def test_a_damaged_input_is_rendered_as_far_as_it_goes_with_a_warning(
    tmp_path: Path, name: str, make: Callable[[Path], Path], words: str
) -> None:
    source = make(tmp_path / name)
    out = tmp_path / "out.wav"
    result = musicbot("render", source, out, "--no-normalize")
    # Exit 0: the output exists (a non-zero exit always means nothing was written).
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"musicbot: warning: {source}: {words}"), result.stderr
    assert "Traceback" not in result.stderr
    _, pcm = read_wav(out)
    assert 1.0 < len(pcm) / 48000 < 3.0 and rms(pcm[: 48000]) > 0.1


def test_a_file_that_is_not_audio_is_refused_in_users_words(tmp_path: Path) -> None:
    source = broken_media.random_bytes(tmp_path / "noise.mp3")
    out = tmp_path / "out.wav"
    result = musicbot("render", source, out)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"musicbot: error: Cannot open {source}: "
                                     "This is not an audio file the bot can read, or it is damaged.")
    assert not out.exists()
