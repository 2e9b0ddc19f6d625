"""benchmarks/opus_settings.py measures what it says: on half a second of its generated inputs, the
codec round trip lines up with the input, FEC repairs loss, and FEC at 15 % switches to hybrid mode.
No timing is asserted (the machine is shared and noisy)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.opus_settings import (
    Cell,
    aligned,
    decode_with_loss,
    encode,
    frames_of,
    log_spectral_distance,
    lookahead,
    loss_pattern,
    measure,
    mode_shares,
    music,
    quality,
    segmental_snr,
    speech,
    table,
)

SECONDS = 0.5


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return music(SECONDS)


def test_inputs_are_deterministic_stereo_and_not_clipped() -> None:
    for make in (music, speech):
        audio = make(SECONDS)
        assert audio.shape == (int(SECONDS * 48_000), 2) and audio.dtype == np.float32
        assert 0.1 < np.abs(audio).max() <= 1.0
        np.testing.assert_array_equal(audio, make(SECONDS))
    stereo = music(SECONDS)
    assert np.std(stereo[:, 0] - stereo[:, 1]) > 0.01  # the music has width


def test_without_loss_the_decoded_output_matches_the_input(clip: np.ndarray) -> None:
    cell = Cell(10, False, 0)
    packets, _ = encode(frames_of(clip), cell)
    decoded = decode_with_loss(packets, loss_pattern(len(packets), 0))
    reference, output = aligned(clip, decoded, lookahead(cell))
    assert log_spectral_distance(reference, output) < 1.5
    assert segmental_snr(reference, output) > 12
    # and the lookahead is the right alignment: one sample off already costs many dB of SNR
    early, late = aligned(clip, decoded, lookahead(cell) - 24)
    assert segmental_snr(early, late) < segmental_snr(reference, output) - 6


def test_fec_rebuilds_lost_packets_better_than_concealment(clip: np.ndarray) -> None:
    # the same packets, the same losses: only whether the receiver uses the next packet's FEC differs
    cell = Cell(10, True, 15)
    packets, _ = encode(frames_of(clip), cell)
    lost = loss_pattern(len(packets), 10)
    assert lost.any() and not lost.all()
    repaired = aligned(clip, decode_with_loss(packets, lost), lookahead(cell))
    concealed = aligned(clip, decode_with_loss(packets, lost, use_fec=False), lookahead(cell))
    assert log_spectral_distance(*repaired) < log_spectral_distance(*concealed) - 0.1
    assert segmental_snr(*repaired) > segmental_snr(*concealed) + 0.5


def test_on_speech_fec_beats_no_fec_under_10_percent_loss() -> None:
    # (on the music input it does not: hybrid mode costs more than the FEC repairs, see docs/benchmarks.md)
    voice = speech(1.0)  # half a second loses only two packets, one in a pause
    frames = frames_of(voice)
    with_fec, _ = encode(frames, Cell(10, True, 15))
    without_fec, _ = encode(frames, Cell(10, False, 0))
    fec_lsd, _ = quality(voice, with_fec, lookahead(Cell(10, True, 15)), 10)
    plain_lsd, _ = quality(voice, without_fec, lookahead(Cell(10, False, 0)), 10)
    assert fec_lsd < plain_lsd - 0.3


def test_fec_at_15_percent_goes_hybrid_and_fec_off_stays_celt(clip: np.ndarray) -> None:
    frames = frames_of(clip)
    silk_off, hybrid_off = mode_shares(encode(frames, Cell(10, False, 0))[0])
    silk_on, hybrid_on = mode_shares(encode(frames, Cell(10, True, 15))[0])
    assert hybrid_off == 0 and silk_off == 0
    assert hybrid_on + silk_on > 0.5


def test_mode_shares_reads_the_toc_byte() -> None:
    packets = [bytes([config << 3, 0]) for config in (0, 11, 12, 15, 16, 31)]
    assert mode_shares(packets) == (2 / 6, 2 / 6)


def test_more_loss_is_never_closer_to_the_input(clip: np.ndarray) -> None:
    cell = Cell(10, False, 0)
    packets, _ = encode(frames_of(clip), cell)
    clean_lsd, clean_snr = quality(clip, packets, lookahead(cell), 0)
    lossy_lsd, lossy_snr = quality(clip, packets, lookahead(cell), 10)
    assert lossy_lsd > clean_lsd and lossy_snr < clean_snr


def test_measure_and_table(clip: np.ndarray) -> None:
    results = measure(clip, cells=[Cell(5, False, 0), Cell(10, True, 15)], losses=[0, 5], reps=1)
    text = table("music", results)
    assert "| c5, FEC off, loss hint 0 % |" in text and "| c10, FEC on, loss hint 15 % |" in text
    assert "LSD 5%" in text and len(text.splitlines()) == 6
    assert all(r.us_per_frame > 0 and r.mean_bytes > 100 for r in results)
