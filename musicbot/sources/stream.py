"""Streams that survive dropped connections and expired URLs: ``StreamOpener`` and ``ResilientStream``.

``RemoteFile`` (``sources/remote_file.py``) already resumes a reset connection with a Range
request, to the address validated when the stream opened. What that cannot fix is a URL that stopped working (YouTube
answers 403 once a signed URL expires): FFmpeg then ends the stream early, sometimes without
any error. ``ResilientStream`` notices (an error, or an end well before the known duration),
re-resolves the track in a background thread, and opens a new ``Decoder`` at the sample where
playback stopped, so nothing is lost or repeated beyond the seek granularity (one 20 ms packet
for Opus sources, exact for PCM ones).
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from musicbot.audio import END_OF_STREAM, Chunk, EndOfStream
from musicbot.dsp.frame import FRAME_SAMPLES, SAMPLE_RATE_HZ
from musicbot.errors import MediaError, MusicBotError
from musicbot.i18n import lazy, message_of
from musicbot.metrics import count_source_failure
from musicbot.sources.decoder import BUFFER_FRAMES, Decoder
from musicbot.sources.errors import BadMediaError, BlockedUrlError
from musicbot.sources.guarded_http import GuardedHttp
from musicbot.sources.media import default_http
from musicbot.sources.models import StreamInfo
from musicbot.sources.remote_file import BlockedStreamError
from musicbot.sources.ssrf import UrlGuard
from musicbot.track import Track

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 4
OPEN_TIMEOUT_S = 15.0
RERESOLVE_TIMEOUT_S = 60.0
# An end more than this before the known duration is a dropped stream, not the end of the track.
EARLY_END_TOLERANCE_S = 1.0
# No wait before the first retry nor before the first fresh URL; then back off for real outages.
_BACKOFF_S = (0.0, 0.0, 0.5, 1.0, 2.0)
_AUTH_FAILURE = re.compile(r"\b(401|403|410)\b|forbidden|unauthori[sz]ed|gone", re.IGNORECASE)

Reresolve = Callable[[], StreamInfo]
"""Blocking: a fresh ``StreamInfo`` for the same track. Called from the stream's worker thread."""
DecoderFactory = Callable[..., Decoder]


