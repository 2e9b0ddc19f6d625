"""``musicbot render``: the exact engine path of a guild, run offline from a file to a file.

The decoder thread, filter chain, normalizer, limiter, encoder and passthrough are the ones
playback uses; only the pacing differs (as fast as the CPU allows instead of every 20 ms).
"""

from __future__ import annotations

import fractions
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from musicbot.audio import END_OF_STREAM, Pull
from musicbot.dsp.frame import CHANNELS, FRAME_SAMPLES, SAMPLE_RATE_HZ, Frame
from musicbot.dsp.params import FilterSettings
from musicbot.errors import MediaError
from musicbot.sources.decoder import Decoder
from musicbot.sources.errors import BadMediaError
from musicbot.voice.encoder import OpusEncoder
from musicbot.voice.engine import AudioEngine

WAV_SUFFIXES = (".wav",)
OPUS_SUFFIXES = (".ogg", ".opus")
READ_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class RenderReport:
    frames: int
    passthrough_frames: int
    samples: int  # 48 kHz samples written
    damage: str | None = None  # what was wrong with the input, when only part of it could be read

    @property
    def seconds(self) -> float:
        return self.samples / SAMPLE_RATE_HZ


def render(
    source: str,
    destination: Path,
    filters: FilterSettings,
    *,
    volume: float = 1.0,
    normalize: bool = True,
    target_lufs: float = -14.0,
) -> RenderReport:
    """Render ``source`` (any path or URL PyAV reads) to ``destination`` (.wav, .ogg or .opus).

    The output is sample-aligned with the input and as long (unless a time-stretch changes it):
    the engine's latency (``AudioEngine.latency_samples``) is dropped at the start and its tail
    flushed at the end. Raises ``MediaError`` with a one-line reason for anything the user can fix.
    A damaged input (cut short, corrupt in places) is rendered as far as it can be read and the
    report's ``damage`` says what was wrong.
    """
    suffix = destination.suffix.lower()
    if suffix not in WAV_SUFFIXES + OPUS_SUFFIXES:
        raise MediaError(f"Cannot write {destination.name}: the output must end in .wav, .ogg or .opus")
    if not destination.parent.is_dir():
        raise MediaError(f"Cannot write {destination}: folder {destination.parent} does not exist")
    engine = AudioEngine(filters, volume=volume, normalize=normalize, target_lufs=target_lufs)
    # Opus packets are carried only where they can go out unchanged. Every other render has PyAV
    # decode the Opus source, which honours its pre-skip and end trimming, so that the output
    # starts and ends where the input does.
    decoder = Decoder(source, allow_passthrough=suffix in OPUS_SUFFIXES and engine.transparent).start()
    damage: list[BadMediaError] = []
    try:
        try:
            decoder.wait_open(timeout=READ_TIMEOUT_S)
        except MediaError as err:  # the decoder's words say what is wrong, not which file
            raise type(err)(str(err) if source in str(err) else f"Cannot open {source}: {err}") from err
        engine.start_track(packet_mode=decoder.packet_mode)

        def pull() -> Any:
            try:
                return decoder.read(timeout=READ_TIMEOUT_S)
            except BadMediaError as err:  # what could be read is rendered; the damage is reported
                damage.append(err)
                return END_OF_STREAM

        # Written beside the destination and renamed at the end, so a failure never leaves a
        # half-written file that looks complete.
        partial = destination.with_name(destination.name + ".part")
        try:
            if decoder.packet_mode:
                samples = _copy_packets(partial, engine, pull, suffix)
            elif suffix in WAV_SUFFIXES:
                samples = _write_wav(partial, _aligned_pcm(engine, pull, decoder))
            else:
                samples = _write_opus(partial, _aligned_pcm(engine, pull, decoder), suffix)
            partial.replace(destination)
        finally:
            partial.unlink(missing_ok=True)
    finally:
        decoder.close()
    frames = engine.stats.dsp_frames + engine.stats.passthrough_frames
    return RenderReport(frames, engine.stats.passthrough_frames, samples, str(damage[0]) if damage else None)


