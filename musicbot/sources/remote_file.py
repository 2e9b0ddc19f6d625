"""``RemoteFile``: an HTTP(S) resource as a seekable file object, which PyAV decodes instead of a URL.

Why PyAV no longer gets the URL: FFmpeg's http protocol resolves the name itself and follows
redirects on every request it makes, reconnects and seeks included, so nothing in front of it can
keep it off a private address (issue 14). Given a file object, FFmpeg does no networking at all:
every byte comes from ``GuardedHttp``, which connects only to validated addresses and vets each
redirect. What FFmpeg's reconnect options did (resume a dropped body with a Range request) is done
here, to the address validated when the stream was opened (``Target`` pinned: the name is not
looked up again, so a rebinding answer changes nothing).

A decoder thread owns one ``RemoteFile``; PyAV calls ``read``/``seek`` from that thread only.
"""

from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error

from musicbot.errors import MediaError
from musicbot.i18n import lazy, message_of
from musicbot.sources.errors import BlockedUrlError, SourceError
from musicbot.sources.guarded_http import GuardedHttp
from musicbot.sources.ssrf import Target

log = logging.getLogger(__name__)

RESUME_ATTEMPTS = 3
_RESUME_BACKOFF_S = (0.0, 0.5, 1.0)
# A forward seek shorter than this reads through the open body instead of a new Range request.
SHORT_SEEK_BYTES = 64 * 1024
_CONTENT_RANGE = re.compile(r"bytes (\d+)-\d+/(\d+|\*)")


class BlockedStreamError(BlockedUrlError, MediaError):
    """A stream refused by the guard (on opening, a resume or a redirect): a ``MediaError`` for the
    decoder and the player, a ``BlockedUrlError`` for the user's message and the failure counter."""


class HttpStatusError(MediaError):
    """The server answered an error status. The number stays in the text: 401/403/410 tell
    ``ResilientStream`` that the URL expired and must be resolved again."""


