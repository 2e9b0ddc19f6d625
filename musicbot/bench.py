"""``musicbot bench``: what one stream costs, per 20 ms frame, on this machine.

Every number is measured on the engine's real code with generated audio (no network):
µs per frame at the median and 99th percentile, and how many real-time streams one core
could carry (20 ms divided by the mean cost of a frame on that path).
"""

from __future__ import annotations

import json
import platform
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from musicbot.audio import END_OF_STREAM, Chunk
from musicbot.dsp.chain import FilterChain
from musicbot.dsp.frame import FRAME_SAMPLES, Frame
from musicbot.dsp.params import FilterSettings
from musicbot.dsp.settings import parse_filters
from musicbot.sources.decoder import Decoder
from musicbot.sources.synth import music_like, write_audio
from musicbot.voice.encoder import OpusEncoder
from musicbot.voice.engine import AudioEngine
from musicbot.voice.packet_decoder import PacketDecoder
from musicbot.voice.protocol import OpusSettings

FRAME_BUDGET_US = 20_000.0
FULL_CHAIN = {  # the "full chain": equalizer + bassBoost + timescale + rotation + tremolo + reverb
    "equalizer": [{"band": b, "gain": g} for b, g in enumerate((0.2, 0.15, 0.1, 0.05, 0, -0.05, 0, 0.05,
                                                                0.1, 0.1, 0.05, 0, 0.05, 0.1, 0.1))],
    "bassBoost": {"gainDb": 8.0, "frequencyHz": 110.0},
    "timescale": {"speed": 1.1, "pitch": 1.05, "rate": 1.0},
    "rotation": {"rotationHz": 0.2},
    "tremolo": {"frequency": 4.0, "depth": 0.5},
    "reverb": {"roomSize": 0.6, "damping": 0.5, "wetLevel": 0.3, "dryLevel": 0.8, "width": 1.0},
}
SINGLE_FILTERS = {
    "volume": {"volume": 0.8},
    "equalizer": {"equalizer": FULL_CHAIN["equalizer"]},
    "karaoke": {"karaoke": {}},
    "timescale (nightcore)": {"timescale": {"rate": 1.25}},
    "timescale (speed 1.1, pitch 1.05)": {"timescale": FULL_CHAIN["timescale"]},
    "tremolo": {"tremolo": {"frequency": 4.0, "depth": 0.5}},
    "vibrato": {"vibrato": {"frequency": 4.0, "depth": 0.5}},
    "rotation": {"rotation": {"rotationHz": 0.2}},
    "distortion": {"distortion": {"sinOffset": 0.1, "scale": 0.9}},
    "channelMix": {"channelMix": {"leftToLeft": 0.5, "leftToRight": 0.5, "rightToLeft": 0.5, "rightToRight": 0.5}},
    "lowPass": {"lowPass": {"smoothing": 20.0}},
    "bassBoost": {"bassBoost": {"gainDb": 8.0}},
    "reverb": {"reverb": FULL_CHAIN["reverb"]},
}


@dataclass(frozen=True)
class Measurement:
    name: str
    p50_us: float
    p99_us: float
    mean_us: float

    @property
    def streams_per_core(self) -> float:
        return FRAME_BUDGET_US / self.mean_us if self.mean_us > 0 else float("inf")


def _measure(name: str, step: Callable[[int], object], frames: int) -> Measurement:
    for i in range(min(25, frames)):  # warm caches, tables and lazily built state
        step(i)
    times = np.empty(frames)
    clock = time.perf_counter_ns
    for i in range(frames):
        start = clock()
        step(i)
        times[i] = clock() - start
    us = times / 1000.0
    return Measurement(name, float(np.percentile(us, 50)), float(np.percentile(us, 99)), float(us.mean()))


def _chunks(path: Path, *, allow_passthrough: bool) -> list[Chunk]:
    decoder = Decoder(str(path), allow_passthrough=allow_passthrough, buffer_frames=10_000).start()
    out = []
    while (item := decoder.read(timeout=30)) is not END_OF_STREAM:
        assert isinstance(item, Chunk)
        out.append(item)
    decoder.close()
    return out


def _decode_pcm_source(path: Path, frames: int) -> Measurement:
    """The decoder thread's work for a non-Opus source (demux, decode, resample to 48 kHz)."""
    start = time.perf_counter_ns()
    chunks = _chunks(path, allow_passthrough=False)
    per = (time.perf_counter_ns() - start) / 1000.0 / max(1, len(chunks))
    return Measurement(f"decode {path.suffix[1:]} 44.1 kHz → 48 kHz (mean over the file)", per, per, per)


