"""A decoder thread that turns any media PyAV opens into 48 kHz stereo 20 ms chunks.

Thread model: one daemon thread per open track demuxes (and, unless the source is Opus,
decodes and resamples) into a bounded buffer of about two seconds, refilled in small batches
(``sources/buffer.py``). The consumer, discord.py's player thread or ``musicbot render``, takes
chunks without ever touching the network.

Opus sources whose packets are 20 ms frames (YouTube's itag 251, Ogg/WebM Opus) are carried
as packets only: passthrough sends them untouched, and when filters are on the consumer
decodes them (``voice/packet_decoder.py``) — decoding in the producer would cost the CPU that
passthrough exists to save.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import av
import numpy as np

from musicbot.audio import END_OF_STREAM, Chunk, EndOfStream
from musicbot.dsp.finite import finite
from musicbot.dsp.frame import CHANNELS, FRAME_SAMPLES, SAMPLE_RATE_HZ, Frame
from musicbot.errors import MediaError
from musicbot.i18n import lazy
from musicbot.sources.buffer import RefillBuffer
from musicbot.sources.damage import DamageCheck, ogg_complete
from musicbot.sources.errors import BadMediaError, media_failure
from musicbot.sources.guarded_http import GuardedHttp
from musicbot.sources.media import open_container
from musicbot.sources.opus_packets import opus_packet_samples

log = logging.getLogger(__name__)

BUFFER_FRAMES = 100  # 2 s of audio between the network and the 20 ms clock
SEEK_PREROLL_S = 0.1


class Decoder:
    """Opens ``location`` and fills a bounded buffer from a background thread.

    ``read_nowait`` (audio thread) never blocks: it returns a ``Chunk``, ``END_OF_STREAM``,
    or None when the buffer ran dry (an underrun the caller answers with silence).
    ``read`` (offline use) waits. A failure in the thread surfaces as ``MediaError`` from
    either once the chunks before it have been consumed.
    """

    def __init__(
        self,
        location: str,
        *,
        headers: Mapping[str, str] | None = None,
        start_s: float = 0.0,
        allow_passthrough: bool = True,
        buffer_frames: int = BUFFER_FRAMES,
        http: GuardedHttp | None = None,
    ) -> None:
        self.location = location
        self._headers = dict(headers or {})
        self._http = http  # the guarded client for URLs (its allow-list); None: media.default_http()
        self._start_s = max(0.0, start_s)
        self._allow_passthrough = allow_passthrough
        self._buffer: RefillBuffer[Chunk | EndOfStream | MediaError] = RefillBuffer(buffer_frames)
        self._stop = threading.Event()
        self._opened = threading.Event()
        self._thread: threading.Thread | None = None
        self._finished = False
        self.packet_mode = False
        """True when chunks carry Opus packets (set once the stream is open)."""
        self.codec_delay_samples = 0
        """In packet mode, how far the packets' audio lags their numbering: the encoder's pre-skip
        (312 samples from libopus), which passthrough leaves in and a PCM decode takes out."""
        self.duration_s: float | None = None
        """The duration the container declares, in seconds (None when it declares none)."""
        self.decoded_samples: int | None = None
        """48 kHz samples decoded, before the last chunk's zero padding; set before END_OF_STREAM
        is queued (so exact once it was read), None in packet mode."""
        self._damage = DamageCheck(None)

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> Decoder:
        self._thread = threading.Thread(target=self._run, name=f"decoder:{self.location[-40:]}", daemon=True)
        self._thread.start()
        return self

    def wait_open(self, timeout: float | None = None) -> None:
        """Block until the stream is open (or failed); raises the open error, if any."""
        self._opened.wait(timeout)
        head = self._buffer.peek()
        if isinstance(head, MediaError):
            raise head

    def close(self) -> None:
        """Stop the thread and drop buffered audio. Idempotent."""
        self._stop.set()
        self._buffer.clear()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)

    # ---------------------------------------------------------------- consumer side
    def read_nowait(self) -> Chunk | EndOfStream | None:
        if self._finished:
            return END_OF_STREAM
        item = self._buffer.get_nowait()
        return None if item is None else self._unwrap(item)

    def read(self, timeout: float | None = None) -> Chunk | EndOfStream:
        if self._finished:
            return END_OF_STREAM
        item = self._buffer.get(timeout)
        if item is None:
            raise MediaError(f"{self.location}: no audio arrived for {timeout:g} s")
        return self._unwrap(item)

    def _unwrap(self, item: Chunk | EndOfStream | MediaError) -> Chunk | EndOfStream:
        if isinstance(item, MediaError):
            self._finished = True
            raise item
        if item is END_OF_STREAM:
            self._finished = True
        return item

    @property
    def buffered_frames(self) -> int:
        return len(self._buffer)

    # ---------------------------------------------------------------- producer thread
    def _put(self, item: Chunk | EndOfStream | MediaError) -> bool:
        return self._buffer.put(item, self._stop.is_set)

    def _run(self) -> None:
        try:
            container = open_container(self.location, headers=self._headers, http=self._http)
        except MediaError as err:
            self._put(_in_users_words(err))
            self._opened.set()
            return
        except Exception as err:  # PyAV refusing a file its own way (tags that are not UTF-8, ...)
            log.info("opening %s failed", self.location, exc_info=True)
            self._put(media_failure(err))
            self._opened.set()
            return
        try:
            stream = container.streams.audio[0]
            if stream.codec_context is None:  # a codec FFmpeg does not know: a damaged header, mostly
                raise BadMediaError(lazy("The file's audio format is not supported, or its header is damaged."))
            if stream.duration is not None and stream.time_base is not None:
                self.duration_s = float(stream.duration * stream.time_base)
            elif container.duration:
                self.duration_s = container.duration / av.time_base
            self._damage = DamageCheck(self.duration_s, self._start_s)
            start_sample = 0
            if self._start_s > 0:
                start_sample = _seek(container, stream, self._start_s)
            self.packet_mode = self._allow_passthrough and _is_opus_48k(stream)
            if self.packet_mode:
                self.codec_delay_samples = max(0, int(getattr(stream.codec_context, "delay", 0) or 0))
            self._opened.set()
            chunks = (
                self._packets(container, stream, start_sample)
                if self.packet_mode
                else self._pcm(container, stream, start_sample)
            )
            for chunk in chunks:
                if not self._put(chunk):
                    return
            # A damaged file ends with what was wrong with it, in place of a quiet early end.
            complete = ogg_complete(self.location) if container.format.name == "ogg" else None
            self._put(self._damage.verdict(ogg_complete=complete) or END_OF_STREAM)
        except MediaError as err:  # from a RemoteFile mid-track (a refused redirect, a lost resume): its own words
            self._put(err)
        except av.error.FFmpegError as err:
            log.warning("decoding %s failed", self.location, exc_info=True)
            self._put(media_failure(err, position_s=self._damage.reached_s))
        except Exception:  # a bug must not kill the thread silently: the consumer is told
            log.exception("decoder thread crashed on %s", self.location)
            self._put(MediaError(lazy("The track could not be decoded (internal error, see the bot's log)")))
        finally:
            self._opened.set()
            container.close()

    def _packets(self, container: Any, stream: Any, start_sample: int) -> Iterator[Chunk]:
        """The source's packets as chunks numbered from ``start_sample``, 20 ms each."""
        position, damage, stop = start_sample, self._damage, self._stop
        for packet in container.demux(stream):
            if stop.is_set():
                return
            if not packet.size:
                continue
            damage.packet(bad=packet.is_corrupt)
            if start_sample and packet.pts is not None:
                # after a seek, drop the packets before the target (20 ms granularity)
                start = float(packet.pts * packet.time_base) * SAMPLE_RATE_HZ
                if start - _origin_s(stream) * SAMPLE_RATE_HZ + FRAME_SAMPLES / 2 < start_sample:
                    continue
            data = bytes(packet)
            damage.samples += opus_packet_samples(data)
            yield Chunk(position, packet=data)
            position += FRAME_SAMPLES

    def _pcm(self, container: Any, stream: Any, start_sample: int) -> Iterator[Chunk]:
        """The source decoded and resampled to 48 kHz, as chunks numbered from ``start_sample``."""
        resampler = av.AudioResampler(format="flt", layout="stereo", rate=SAMPLE_RATE_HZ)
        pending = np.zeros((0, CHANNELS), np.float32)
        to_drop: int | None = None if start_sample else 0
        produced = 0
        for packet in container.demux(stream):
            if self._stop.is_set():
                return
            for frame in self._decode(packet):
                if to_drop is None:
                    # a seek lands on an earlier keyframe: drop audio before the target sample
                    first = float(frame.pts * frame.time_base) - _origin_s(stream) if frame.pts is not None else 0.0
                    to_drop = max(0, start_sample - round(first * SAMPLE_RATE_HZ))
                pending = _append(pending, resampler.resample(frame))
                if to_drop:
                    dropped = min(to_drop, len(pending))
                    pending, to_drop = pending[dropped:], to_drop - dropped
                while len(pending) >= FRAME_SAMPLES:
                    yield Chunk(start_sample + produced, pcm=np.ascontiguousarray(pending[:FRAME_SAMPLES]))
                    pending = pending[FRAME_SAMPLES:]
                    produced += FRAME_SAMPLES
        pending = _append(pending, resampler.resample(None))
        self.decoded_samples = self._damage.samples = produced + len(pending)
        while len(pending) > 0:
            block = pending[:FRAME_SAMPLES]
            if len(block) < FRAME_SAMPLES:  # zero-pad the tail: every frame is exactly 20 ms
                block = np.concatenate([block, np.zeros((FRAME_SAMPLES - len(block), CHANNELS), np.float32)])
            yield Chunk(start_sample + produced, pcm=np.ascontiguousarray(block))
            pending = pending[FRAME_SAMPLES:]
            produced += FRAME_SAMPLES

    def _decode(self, packet: Any) -> list[Any]:
        """The frames of ``packet``; none for a packet FFmpeg cannot decode (it is counted)."""
        if not packet.size:  # the flush at the end
            return list(packet.decode())
        bad = bool(packet.is_corrupt)
        try:
            frames = list(packet.decode())
        except av.error.InvalidDataError:
            log.debug("skipping an undecodable packet")
            frames, bad = [], True
        self._damage.packet(bad=bad)
        return frames


