"""The FFmpeg design, in process: our full chain written as an FFmpeg filter graph, run through PyAV.

``musicbot bench --compare`` and ``benchmarks/compare.py`` measure it against our engine; the graph
strings built here are also what ``benchmarks/compare_ffmpeg.py`` hands to one ``ffmpeg`` process
per stream. The mapping, from ``bench.FULL_CHAIN`` (chain order as ours, dsp/chain.py):

* rotation 0.2 Hz → ``apulsator=hz=0.2``: its L/R gains swing linearly and in antiphase, so a centred
  source sits at −6 dB per side and the power dips 3 dB twice a turn; ours pans at constant power.
* tremolo → ``tremolo=f=4:d=0.5``: the same law (gain between 1 − d and 1).
* timescale speed 1.1, pitch 1.05 → ``asetrate`` (×1.05) + ``aresample`` + ``atempo`` (1.1/1.05): the
  same two stages as ours (resample for the pitch, a WSOLA-like time stretch for the rest).
* equalizer → one ``equalizer`` (RBJ peaking biquad) per band whose gain is not 0, with Lavalink's
  peak gain 1 + 4·gain and the Q of its band-pass (exact: β = (1 − α)/(1 + α), α = sin ω₀ / 2Q). Ours
  adds the 15 band-passes in parallel, so neighbouring skirts add; FFmpeg's cascade multiplies them.
* bassBoost 8 dB at 110 Hz → ``bass=g=8:f=110:t=q:w=0.707``: a second-order low shelf with
  Butterworth poles like ours; FFmpeg puts f at half the boost in dB, ours 3 dB under full boost.
* reverb → ``aecho``: six discrete echoes 31–139 ms (dry = dryLevel, echoes scaled by wetLevel), what
  FFmpeg-based bots call a reverb: no dense tail, a few taps per sample. Ours is an 8-line feedback
  delay network with a 1.4 s RT60 (roomSize 0.6). The variant ``reverb="afir"`` convolves with a 1.4 s
  stereo tail of exponentially decaying noise (``aevalsrc`` → ``afir``), as dense as ours.
* normalizer → ``loudnorm=I=-14:TP=-1:LRA=11`` (EBU R128, dynamic mode: it upsamples to 192 kHz for
  its true-peak detection, hence the ``aresample`` after it) like ours at −14 LUFS; the variant
  ``normalizer="dynaudnorm"`` is FFmpeg's cheap peak-based normalizer (no LUFS target).
* limiter → ``alimiter``, ceiling −1 dBFS, 1.5 ms attack, 80 ms release, auto-level off: as ours.

The encoder is libopus as ours is set up (voice/encoder.py): 128 kbps VBR, complexity 10, 20 ms
frames, application audio, in-band FEC off (FFmpeg's default; ours also hints 15 % loss, which costs
no CPU in CELT-only mode: docs/benchmarks.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from musicbot.bench import FULL_CHAIN
from musicbot.dsp.equalizer import EQ_BETAS
from musicbot.dsp.frame import FRAME_SAMPLES, SAMPLE_RATE_HZ
from musicbot.dsp.params import EQ_BAND_CENTRES_HZ
from musicbot.voice.encoder import BITRATE_BPS

# libopus's and FFmpeg's default complexity (compression_level), and the one our encoder runs at
# (voice/encoder.py): the floor and the FFmpeg design encode at it.
COMPLEXITY = 10
LIMITER_CEILING_DBFS = -1.0  # dsp/limiter.py's default, as the engine builds it
TARGET_LUFS = -14.0  # voice/engine.py's DEFAULT_TARGET_LUFS
ECHO_DELAYS_MS = (31, 47, 67, 89, 113, 139)
ECHO_DECAYS = (1.0, 0.85, 0.7, 0.6, 0.5, 0.4)  # times wetLevel
_IR_DECAY_NEPERS = 3.0 * math.log(10.0)  # amplitude falls by 60 dB (e^-6.9) over one RT60


@dataclass(frozen=True)
class FfmpegFilter:
    """One filter of a linear graph, as FFmpeg's ``name=args``. ``side_input`` (afir only) is a source
    filter ``name=args`` whose output goes to this filter's second input."""

    name: str
    args: str
    side_input: str | None = None

    @property
    def text(self) -> str:
        return f"{self.name}={self.args}" if self.args else self.name


