"""The stream engine: passthrough, switching paths without a seam, changes heard at once, no clipping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicbot.audio import END_OF_STREAM, Chunk, EndOfStream
from musicbot.dsp.frame import FRAME_SAMPLES
from musicbot.dsp.params import FilterSettings
from musicbot.dsp.settings import parse_filters
from musicbot.voice.engine import AudioEngine
from musicbot.voice.protocol import OPUS_SILENCE
from tests.dsp.signals import clicks, dominant_hz, rms
from tests.media import opus_packets, tone, write_audio
from tests.voice.pyav_opus import OpusPacketDecoder


@pytest.fixture(scope="module")
def packets(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    path = write_audio(Path(tmp_path_factory.mktemp("engine")) / "tone.webm", tone(220.0, 6.0, amplitude=0.3))
    return opus_packets(path)


def feeder(packets: list[bytes]) -> tuple[list[Chunk | EndOfStream], object]:
    items: list[Chunk | EndOfStream] = [Chunk(i * FRAME_SAMPLES, packet=p) for i, p in enumerate(packets)]
    items.append(END_OF_STREAM)
    it = iter(items)
    return items, lambda: next(it)


def play(engine: AudioEngine, packets: list[bytes], at: dict[int, FilterSettings] | None = None) -> list[bytes]:
    _, pull = feeder(packets)
    out: list[bytes] = []
    engine.start_track(packet_mode=True)
    while True:
        if at and len(out) in at:
            engine.set_filters(at[len(out)])
        packet = engine.next_packet(pull)  # type: ignore[arg-type]
        if packet is None:
            return out
        out.append(packet)


def decode(packets: list[bytes]) -> np.ndarray:
    decoder = OpusPacketDecoder()
    return np.concatenate([decoder.decode(p) for p in packets])


def test_identity_chain_without_normalization_sends_the_source_packets(packets: list[bytes]) -> None:
    engine = AudioEngine(normalize=False)
    assert play(engine, packets) == packets
    assert engine.stats.passthrough_frames == len(packets) and engine.stats.dsp_frames == 0


def test_normalization_on_by_default_means_dsp_path(packets: list[bytes]) -> None:
    engine = AudioEngine()
    out = play(engine, packets)
    assert len(out) == len(packets) and out != packets and engine.stats.passthrough_frames == 0


def test_switching_filters_on_and_off_mid_track_leaves_no_gap_and_no_click(packets: list[bytes]) -> None:
    engine = AudioEngine(normalize=False)
    louder = parse_filters({"volume": 0.5})
    out = play(engine, packets, at={100: louder, 200: FilterSettings()})

    assert len(out) == len(packets)  # not one frame lost or added
    assert out[:100] == packets[:100]  # passthrough until the change
    assert out[100:201] != packets[100:201]  # DSP while the filter is on, plus one frame to fade back
    assert out[202:] == packets[202:]  # the source's own packets again
    pcm = decode(out)[:, 0]
    assert clicks(pcm[90 * FRAME_SAMPLES:215 * FRAME_SAMPLES]) == []
    assert abs(dominant_hz(pcm[120 * FRAME_SAMPLES:190 * FRAME_SAMPLES]) - 220.0) < 0.5


def test_a_change_is_heard_on_the_next_frame(packets: list[bytes]) -> None:
    engine = AudioEngine(normalize=False)
    out = play(engine, packets, at={150: parse_filters({"volume": 0.25})})
    pcm = decode(out)[:, 0]
    before = rms(pcm[140 * FRAME_SAMPLES:150 * FRAME_SAMPLES])
    after = rms(pcm[152 * FRAME_SAMPLES:154 * FRAME_SAMPLES])  # 2 frames later, incl. codec delay
    assert after / before == pytest.approx(0.25, rel=0.1)


def test_underrun_sends_silence_and_playback_continues(packets: list[bytes]) -> None:
    engine = AudioEngine()
    engine.start_track(packet_mode=True)
    queue: list[Chunk | EndOfStream | None] = [Chunk(0, packet=packets[0]), None, None,
                                                Chunk(960, packet=packets[1]), END_OF_STREAM]
    out = []
    while (packet := engine.next_packet(lambda: queue.pop(0))) is not None:
        out.append(packet)
    assert out[1] == out[2] == OPUS_SILENCE and out[0] != OPUS_SILENCE and out[3] != OPUS_SILENCE
    assert engine.stats.underruns == 2


def test_loud_track_with_maximum_bass_boost_never_exceeds_full_scale() -> None:
    loud = tone(60.0, 3.0, amplitude=0.99) + tone(3000.0, 3.0, amplitude=0.0)
    engine = AudioEngine(parse_filters({"bassBoost": {"gainDb": 24.0}, "volume": 5.0}), volume=2.0)
    engine.start_track(packet_mode=False)
    items = [Chunk(i, pcm=np.ascontiguousarray(loud[i:i + FRAME_SAMPLES]))
             for i in range(0, len(loud) - FRAME_SAMPLES + 1, FRAME_SAMPLES)]
    it = iter([*items, END_OF_STREAM])
    frames = []
    while (frame := engine.next_pcm(lambda: next(it))) is not None:
        frames.append(frame)
    pcm = np.concatenate(frames)
    assert np.max(np.abs(pcm)) <= 10 ** (-1 / 20) + 1e-6  # the −1 dBFS ceiling
    assert np.mean(np.abs(pcm) >= 10 ** (-1 / 20) - 1e-4) < 0.01  # limited smoothly, not a flat-topped clip


def test_dsp_output_stays_sample_aligned_with_the_source(packets: list[bytes]) -> None:
    """While the volume filter is on, the re-encoded audio is the source at half level, at the
    same sample positions: entering and leaving the DSP path moves nothing in time."""
    engine = AudioEngine(normalize=False)
    out = decode(play(engine, packets, at={100: parse_filters({"volume": 0.5}), 200: FilterSettings()}))
    source = decode(packets)
    window = slice(110 * FRAME_SAMPLES, 190 * FRAME_SAMPLES)
    lags = range(-20, 21)
    errors = [rms(out[window][:, 0] - 0.5 * np.roll(source, lag, axis=0)[window][:, 0]) for lag in lags]
    # ±1 sample: libopus's delay is not a whole number of samples
    assert abs(lags[int(np.argmin(errors))]) <= 1
    assert min(errors) < 0.01 * rms(source[window][:, 0])  # only the codec's own noise is left


def test_a_time_stretch_on_and_off_returns_to_passthrough_without_a_click(packets: list[bytes]) -> None:
    engine = AudioEngine(normalize=False)
    out = play(engine, packets, at={50: parse_filters({"timescale": {"speed": 1.3}}), 120: FilterSettings()})
    assert engine.stats.passthrough_frames > 100  # it did go back to passthrough
    tail = out[-40:]
    assert tail == packets[-40:]
    pcm = decode(out)[:, 0]
    assert clicks(pcm[2 * FRAME_SAMPLES:-30 * FRAME_SAMPLES]) == []  # the tone's own start and end are steps


def test_encoder_delay_constant_matches_the_bundled_libopus() -> None:
    from musicbot.voice.encoder import OpusEncoder
    from musicbot.voice.engine import ENCODER_DELAY_SAMPLES

    signal = tone(200.0, 0.8, amplitude=0.3) + tone(1234.0, 0.8, amplitude=0.2)
    encoder = OpusEncoder()
    decoded = decode([encoder.encode(signal[i:i + FRAME_SAMPLES]) for i in range(0, len(signal), FRAME_SAMPLES)])
    errors = {lag: rms(decoded[lag + 2000:lag + 30000, 0] - signal[2000:30000, 0]) for lag in range(300, 320)}
    assert abs(min(errors, key=errors.__getitem__) - ENCODER_DELAY_SAMPLES) <= 1


def test_a_source_that_switches_from_packets_to_pcm_keeps_playing(packets: list[bytes]) -> None:
    """A re-resolved stream URL may serve another format mid-track; the engine follows."""
    engine = AudioEngine(normalize=False)
    engine.start_track(packet_mode=True)
    pcm = tone(220.0, 1.0, amplitude=0.3)
    items: list[Chunk | EndOfStream] = [Chunk(i * FRAME_SAMPLES, packet=p) for i, p in enumerate(packets[:20])]
    items += [Chunk((20 + i) * FRAME_SAMPLES, pcm=np.ascontiguousarray(pcm[i * 960:(i + 1) * 960])) for i in range(20)]
    items.append(END_OF_STREAM)
    out = []
    while (packet := engine.next_packet(lambda: items.pop(0))) is not None:
        out.append(packet)
    assert out[:20] == packets[:20] and len(out) >= 39
    assert abs(dominant_hz(decode(out)[25 * 960:38 * 960, 0]) - 220.0) < 1.0