def _is_opus_48k(stream: Any) -> bool:
    ctx = stream.codec_context
    return bool(ctx.name in ("opus", "libopus") and (ctx.sample_rate in (48000, 0, None)))


def _in_users_words(error: MediaError) -> MediaError:
    """An open failure of FFmpeg's in users' words (``media_failure``); others keep their own."""
    cause = error.__cause__
    return media_failure(cause) if type(error) is MediaError and isinstance(cause, av.error.FFmpegError) else error


_INT_SCALE = {"s16": 32768.0, "s16p": 32768.0, "s32": 2147483648.0, "s32p": 2147483648.0}


def _interleaved(frame: Any) -> Frame:
    arr = frame.to_ndarray()
    scale = _INT_SCALE.get(frame.format.name)
    if scale is not None:  # libopus decodes to integers
        arr = arr.astype(np.float32) / np.float32(scale)
    pcm = arr.T if frame.format.is_planar else arr.reshape(-1, len(frame.layout.channels))
    if pcm.shape[1] == 1:
        pcm = np.repeat(pcm, 2, axis=1)
    out = np.ascontiguousarray(pcm[:, :2], dtype=np.float32)
    # Float sources (float WAV/FLAC-in-float, a decoder's glitch) can carry NaN or ±Inf; in a filter's
    # state one of them would silence the rest of the track (dsp/finite.py). Integers cannot.
    return out if scale is not None else finite(out)