def _equalizer(bands: Sequence[dict[str, float]]) -> list[FfmpegFilter]:
    out = []
    for band in bands:
        index, gain = int(band["band"]), float(band["gain"])
        if gain == 0.0:
            continue
        beta = EQ_BETAS[index]
        omega = 2.0 * math.pi * EQ_BAND_CENTRES_HZ[index] / SAMPLE_RATE_HZ
        q = math.sin(omega) * (1.0 + beta) / (2.0 * (1.0 - beta))
        gain_db = 20.0 * math.log10(max(1e-3, 1.0 + 4.0 * gain))
        out.append(FfmpegFilter("equalizer", f"f={EQ_BAND_CENTRES_HZ[index]:g}:t=q:w={q:.4f}:g={gain_db:.3f}"))
    return out


def _reverb_aecho(params: dict[str, float]) -> FfmpegFilter:
    delays = "|".join(str(d) for d in ECHO_DELAYS_MS)
    decays = "|".join(f"{params['wetLevel'] * d:.3f}" for d in ECHO_DECAYS)
    return FfmpegFilter("aecho", f"in_gain={params['dryLevel']:g}:out_gain=1:delays={delays}:decays={decays}")


def _reverb_afir(params: dict[str, float]) -> FfmpegFilter:
    from musicbot.dsp.reverb import rt60_seconds

    rt60 = rt60_seconds(params["roomSize"])
    # Uniform noise in ±a has power a²/3; summed over the decaying tail it is a²/3 · RT60·fs / (2·6.9):
    # this a makes the tail's power wetLevel², as a wet gain means it.
    amplitude = params["wetLevel"] * math.sqrt(3.0 * 2.0 * _IR_DECAY_NEPERS / (rt60 * SAMPLE_RATE_HZ))
    channel = [f"if(eq(n\\,0)\\,{params['dryLevel']:g}\\,0)"
               f"+{amplitude:.6f}*(2*random({seed})-1)*exp(-{_IR_DECAY_NEPERS:.4f}*t/{rt60:.3f})"
               for seed in (0, 1)]  # two seeds: the left and right tails are uncorrelated
    source = f"exprs={'|'.join(channel)}:c=stereo:s={SAMPLE_RATE_HZ}:d={rt60:.3f}"
    return FfmpegFilter("afir", "irnorm=-1", side_input=f"aevalsrc={source}")


def output_stage(normalizer: str = "loudnorm") -> list[FfmpegFilter]:
    """Normalizer and limiter: ours is on by default, so "transcode" means these two."""
    ceiling = 10.0 ** (LIMITER_CEILING_DBFS / 20.0)
    limiter = FfmpegFilter("alimiter", f"limit={ceiling:.6f}:attack=1.5:release=80:level=disabled")
    if normalizer == "dynaudnorm":
        return [FfmpegFilter("dynaudnorm", ""), limiter]
    if normalizer != "loudnorm":
        raise ValueError(f"unknown normalizer {normalizer!r}")
    return [FfmpegFilter("loudnorm", f"I={TARGET_LUFS:g}:TP={LIMITER_CEILING_DBFS:g}:LRA=11"),
            FfmpegFilter("aresample", str(SAMPLE_RATE_HZ)), limiter]


def full_chain(*, reverb: str = "aecho", normalizer: str = "loudnorm") -> list[FfmpegFilter]:
    """``FULL_CHAIN`` in our chain's order, then the output stage."""
    timescale: dict[str, float] = FULL_CHAIN["timescale"]  # type: ignore[assignment]
    rotation: dict[str, float] = FULL_CHAIN["rotation"]  # type: ignore[assignment]
    tremolo: dict[str, float] = FULL_CHAIN["tremolo"]  # type: ignore[assignment]
    bass: dict[str, float] = FULL_CHAIN["bassBoost"]  # type: ignore[assignment]
    room: dict[str, float] = FULL_CHAIN["reverb"]  # type: ignore[assignment]
    ratio = timescale["pitch"] * timescale["rate"]
    tempo = timescale["speed"] / timescale["pitch"]
    if reverb not in ("aecho", "afir"):
        raise ValueError(f"unknown reverb {reverb!r}")
    return [
        FfmpegFilter("apulsator", f"hz={rotation['rotationHz']:g}"),
        FfmpegFilter("tremolo", f"f={tremolo['frequency']:g}:d={tremolo['depth']:g}"),
        FfmpegFilter("asetrate", str(round(SAMPLE_RATE_HZ * ratio))),
        FfmpegFilter("aresample", str(SAMPLE_RATE_HZ)),
        FfmpegFilter("atempo", f"{tempo:.6f}"),
        *_equalizer(FULL_CHAIN["equalizer"]),  # type: ignore[arg-type]
        FfmpegFilter("bass", f"g={bass['gainDb']:g}:f={bass['frequencyHz']:g}:t=q:w=0.707"),
        _reverb_aecho(room) if reverb == "aecho" else _reverb_afir(room),
        *output_stage(normalizer),
    ]