def collect(seconds: float = 10.0) -> dict[str, object]:
    frames = max(100, int(seconds * 50))
    audio = music_like(frames * FRAME_SAMPLES / 48000 + 0.5)
    pcm_frames: list[Frame] = [np.ascontiguousarray(audio[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES])
                               for i in range(frames)]
    results: list[Measurement] = []
    with tempfile.TemporaryDirectory() as tmp:
        webm = write_audio(Path(tmp) / "bench.webm", audio)
        mp3 = write_audio(Path(tmp) / "bench.mp3", music_like(frames * FRAME_SAMPLES / 48000, rate=44100), rate=44100)
        packets = [c.packet for c in _chunks(webm, allow_passthrough=True) if c.packet is not None][:frames]
        frames = min(frames, len(packets))

        opus = PacketDecoder()
        decode = _measure("decode Opus packet → PCM", lambda i: opus.decode(packets[i]), frames)
        results.append(decode)
        results.append(_decode_pcm_source(mp3, frames))

        encoder = OpusEncoder()
        encode = _measure("encode PCM → Opus", lambda i: encoder.encode(pcm_frames[i]), frames)
        results.append(encode)
        for complexity in (8, 6, 5):  # libopus's speed/quality knob (we keep 10: see voice/encoder.py)
            other = OpusEncoder(OpusSettings(complexity=complexity))
            results.append(_measure(f"encode PCM → Opus, complexity {complexity}",
                                    lambda i, e=other: e.encode(pcm_frames[i]), frames))  # type: ignore[misc]

        for label, obj in SINGLE_FILTERS.items():
            results.append(_measure_chain(f"filter {label}", parse_filters(obj), pcm_frames, frames))
        chain = _measure_chain("full chain (EQ+bass+timescale+rotation+tremolo+reverb)", parse_filters(FULL_CHAIN),
                               pcm_frames, frames)
        results.append(chain)
        output = _measure_output_stage(pcm_frames, frames)
        results.append(output)

        passthrough = _measure_engine("passthrough (engine, per packet)", FilterSettings(), packets, frames,
                                      normalize=False)
        transcode = _measure_engine("transcode, no filters (decode+normalize+limit+encode)", FilterSettings(),
                                    packets, frames, normalize=True)
        full = _measure_engine("full chain stream (decode+chain+normalize+limit+encode)",
                               parse_filters(FULL_CHAIN), packets, frames, normalize=True)
        results.extend([passthrough, transcode, full])

    base = decode.mean_us + encode.mean_us
    return {
        "machine": {"cpu": platform.processor() or platform.machine(), "python": platform.python_version()},
        "frames_per_measurement": frames,
        "measurements": [asdict(m) | {"streams_per_core": round(m.streams_per_core, 1)} for m in results],
        "ratios": {
            "decode_plus_encode_us": round(base, 1),
            "full_chain_over_decode_plus_encode": round((chain.mean_us + output.mean_us) / base, 3),
            "passthrough_over_decode_plus_encode": round(passthrough.mean_us / base, 4),
        },
        "streams_per_core": {
            "passthrough": round(passthrough.streams_per_core, 1),
            "transcode_no_filters": round(transcode.streams_per_core, 1),
            "full_chain": round(full.streams_per_core, 1),
        },
    }


def _measure_chain(name: str, settings: FilterSettings, pcm: list[Frame], frames: int) -> Measurement:
    chain = FilterChain(settings)
    source = iter(pcm * 3)

    def step(_: int) -> None:
        while not chain.ready:
            chain.push(next(source).copy())
        chain.pop()

    return _measure(name, step, frames)


def _measure_output_stage(pcm: list[Frame], frames: int) -> Measurement:
    engine = AudioEngine(normalize=True)
    return _measure("output stage (normalizer + limiter)", lambda i: engine._output_stage(pcm[i].copy()), frames)


def _measure_engine(name: str, settings: FilterSettings, packets: list[bytes], frames: int,
                    *, normalize: bool) -> Measurement:
    engine = AudioEngine(settings, normalize=normalize)
    engine.start_track(packet_mode=True)
    feed = iter([Chunk(i * FRAME_SAMPLES, packet=p) for i, p in enumerate(packets * 3)])
    return _measure(name, lambda _: engine.next_packet(lambda: next(feed)), frames)


def run_bench(seconds: float = 10.0, *, as_json: bool = False) -> int:
    report = collect(seconds)
    if as_json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"musicbot bench — {report['frames_per_measurement']} frames of 20 ms each; µs per frame\n")
    print(f"{'path':<62} {'p50':>8} {'p99':>8} {'mean':>8} {'streams/core':>13}")
    for m in report["measurements"]:  # type: ignore[attr-defined]
        print(
            f"{m['name']:<62} {m['p50_us']:>8.1f} {m['p99_us']:>8.1f} {m['mean_us']:>8.1f}"
            f" {m['streams_per_core']:>13.1f}"
        )
    ratios = report["ratios"]
    print(f"\ndecode + encode: {ratios['decode_plus_encode_us']} µs per frame")  # type: ignore[index]
    print(f"full chain (with output stage) ÷ (decode + encode): {ratios['full_chain_over_decode_plus_encode']}"  # type: ignore[index]
          "  (goal ≤ 1.5)")
    print(f"passthrough ÷ (decode + encode): {ratios['passthrough_over_decode_plus_encode']}  (goal ≤ 0.05)")  # type: ignore[index]
    return 0