def _append(pending: Frame, frames: list[Any]) -> Frame:
    parts = [pending, *(_interleaved(f) for f in frames)]
    return np.concatenate(parts) if len(parts) > 1 else pending


def _origin_s(stream: Any) -> float:
    """The timestamp of the track's first audible sample, in seconds.

    MP3 streams start at the encoder delay (e.g. 1105 samples for LAME), not at 0: track time
    is timestamp minus this, or a seek would land that much early and repeat audio.
    """
    start = stream.start_time
    if start is None or stream.time_base is None or start <= 0:
        return 0.0
    return float(start * stream.time_base)


def _seek(container: Any, stream: Any, seconds: float) -> int:
    """Seek to ``seconds`` and return the 48 kHz sample position decoding resumes at."""
    # land a little early: MP3 frames lean on the previous frame (bit reservoir), so the first
    # frame decoded after a seek is garbage; the samples before the target are dropped anyway
    target = max(0.0, seconds - SEEK_PREROLL_S) + _origin_s(stream)
    try:
        container.seek(int(target / stream.time_base), stream=stream, backward=True, any_frame=False)
    except av.error.FFmpegError:
        # FFmpeg's FLAC demuxer refuses some targets in the last frame (EPERM, measured on a 3 s
        # file at 2.85 s): start from the beginning instead; everything before the target is dropped.
        try:
            container.seek(0, stream=stream, backward=True, any_frame=False)
        except av.error.FFmpegError as err:
            raise BadMediaError(lazy("The bot cannot jump to a position in this file (it may be damaged)."),
                                detail=str(err)) from err
    return round(seconds * SAMPLE_RATE_HZ)