def graph_text(filters: Sequence[FfmpegFilter]) -> str:
    """The chain as one ``-af`` argument for the ``ffmpeg`` command (linear graphs only)."""
    if any(f.side_input for f in filters):
        raise ValueError("a filter with a side input needs -filter_complex, not -af")
    return ",".join(f.text for f in filters)


def opus_encoder() -> Any:
    """A PyAV libopus context set up as ours (module doc); FEC, loss hint: FFmpeg's defaults (off, 0)."""
    context: Any = av.CodecContext.create("libopus", "w")
    context.sample_rate = SAMPLE_RATE_HZ
    context.layout = "stereo"
    context.format = "flt"
    context.bit_rate = BITRATE_BPS
    context.options = {"application": "audio", "frame_duration": "20", "compression_level": str(COMPLEXITY)}
    context.open()
    return context


@dataclass(frozen=True)
class OpusInput:
    """A generated source as the designs get it: its 20 ms Opus packets, demuxed once."""

    packets: tuple[bytes, ...]
    extradata: bytes | None  # the OpusHead FFmpeg's decoder reads the pre-skip and channel map from


def read_opus(path: Path) -> OpusInput:
    with av.open(str(path)) as container:
        stream: Any = container.streams.audio[0]
        packets = tuple(bytes(p) for p in container.demux(stream) if p.size)
        return OpusInput(packets, stream.codec_context.extradata)


class GraphStream:
    """One stream of the FFmpeg design: FFmpeg's Opus decoder → filter graph → libopus, all in PyAV.

    With no filters it is the codec floor (decode + encode). ``run`` feeds packets and returns how many
    Opus packets came out; ``keep`` collects them (tests decode them back)."""

    def __init__(self, source: OpusInput, filters: Sequence[FfmpegFilter] = (), *, keep: bool = False) -> None:
        self._decoder: Any = av.CodecContext.create("opus", "r")
        self._decoder.sample_rate = SAMPLE_RATE_HZ
        self._decoder.layout = "stereo"
        if source.extradata:
            self._decoder.extradata = source.extradata
        self._encoder = opus_encoder()
        self._graph = _build_graph(filters) if filters else None
        self._pts = 0
        self.kept: list[bytes] | None = [] if keep else None

    def run(self, packets: Sequence[bytes], *, finish: bool = True) -> int:
        produced = 0
        for data in packets:
            packet = av.Packet(data)
            packet.pts = packet.dts = self._pts
            packet.time_base = Fraction(1, SAMPLE_RATE_HZ)
            self._pts += FRAME_SAMPLES
            for frame in self._decoder.decode(packet):
                produced += self._filter_and_encode(frame)
        if finish:
            for frame in self._decoder.decode(None):
                produced += self._filter_and_encode(frame)
            produced += self._filter_and_encode(None)
        return produced

    def _filter_and_encode(self, frame: Any) -> int:
        if self._graph is None:
            return self._encode(frame)
        self._graph.push(frame)
        produced = 0
        while True:
            try:
                produced += self._encode(self._graph.pull())
            except (av.BlockingIOError, av.EOFError):
                break
        if frame is None:
            produced += self._encode(None)
        return produced

    def _encode(self, frame: Any) -> int:
        packets = self._encoder.encode(frame)
        if self.kept is not None:
            self.kept.extend(bytes(p) for p in packets)
        return len(packets)


def _build_graph(filters: Sequence[FfmpegFilter]) -> Any:
    graph: Any = av.filter.Graph()
    graph.threads = 1  # one stream, one thread, as our engine; slice threads cost more than they save here
    previous = graph.add_abuffer(sample_rate=SAMPLE_RATE_HZ, format="fltp", layout="stereo",
                                 time_base=Fraction(1, SAMPLE_RATE_HZ))
    for spec in filters:
        node = graph.add(spec.name, spec.args or None)
        previous.link_to(node, 0, 0)
        if spec.side_input is not None:
            name, _, args = spec.side_input.partition("=")
            graph.add(name, args).link_to(node, 0, 1)
        previous = node
    formatted = graph.add("aformat", f"sample_fmts=flt:sample_rates={SAMPLE_RATE_HZ}:channel_layouts=stereo")
    previous.link_to(formatted)
    formatted.link_to(graph.add("abuffersink"))
    graph.configure()
    graph.set_audio_frame_size(FRAME_SAMPLES)  # whole 20 ms frames for the encoder
    return graph