def _aligned_pcm(engine: AudioEngine, pull: Pull, decoder: Decoder) -> Iterator[Frame]:
    """The engine's PCM without its latency at the start, with its tail at the end, cut to the
    number of samples decoded (the last frame is padded to 20 ms) unless a time-stretch is on."""
    skip = engine.latency_samples
    held: Frame | None = None
    written = 0
    while (frame := engine.next_pcm(pull)) is not None:
        cut = min(skip, len(frame))
        frame, skip = frame[cut:], skip - cut
        if held is not None:
            yield held
            written += len(held)
        held = frame
    if held is None:
        return
    tail = np.concatenate([held, engine.flush()[skip:]])
    if decoder.decoded_samples is not None and not engine.chain.stretching:
        tail = tail[: max(0, decoder.decoded_samples - written)]
    yield tail


def _write_wav(path: Path, pcm: Iterator[Frame]) -> int:
    samples = 0
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE_HZ)
        for block in pcm:
            out.writeframes(_to_s16(block))
            samples += len(block)
    return samples


def _open_opus(path: Path, suffix: str) -> tuple[Any, Any, int]:
    """The output container and its Opus stream, and the pre-skip its header declares."""
    header = OpusEncoder().codec_context.extradata  # OpusHead (stereo, 48 kHz, pre-skip) of our packets
    try:
        out = av.open(str(path), "w", format="opus" if suffix == ".opus" else "ogg")
    except av.error.FFmpegError as err:
        raise MediaError(f"Cannot write {path}: {err}") from err
    stream = out.add_stream("libopus", rate=SAMPLE_RATE_HZ)
    stream.codec_context.layout = "stereo"
    stream.codec_context.extradata = header
    return out, stream, int.from_bytes(header[10:12], "little")  # RFC 7845 §5.1: bytes 10-11


def _mux(out: Any, stream: Any, data: bytes, pts: int, duration: int = FRAME_SAMPLES) -> None:
    packet = av.Packet(data)
    packet.stream = stream
    packet.pts = packet.dts = pts
    packet.duration = duration
    packet.time_base = fractions.Fraction(1, SAMPLE_RATE_HZ)
    out.mux(packet)


def _copy_packets(path: Path, engine: AudioEngine, pull: Pull, suffix: str) -> int:
    """Passthrough: the source's packets, as they are."""
    out, stream, _ = _open_opus(path, suffix)
    frames = 0
    try:
        while (data := engine.next_packet(pull)) is not None:
            _mux(out, stream, data, frames * FRAME_SAMPLES)
            frames += 1
    finally:
        out.close()
    return frames * FRAME_SAMPLES


def _write_opus(path: Path, pcm: Iterator[Frame], suffix: str) -> int:
    """Encode PCM in 20 ms packets. Decoders drop the header's pre-skip (the encoder's delay) at the
    start and stop at the last packet's end (its pts + duration, the Ogg granule position): so the
    audio is flushed out of the encoder with silence, and the last packet ends where it does."""
    out, stream, pre_skip = _open_opus(path, suffix)
    encoder = OpusEncoder()
    pending = np.zeros((0, CHANNELS), np.float32)
    samples = packets = 0
    try:
        for block in pcm:
            pending = np.concatenate([pending, block])
            samples += len(block)
            while len(pending) >= FRAME_SAMPLES:
                data = encoder.encode(np.ascontiguousarray(pending[:FRAME_SAMPLES]))
                _mux(out, stream, data, packets * FRAME_SAMPLES)
                pending, packets = pending[FRAME_SAMPLES:], packets + 1
        end = samples + pre_skip  # in the encoder's output timeline
        while packets * FRAME_SAMPLES < end:
            frame = np.zeros((FRAME_SAMPLES, CHANNELS), np.float32)
            frame[: len(pending)] = pending
            pending = pending[:0]
            start = packets * FRAME_SAMPLES
            _mux(out, stream, encoder.encode(frame), start, min(FRAME_SAMPLES, end - start))
            packets += 1
    finally:
        out.close()
    return samples


def _to_s16(frame: Frame) -> bytes:
    # The limiter keeps samples within full scale; the clip only guards float rounding at 1.0.
    return (np.clip(frame, -1.0, 32767 / 32768) * 32768).astype("<i2").tobytes()