class RemoteFile(io.RawIOBase):
    """Read-only, seekable (when the server takes Range requests) view of one URL.

    The constructor makes the first request, so refusals and HTTP errors surface before PyAV
    starts probing. Errors later (a refused redirect on a resume, a resume that kept failing)
    are raised from ``read``; PyAV re-raises them from the call that was reading.
    """

    def __init__(self, http: GuardedHttp, url: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self._http = http
        self._url = url
        self._headers = {**(headers or {}), "Accept-Encoding": "identity"}  # Range offsets are raw bytes
        self._target: Target | None = None
        self._response: urllib3.BaseHTTPResponse | None = None
        self._response_pos = 0  # the offset of the open body's next byte
        self._pos = 0  # the reader's position (ahead of the body after a seek, until the next read)
        self.length: int | None = None
        self.ranges = False
        self.resumes = 0
        self._connect(0)

    # ---------------------------------------------------------------- io.RawIOBase
    @property
    def name(self) -> str:
        """The URL (after redirects): PyAV gives it to FFmpeg as the input's name, which HLS needs to
        recognise a playlist (by its extension) and to resolve the segments' relative URLs."""
        return self._url

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self.ranges and self.length is not None

    def tell(self) -> int:
        return self._pos

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes (fewer when fewer have arrived); b"" at the end."""
        if self.length is not None and self._pos >= self.length:
            return b""
        amount = size if size > 0 else 1 << 16
        for attempt in range(RESUME_ATTEMPTS + 1):
            try:
                self._align()
                if self._response is None:  # 416: nothing at or after this offset
                    return b""
                data = self._response.read1(amount)
            except (Urllib3Error, OSError) as err:
                failure: Exception = err
            except BlockedStreamError:
                raise  # a refusal is final: trying again would only ask the same hostile server
            except SourceError as err:  # an unreachable host, too many redirects: worth a retry
                failure = err
            else:
                if data or self.length is None or self._pos >= self.length:
                    self._pos += len(data)
                    self._response_pos = self._pos
                    return data
                failure = MediaError("the body ended before its announced length")
            self._drop()
            if attempt < RESUME_ATTEMPTS:
                log.info("%s dropped at byte %d (%s); resuming", self._short(), self._pos, failure)
                time.sleep(_RESUME_BACKOFF_S[min(attempt, len(_RESUME_BACKOFF_S) - 1)])
                self.resumes += 1
        raise MediaError(lazy("The connection to {host} dropped and could not be resumed.",
                              host=str(urlsplit(self._url).hostname)))

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int:
        """Move to ``offset``; nothing is requested until the next ``read`` (FFmpeg asks for the
        size with SEEK_END and comes back at once; that must not cost two connections).
        Returns -1 when the position cannot be known (SEEK_END without a length): PyAV takes -1
        as "unsupported", whereas an exception would be stashed and raised from a later call."""
        if whence == io.SEEK_END:
            if self.length is None:
                return -1
            position = self.length + offset
        elif whence == io.SEEK_CUR:
            position = self._pos + offset
        else:
            position = offset
        self._pos = max(0, position)
        return self._pos

    def close(self) -> None:
        self._drop()
        super().close()

    # ---------------------------------------------------------------- requests
    def _align(self) -> None:
        """Make the open body's next byte the read position: read through a short hop forward,
        else drop the body and ask for a Range at the position."""
        if self._response is not None and self._response_pos != self._pos:
            ahead = self._pos - self._response_pos
            if 0 < ahead <= SHORT_SEEK_BYTES:
                while self._response_pos < self._pos:
                    skipped = self._response.read1(self._pos - self._response_pos)
                    if not skipped:
                        break
                    self._response_pos += len(skipped)
            if self._response_pos != self._pos:
                self._drop()
        if self._response is None:
            self._connect(self._pos)

    def _connect(self, offset: int) -> None:
        """A GET from ``offset`` through the guard; pinned to the stream's validated address once
        known. ``Range: bytes=0-`` on the first request too, as FFmpeg sends it: a 206 answer says
        the server can seek."""
        headers = {**self._headers, "Range": f"bytes={offset}-"}
        try:
            fetched = self._http.open(self._url, headers=headers, target=self._target)
        except BlockedUrlError as err:
            raise BlockedStreamError(message_of(err), detail=err.detail) from err
        response = fetched.response
        if response.status == 416 and self.length is not None and offset >= self.length:
            response.close()
            return
        if response.status >= 400:
            response.close()
            raise HttpStatusError(f"the server answered {response.status} {response.reason or ''}".rstrip())
        # the final URL and its address: resumes and seeks go straight there, as FFmpeg's did
        self._url, self._target = fetched.url, fetched.target
        encoded = bool(response.headers.get("Content-Encoding", "identity") != "identity")
        found = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", ""))
        if response.status == 206 and found and int(found.group(1)) == offset and not encoded:
            self.ranges = True
            if found.group(2) != "*":
                self.length = int(found.group(2))
        else:
            length = response.headers.get("Content-Length")
            if offset == 0 and length and length.isdigit() and not encoded:
                self.length = int(length)
                # some servers answer "bytes=0-" with the whole body but do take other ranges
                self.ranges = response.headers.get("Accept-Ranges", "").lower() == "bytes"
            self.ranges = self.ranges and not encoded
        self._response, self._response_pos = response, offset
        if response.status == 200 and offset > 0:
            self._skip_to(offset)

    def _skip_to(self, offset: int) -> None:
        """The server ignored the Range: read up to ``offset`` (a live stream just goes on)."""
        if self.length is None:
            return
        skipped = 0
        assert self._response is not None
        while skipped < offset:
            chunk = self._response.read1(min(1 << 16, offset - skipped))
            if not chunk:
                raise MediaError("the body ended before its announced length")
            skipped += len(chunk)

    def _drop(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            response.close()
            response.release_conn()

    def _short(self) -> str:
        return self._url if len(self._url) <= 60 else self._url[:57] + "..."