class ResilientStream:
    """A ``Decoder`` look-alike that reopens (and re-resolves) its source when the stream drops.

    Consumer API as ``Decoder``: ``read_nowait`` (audio thread, never blocks: reopening happens
    in a worker thread and reads return None meanwhile), ``read`` (offline), ``packet_mode``,
    ``buffered_frames``, ``duration_s``, ``close``; plus ``seek`` (any thread, non-blocking).
    Chunk ``start_sample`` numbers stay on the track's timeline across reopens.
    """

    def __init__(
        self,
        info: StreamInfo,
        *,
        reresolve: Reresolve | None = None,
        start_s: float = 0.0,
        allow_passthrough: bool = True,
        buffer_frames: int = BUFFER_FRAMES,
        duration_hint_s: float | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        open_timeout_s: float = OPEN_TIMEOUT_S,
        decoder_factory: DecoderFactory = Decoder,
        http: GuardedHttp | None = None,
    ) -> None:
        """``http``: the guarded client every (re)open reads through (None: no allow-list)."""
        self.info = info
        self._http = http or default_http()
        self._reresolve = reresolve
        self._allow_passthrough = allow_passthrough
        self._buffer_frames = buffer_frames
        self._duration_hint_s = duration_hint_s if duration_hint_s is not None else info.duration_s
        self._max_attempts = max_attempts
        self._open_timeout_s = open_timeout_s
        self._factory = decoder_factory
        self._position = round(max(0.0, start_s) * SAMPLE_RATE_HZ)  # next sample the consumer expects
        self._offset = 0  # added to a live decoder's numbering, which restarts at 0 on reconnect
        self._inner: Decoder | None = None
        self._busy = threading.Event()  # a worker is reopening; reads answer None meanwhile
        self._lock = threading.Lock()
        self._fatal: MediaError | None = None
        self._finished = False
        self._closed = False
        self._failures = 0  # consecutive failures without a chunk in between
        self.reopens = 0
        self.reresolves = 0

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> ResilientStream:
        self._inner = self._new_decoder()
        return self

    def close(self) -> None:
        """Stop everything and drop buffered audio. Idempotent; any thread."""
        with self._lock:
            self._closed = True
            inner, self._inner = self._inner, None
        if inner is not None:
            inner.close()

    @property
    def packet_mode(self) -> bool:
        return self._inner.packet_mode if self._inner is not None else False

    @property
    def codec_delay_samples(self) -> int:
        return self._inner.codec_delay_samples if self._inner is not None else 0

    @property
    def buffered_frames(self) -> int:
        inner = self._inner
        return 0 if inner is None or self._busy.is_set() else inner.buffered_frames

    @property
    def duration_s(self) -> float | None:
        inner = self._inner
        return (inner.duration_s if inner is not None else None) or self._duration_hint_s

    @property
    def position_s(self) -> float:
        """Where the next chunk starts, in seconds of the track."""
        return self._position / SAMPLE_RATE_HZ

    def seek(self, seconds: float) -> None:
        """Continue from ``seconds`` (clamped at 0); the reopen runs in the background. Any thread."""
        if self.info.is_live:
            raise MediaError(lazy("A live stream cannot be seeked."))
        with self._lock:
            self._position = round(max(0.0, seconds) * SAMPLE_RATE_HZ)
            self._finished = False
            self._fatal = None
        self._start_worker(None, reason="seek")

    # ---------------------------------------------------------------- consumer side
    def read_nowait(self) -> Chunk | EndOfStream | None:
        """Next chunk, None while nothing is buffered (or a reopen runs), or ``END_OF_STREAM``."""
        if self._finished or self._closed:
            return END_OF_STREAM
        if self._fatal is not None:
            self._finished = True
            raise self._fatal
        inner = self._inner
        if self._busy.is_set() or inner is None:
            return None
        try:
            item = inner.read_nowait()
        except MediaError as err:
            self._failed(err)
            return None
        if item is None:
            return None
        if isinstance(item, EndOfStream):
            if self._ended_early(inner):
                self._failed(None)
                return None
            self._finished = True
            return END_OF_STREAM
        self._failures = 0
        if self._offset:
            item = Chunk(item.start_sample + self._offset, pcm=item.pcm, packet=item.packet)
        self._position = item.start_sample + FRAME_SAMPLES
        return item

    def read(self, timeout: float | None = None) -> Chunk | EndOfStream:
        """Blocking read for offline use; raises ``MediaError`` after ``timeout`` s without audio."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            item = self.read_nowait()
            if item is not None:
                return item
            if deadline is not None and time.monotonic() > deadline:
                raise MediaError(f"No audio arrived for {timeout:g} s")  # offline reads only: no user sees it
            time.sleep(0.002)

    # ---------------------------------------------------------------- recovery
    def _ended_early(self, inner: Decoder) -> bool:
        if self.info.is_live:
            return True  # an endless stream that ended has dropped
        duration = inner.duration_s or self._duration_hint_s
        return duration is not None and self._position / SAMPLE_RATE_HZ < duration - EARLY_END_TOLERANCE_S

    def _failed(self, err: MediaError | None) -> None:
        if isinstance(err, BlockedUrlError | BadMediaError):
            # The guard refused where the stream leads, or the file itself is damaged: asking again
            # cannot help (a reopen past the damage would skip audio without a word about it).
            self._give_up(err)
            return
        self._failures += 1
        if self._failures > self._max_attempts:
            self._give_up(err or MediaError(lazy("The stream kept ending early and was given up.")))
            return
        log.info("stream %s dropped at %.2f s (%s); reopening", self.info.url[:60], self.position_s, err or "early end")
        self._start_worker(err, reason="drop")

    def _start_worker(self, err: MediaError | None, *, reason: str) -> None:
        self._busy.set()
        threading.Thread(target=self._reopen, args=(err,), name=f"stream-reopen:{reason}", daemon=True).start()

    def _reopen(self, err: MediaError | None) -> None:
        """Worker thread: open a new decoder at the current position, re-resolving the URL when needed."""
        fresh = self._reresolve is not None and (self.info.expired() or _is_auth_failure(err))
        last: MusicBotError | None = err
        try:
            for attempt in range(self._max_attempts):
                if self._closed:
                    return
                time.sleep(_BACKOFF_S[min(attempt, len(_BACKOFF_S) - 1)])
                try:
                    if fresh and self._reresolve is not None:
                        self.info = self._reresolve()
                        self.reresolves += 1
                    target = self._position
                    decoder = self._new_decoder(target)
                    decoder.wait_open(self._open_timeout_s)
                except MusicBotError as failure:
                    log.info("reopen attempt %d failed: %s", attempt + 1, failure)
                    if isinstance(failure, BlockedUrlError):  # refused (the re-resolved URL too): final
                        refused = failure if isinstance(failure, MediaError) else \
                            BlockedStreamError(message_of(failure))
                        self._give_up(refused, cause=failure)
                        return
                    last = failure
                    # the same URL failed again: it is dead, only a new one can help
                    fresh = self._reresolve is not None
                    continue
                with self._lock:
                    old, self._inner = self._inner, decoder
                    stale = self._closed or target != self._position  # a seek arrived meanwhile
                if old is not None:
                    old.close()
                self.reopens += 1
                if stale:
                    if self._closed:
                        decoder.close()
                        return
                    continue
                return
            fatal = last if isinstance(last, MediaError) else MediaError(str(last or "The stream failed."))
            self._give_up(fatal, cause=last)
        finally:
            self._busy.clear()

    def _give_up(self, fatal: MediaError, *, cause: MusicBotError | None = None) -> None:
        """No more attempts: the next read raises ``fatal``. Counted once per stream given up, by what
        caused it (a re-resolution's ``SourceError`` keeps its kind)."""
        count_source_failure(cause or fatal)
        self._fatal = fatal

    def _new_decoder(self, position: int | None = None) -> Decoder:
        position = self._position if position is None else position
        live = self.info.is_live
        # a live stream cannot seek: it restarts at the live edge and keeps the timeline going
        self._offset = position if live else 0
        decoder = self._factory(
            self.info.url,
            headers=dict(self.info.headers),
            start_s=0.0 if live else position / SAMPLE_RATE_HZ,
            allow_passthrough=self._allow_passthrough,
            buffer_frames=self._buffer_frames,
            http=self._http,
        )
        return decoder.start()


def _is_auth_failure(err: BaseException | None) -> bool:
    return err is not None and bool(_AUTH_FAILURE.search(str(err)))


class StreamOpener:
    """Opens a ``Track`` as a ``ResilientStream``: resolves its stream URL just before playing.

    ``open`` runs on the event loop; the stream's re-resolutions later run the resolver's
    coroutine on that same loop from the stream's worker thread.
    """

    def __init__(self, resolver: Any, *, http: GuardedHttp | None = None) -> None:
        # ``Any`` keeps this module free of the resolver's imports; it needs ``stream_info(track, fresh=)``
        # and, for the allow-list the streams are read under, its ``guard``
        self.resolver = resolver
        guard = getattr(resolver, "guard", None)
        self.http = http or (GuardedHttp(guard) if isinstance(guard, UrlGuard) else default_http())

    async def open(
        self, track: Track, *, start_s: float = 0.0, allow_passthrough: bool = True, buffer_frames: int = BUFFER_FRAMES
    ) -> ResilientStream:
        try:
            info: StreamInfo = await self.resolver.stream_info(track)
            if info.expired():
                info = await self.resolver.stream_info(track, fresh=True)
        except Exception as error:
            count_source_failure(error)
            raise
        loop = asyncio.get_running_loop()

        def reresolve() -> StreamInfo:
            future = asyncio.run_coroutine_threadsafe(self.resolver.stream_info(track, fresh=True), loop)
            result: StreamInfo = future.result(timeout=RERESOLVE_TIMEOUT_S)
            return result

        stream = ResilientStream(
            info,
            reresolve=reresolve,
            start_s=start_s,
            allow_passthrough=allow_passthrough,
            buffer_frames=buffer_frames,
            duration_hint_s=track.duration_s,
            http=self.http,
        )
        return stream.start()
