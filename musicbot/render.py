"""``musicbot render``: the exact engine path of a guild, run offline from a file to a file.

The decoder thread, filter chain, normalizer, limiter, encoder and passthrough are the ones
playback uses; only the pacing differs (as fast as the CPU allows instead of every 20 ms).
"""

from __future__ import annotations

import fractions
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from musicbot.dsp.frame import FRAME_SAMPLES, SAMPLE_RATE_HZ, Frame
from musicbot.dsp.params import FilterSettings
from musicbot.errors import MediaError
from musicbot.sources.decoder import Decoder
from musicbot.voice.encoder import OpusEncoder
from musicbot.voice.engine import AudioEngine

WAV_SUFFIXES = (".wav",)
OPUS_SUFFIXES = (".ogg", ".opus")
READ_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class RenderReport:
    frames: int
    passthrough_frames: int
    seconds: float


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

    Raises ``MediaError`` with a one-line reason for anything the user can fix.
    """
    suffix = destination.suffix.lower()
    if suffix not in WAV_SUFFIXES + OPUS_SUFFIXES:
        raise MediaError(f"Cannot write {destination.name}: the output must end in .wav, .ogg or .opus")
    if not destination.parent.is_dir():
        raise MediaError(f"Cannot write {destination}: folder {destination.parent} does not exist")
    engine = AudioEngine(filters, volume=volume, normalize=normalize, target_lufs=target_lufs)
    decoder = Decoder(source).start()
    try:
        decoder.wait_open(timeout=READ_TIMEOUT_S)
        engine.start_track(packet_mode=decoder.packet_mode)

        def pull() -> Any:
            return decoder.read(timeout=READ_TIMEOUT_S)

        # Written beside the destination and renamed at the end, so a failure never leaves a
        # half-written file that looks complete.
        partial = destination.with_name(destination.name + ".part")
        try:
            if suffix in WAV_SUFFIXES:
                frames = _write_wav(partial, engine, pull)
            else:
                frames = _write_ogg(partial, engine, pull, suffix)
            partial.replace(destination)
        finally:
            partial.unlink(missing_ok=True)
    finally:
        decoder.close()
    return RenderReport(frames, engine.stats.passthrough_frames, frames * FRAME_SAMPLES / SAMPLE_RATE_HZ)


def _write_wav(path: Path, engine: AudioEngine, pull: Any) -> int:
    frames = 0
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE_HZ)
        while (frame := engine.next_pcm(pull)) is not None:
            out.writeframes(_to_s16(frame))
            frames += 1
    return frames


def _write_ogg(path: Path, engine: AudioEngine, pull: Any, suffix: str) -> int:
    header_source = OpusEncoder()  # its OpusHead (stereo, 48 kHz, pre-skip) describes our packets
    try:
        out = av.open(str(path), "w", format="opus" if suffix == ".opus" else "ogg")
    except av.error.FFmpegError as err:
        raise MediaError(f"Cannot write {path}: {err}") from err
    frames = 0
    try:
        stream = out.add_stream("libopus", rate=SAMPLE_RATE_HZ)
        stream.codec_context.layout = "stereo"
        stream.codec_context.extradata = header_source.codec_context.extradata
        time_base = fractions.Fraction(1, SAMPLE_RATE_HZ)
        while (data := engine.next_packet(pull)) is not None:
            packet = av.Packet(data)
            packet.stream = stream
            packet.pts = packet.dts = frames * FRAME_SAMPLES
            packet.duration = FRAME_SAMPLES
            packet.time_base = time_base
            out.mux(packet)
            frames += 1
    finally:
        out.close()
    return frames


def _to_s16(frame: Frame) -> bytes:
    # The limiter keeps samples within full scale; the clip only guards float rounding at 1.0.
    return (np.clip(frame, -1.0, 32767 / 32768) * 32768).astype("<i2").tobytes()
