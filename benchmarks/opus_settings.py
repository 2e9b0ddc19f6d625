"""Opus encoder settings: encode cost and quality under packet loss, to choose the default from numbers.

    python -m benchmarks.opus_settings [--seconds N] [--reps N] [--out PATH]

Inputs are generated (deterministic seeds, no files, no network): "music" (harmonic tones with
vibrato, noise-burst percussion and a bass line, stereo with some width) and "speech" (a pitched,
formant-filtered pulse train with syllable envelopes and pauses). Each is encoded as the bot does
(48 kHz stereo float32, 20 ms frames, 128 kbps VBR, ``RawOpusEncoder``) for every cell of the grid
complexity {5, 8, 10} x (FEC off, telling the encoder to expect 0, 5 or 15 % loss; FEC on expecting
2, 5, 10, 15 % loss). Per cell:

* encode CPU time per frame (``time.process_time``, median of ``--reps`` runs with a fresh encoder),
  also as a ratio to the cheapest cell of the same input in the same run (the machine is noisy);
* the share of packets in SILK-only / hybrid mode, read from the TOC byte (config = toc >> 3:
  0-11 SILK, 12-15 hybrid, 16-31 CELT), and the mean packet size;
* quality after decoding with seeded random (Bernoulli) loss of 0, 2, 5, 10 % of packets. The same
  loss pattern is used for every cell. A lost packet is rebuilt from the next packet's in-band FEC
  when that one arrived (``decode_fec=1``; libopus falls back to concealment when it carries no
  FEC), else by packet loss concealment. The output is aligned for the encoder's lookahead.

Quality measures (objective distances, proxies, not a perceptual score like PEAQ/POLQA/ViSQOL):
``LSD``: log-spectral distance in dB over 24 ERB-spaced band energies (50 Hz-20 kHz, 2048-point
Hann windows every 20 ms, per channel), RMS over bands, mean over active frames (reference frame
within 50 dB of the loudest); band energies more than 60 dB under the loudest band are floored.
It sees spectral envelope errors (missing bands, smeared concealment, level dips) but not phase
or masking. ``segSNR``: segmental SNR in dB per 20 ms frame, clamped to [-10, 35], mean over the
same active frames: it punishes any waveform difference, including ones a listener never hears
(CELT's band folding and stereo coding are not waveform-preserving), so it is low even at 0 %
loss and is useful only to compare cells with each other.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import platform
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import signal as sps

from musicbot.voice.opus import MAX_FRAME_SAMPLES, OpusLibraryError, RawOpusEncoder, _lib

Audio = npt.NDArray[np.float32]
RATE = 48_000
FRAME = 960  # 20 ms
BITRATE_BPS = 128_000
COMPLEXITIES = (5, 8, 10)
# (in-band FEC, expected loss % told to the encoder). The hint alone also changes CELT: with a
# non-zero hint it leans less on the previous frame (energy prediction, pitch pre-filter), so the
# "FEC off" rows with a hint separate what the hint does from what the FEC does.
FEC_SETTINGS = ((False, 0), (False, 5), (False, 15), (True, 2), (True, 5), (True, 10), (True, 15))
LOSS_RATES = (0, 2, 5, 10)
LOSS_SEED = 1234


@dataclass(frozen=True)
class Cell:
    complexity: int
    fec: bool
    loss_hint_pct: int  # OPUS_SET_PACKET_LOSS_PERC: sizes the FEC, and makes CELT more loss-robust

    @property
    def label(self) -> str:
        return f"c{self.complexity}, FEC {'on' if self.fec else 'off'}, loss hint {self.loss_hint_pct} %"

    def encoder(self) -> RawOpusEncoder:
        return RawOpusEncoder(bitrate_bps=BITRATE_BPS, complexity=self.complexity, fec=self.fec,
                              packet_loss_pct=self.loss_hint_pct)


GRID = tuple(Cell(c, fec, hint) for c in COMPLEXITIES for fec, hint in FEC_SETTINGS)
PRODUCTION = Cell(10, True, 15)  # musicbot/voice/encoder.py today


# ---------------------------------------------------------------- inputs

def _envelope(onsets: npt.NDArray[np.float64], n: int, decay_s: float) -> npt.NDArray[np.float64]:
    t = np.arange(n) / RATE
    out = np.zeros(n)
    for onset in onsets:
        i = int(onset * RATE)
        out[i:] += np.exp(-(t[: n - i]) / decay_s)
    return out


def music(seconds: float, seed: int = 1) -> Audio:
    """Chords of harmonic tones with vibrato, a bass line, noise-burst percussion; stereo with width."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    left, right = np.zeros(n), np.zeros(n)
    chord_len = 2.0
    roots = 220.0 * 2 ** (rng.choice([0, 3, 5, 7, 8, 10], size=int(seconds / chord_len) + 1) / 12)
    root = roots[(t // chord_len).astype(int)]
    for k, ratio in enumerate((1.0, 1.26, 1.5, 2.0)):
        vib = 1 + 0.004 * np.sin(2 * np.pi * (5 + k * 0.3) * t + rng.uniform(0, 6))
        phase = 2 * np.pi * np.cumsum(root * ratio * vib) / RATE
        voice = sum(np.sin(h * phase + rng.uniform(0, 6)) / h**1.3 for h in range(1, 9))
        pan = 0.5 + 0.35 * (k / 3 - 0.5) * 2  # spread the voices from left to right
        left += 0.08 * voice * np.sqrt(1 - pan)
        right += 0.08 * voice * np.sqrt(pan)
    bass_f = root / 4 * 2 ** (rng.choice([0, 7, 12], size=n // (RATE // 2) + 1)[np.arange(n) // (RATE // 2)] / 12)
    bass = np.sin(2 * np.pi * np.cumsum(bass_f) / RATE)
    bass = np.tanh(2 * bass) * 0.25 * _envelope(np.arange(0, seconds, 0.5), n, 0.35)
    beats = np.arange(0, seconds, 0.25)
    kick_hat = rng.standard_normal((2, n))
    hats = sps.lfilter(*sps.butter(2, 6000, "high", fs=RATE), kick_hat) * _envelope(beats, n, 0.03)
    snare = sps.lfilter(*sps.butter(2, [300, 4000], "band", fs=RATE), kick_hat) * _envelope(beats[2::4], n, 0.12)
    left += bass + 0.15 * hats[0] + 0.3 * snare[0]
    right += bass + 0.15 * hats[1] + 0.3 * snare[1]
    out: npt.NDArray[np.float64] = np.stack([left, right], axis=1)
    return (0.5 / float(np.abs(out).max()) * out).astype(np.float32)


def speech(seconds: float, seed: int = 2) -> Audio:
    """A glottal pulse train (gliding pitch) through moving formant resonators, in syllables with pauses."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    f0 = 140 * (1 + 0.15 * np.sin(2 * np.pi * 0.7 * t) + 0.05 * np.sin(2 * np.pi * 3.1 * t))
    phase = np.cumsum(f0) / RATE
    pulses = np.diff(np.floor(phase), prepend=0.0)
    source = sps.lfilter([1.0], [1.0, -0.97], pulses) + 0.02 * rng.standard_normal(n)
    vowels = np.array([[730, 1090, 2440], [270, 2290, 3010], [530, 1840, 2480], [570, 840, 2410], [300, 870, 2240]])
    out = np.zeros(n)
    envelope = np.zeros(n)
    pos = 0
    while pos < n:
        length = int(rng.uniform(0.15, 0.3) * RATE)
        end = min(pos + length, n)
        formants = vowels[rng.integers(len(vowels))]
        seg = source[max(pos - 2048, 0): end]  # filter from a little earlier: no start-up click
        for f, bw in zip(formants, (80, 100, 140), strict=True):
            r = np.exp(-np.pi * bw / RATE)
            seg = sps.lfilter([1 - r], [1.0, -2 * r * np.cos(2 * np.pi * f / RATE), r * r], seg) * 3
        out[pos:end] = seg[-(end - pos):]
        envelope[pos:end] = np.sin(np.pi * np.arange(end - pos) / length) ** 0.7
        pos = end + (int(rng.uniform(0.3, 0.7) * RATE) if rng.random() < 0.3 else int(0.03 * RATE))
    out *= envelope
    mono = 0.4 * out / np.abs(out).max()
    return np.stack([mono, mono], axis=1).astype(np.float32)


INPUTS = {"music": music, "speech": speech}


# ---------------------------------------------------------------- codec

def frames_of(audio: Audio) -> list[Audio]:
    """Whole 20 ms frames, each C-contiguous (the encoder reads interleaved float32)."""
    return [np.ascontiguousarray(audio[i:i + FRAME]) for i in range(0, len(audio) - FRAME + 1, FRAME)]


def encode(frames: Sequence[Audio], cell: Cell) -> tuple[list[bytes], float]:
    """The packets, and the encode CPU time per frame in µs (one run, fresh encoder)."""
    encoder = cell.encoder()
    addresses = [f.ctypes.data for f in frames]
    start = time.process_time()
    packets = [encoder.encode(a, FRAME) for a in addresses]
    elapsed = time.process_time() - start
    return packets, elapsed / len(frames) * 1e6


def lookahead(cell: Cell) -> int:
    return cell.encoder().lookahead_samples


def mode_shares(packets: Sequence[bytes]) -> tuple[float, float]:
    """(SILK-only share, hybrid share) of the packets, from each TOC byte's config number."""
    configs = np.array([p[0] >> 3 for p in packets])
    return float(np.mean(configs <= 11)), float(np.mean((configs >= 12) & (configs <= 15)))


class FecDecoder:
    """A float libopus decoder with in-band FEC and concealment.

    Defined here, not in musicbot/voice/opus.py: ``RawOpusDecoder`` (what the bot uses) decodes to
    int16 and has no ``decode_fec`` flag, and the bot never needs FEC decoding (Discord's clients do
    it). It uses the same library handle, ``opus._lib()``, so the same libopus build is measured.
    """

    def __init__(self) -> None:
        lib = _lib()
        error = ctypes.c_int(0)
        state = lib.opus_decoder_create(RATE, 2, ctypes.byref(error))
        if not state or error.value != 0:
            raise OpusLibraryError(f"opus_decoder_create failed ({error.value})")
        self._state = ctypes.c_void_p(state)
        self._destroy = lib.opus_decoder_destroy
        self._decode = lib.opus_decode_float
        self._decode.restype = ctypes.c_int
        self._decode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32, ctypes.c_void_p, ctypes.c_int,
                                 ctypes.c_int]
        self._out = np.zeros((MAX_FRAME_SAMPLES, 2), np.float32)

    def decode(self, packet: bytes | None, *, fec: bool = False) -> Audio:
        """One 20 ms frame: ``packet`` decoded, or (``fec``) the frame before it rebuilt from its
        FEC, or (``packet`` None) concealed."""
        size = self._decode(self._state, packet, 0 if packet is None else len(packet), self._out.ctypes.data,
                            FRAME, int(fec))
        if size != FRAME:
            raise OpusLibraryError(f"opus_decode_float returned {size}")
        return self._out[:FRAME].copy()

    def __del__(self) -> None:
        state = getattr(self, "_state", None)
        if state is not None and state.value:
            self._destroy(state)
            state.value = None


def loss_pattern(count: int, loss_pct: float, seed: int = LOSS_SEED) -> npt.NDArray[np.bool_]:
    """True where the packet is lost: seeded Bernoulli loss, the same for every cell."""
    return np.random.default_rng(seed).random(count) < loss_pct / 100


def decode_with_loss(packets: Sequence[bytes], lost: npt.NDArray[np.bool_], *, use_fec: bool = True) -> Audio:
    """The packets decoded as a receiver would: a lost packet rebuilt from the next one's FEC when
    that one arrived (and ``use_fec``), else concealed."""
    decoder = FecDecoder()
    out = []
    for i, packet in enumerate(packets):
        if not lost[i]:
            out.append(decoder.decode(packet))
        elif use_fec and i + 1 < len(packets) and not lost[i + 1]:
            out.append(decoder.decode(packets[i + 1], fec=True))
        else:
            out.append(decoder.decode(None))
    return np.concatenate(out)


# ---------------------------------------------------------------- distances

_NFFT = 2048
_ERB = np.linspace(21.4 * np.log10(1 + 0.00437 * 50), 21.4 * np.log10(1 + 0.00437 * 20_000), 25)
_EDGES = np.round((10 ** (_ERB / 21.4) - 1) / 0.00437 / (RATE / _NFFT)).astype(int)  # FFT bin per band edge


def aligned(reference: Audio, decoded: Audio, delay: int) -> tuple[Audio, Audio]:
    """Input and output, cut so that ``decoded`` (late by ``delay`` samples) lines up with ``reference``."""
    n = min(len(reference), len(decoded) - delay)
    return reference[:n], decoded[delay:delay + n]


def _band_energies(audio: Audio) -> npt.NDArray[np.float64]:
    """(frames, channels, 24) band energies, 2048-point Hann windows every 20 ms."""
    window = np.hanning(_NFFT)
    starts = range(0, len(audio) - _NFFT + 1, FRAME)
    blocks = np.stack([audio[s:s + _NFFT].T * window for s in starts])
    power = np.abs(np.fft.rfft(blocks, axis=-1)) ** 2
    cumulative = np.concatenate([np.zeros((*power.shape[:-1], 1)), np.cumsum(power, axis=-1)], axis=-1)
    return np.asarray(cumulative[..., _EDGES[1:]] - cumulative[..., _EDGES[:-1]])


def _active(energy: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    return np.asarray(energy > energy.max() * 1e-5)  # within 50 dB of the loudest frame


def log_spectral_distance(reference: Audio, decoded: Audio) -> float:
    """Mean over active frames of the RMS (over 24 bands, per channel) of the band-energy error in dB."""
    ref, dec = _band_energies(reference), _band_energies(decoded)
    floor = ref.max() * 1e-6
    diff = 10 * np.log10(np.maximum(ref, floor)) - 10 * np.log10(np.maximum(dec, floor))
    per_frame = np.sqrt(np.mean(diff**2, axis=-1)).mean(axis=-1)
    return float(per_frame[_active(ref.sum(axis=(1, 2)))].mean())


def segmental_snr(reference: Audio, decoded: Audio) -> float:
    """Mean over active 20 ms frames of the SNR in dB, each clamped to [-10, 35]."""
    n = len(reference) // FRAME * FRAME
    ref = reference[:n].astype(np.float64).reshape(-1, FRAME * 2)
    err = ref - decoded[:n].astype(np.float64).reshape(-1, FRAME * 2)
    signal_energy, noise_energy = (ref**2).sum(axis=1), (err**2).sum(axis=1)
    snr = np.clip(10 * np.log10((signal_energy + 1e-12) / (noise_energy + 1e-12)), -10, 35)
    return float(snr[_active(signal_energy)].mean())


# ---------------------------------------------------------------- the run

@dataclass
class Result:
    cell: Cell
    us_per_frame: float
    silk_share: float
    hybrid_share: float
    mean_bytes: float
    lsd_db: dict[int, float]  # by loss %
    seg_snr_db: dict[int, float]


def quality(audio: Audio, packets: Sequence[bytes], delay: int, loss_pct: float) -> tuple[float, float]:
    """(log-spectral distance dB, segmental SNR dB) after decoding with ``loss_pct`` % packet loss."""
    decoded = decode_with_loss(packets, loss_pattern(len(packets), loss_pct))
    ref, dec = aligned(audio, decoded, delay)
    return log_spectral_distance(ref, dec), segmental_snr(ref, dec)


def measure(audio: Audio, cells: Sequence[Cell] = GRID, losses: Sequence[int] = LOSS_RATES,
            reps: int = 3) -> list[Result]:
    frames = frames_of(audio)
    results = []
    for cell in cells:
        timings = []
        for _ in range(reps):
            packets, us = encode(frames, cell)
            timings.append(us)
        silk, hybrid = mode_shares(packets)
        delay = lookahead(cell)
        scores = {loss: quality(audio, packets, delay, loss) for loss in losses}
        results.append(Result(cell, statistics.median(timings), silk, hybrid,
                              float(np.mean([len(p) for p in packets])),
                              {k: v[0] for k, v in scores.items()}, {k: v[1] for k, v in scores.items()}))
    return results


def table(name: str, results: Sequence[Result]) -> str:
    losses = list(results[0].lsd_db)
    cheapest = min(r.us_per_frame for r in results)
    head = (["settings", "µs/frame", "× cheapest", "SILK %", "hybrid %", "bytes/pkt"]
            + [f"LSD {loss}%" for loss in losses] + [f"segSNR {loss}%" for loss in losses])
    lines = [f"**{name}** (LSD and segSNR in dB; LSD lower is better, segSNR higher is better)", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        row = [r.cell.label, f"{r.us_per_frame:.0f}", f"{r.us_per_frame / cheapest:.2f}",
               f"{100 * r.silk_share:.0f}", f"{100 * r.hybrid_share:.0f}", f"{r.mean_bytes:.0f}"]
        row += [f"{r.lsd_db[loss]:.2f}" for loss in losses] + [f"{r.seg_snr_db[loss]:.1f}" for loss in losses]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def machine() -> str:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    lib = _lib()
    lib.opus_get_version_string.restype = ctypes.c_char_p
    version = lib.opus_get_version_string().decode()
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {version}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each generated input")
    parser.add_argument("--reps", type=int, default=3, help="encode runs per cell (the median is kept)")
    parser.add_argument("--out", type=Path, help="also write the markdown tables to this file")
    args = parser.parse_args(argv)
    parts = [f"Machine: {machine()}. Inputs {args.seconds:g} s each, 128 kbps VBR, 20 ms frames; "
             f"µs/frame: median encode CPU time of {args.reps} runs."]
    for name, make in INPUTS.items():
        parts.append(table(name, measure(make(args.seconds), reps=args.reps)))
    text = "\n\n".join(parts) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
