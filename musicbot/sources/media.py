"""Opening media with PyAV: local files by path, http(s) links through the guarded client.

A URL is never handed to FFmpeg: its http protocol would resolve the name and follow redirects by
itself (issue 14). PyAV reads a ``RemoteFile`` instead, whose bytes all come through
``GuardedHttp`` (validated addresses only, each redirect vetted, resumes to the same address), and
so do the URLs a stream names in turn (HLS/DASH segments: PyAV's ``io_open``). A local file may
not name URLs at all (FFmpeg's ``protocol_whitelist``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from typing import Any

import av

from musicbot.errors import MediaError
from musicbot.i18n import lazy, message_of
from musicbot.sources.errors import BlockedUrlError, SourceError
from musicbot.sources.guarded_http import GuardedHttp
from musicbot.sources.remote_file import BlockedStreamError, RemoteFile
from musicbot.sources.ssrf import UrlGuard

OPEN_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 10.0


def is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


@functools.cache
def default_http() -> GuardedHttp:
    """For callers that name no client (``musicbot render URL``, benchmarks): the guard with no
    allow-list, so a forgotten argument refuses private addresses rather than allowing them."""
    return GuardedHttp(UrlGuard(), timeout_s=READ_TIMEOUT_S)


def open_container(location: str, *, headers: Mapping[str, str] | None = None,
                   http: GuardedHttp | None = None) -> Any:
    """Open ``location`` (a path or an http(s) URL) for reading; raises ``MediaError`` on failure
    (``BlockedStreamError``, also a ``BlockedUrlError``, when the guard refused it).

    Called from a decoder thread or an executor, never from the event loop: it does network I/O.
    """
    source: str | RemoteFile = location
    if is_url(location):
        try:
            source = RemoteFile(http or default_http(), location, headers)
        except BlockedUrlError as err:
            raise BlockedStreamError(message_of(err), detail=err.detail) from err
        except (SourceError, MediaError) as err:
            raise MediaError(lazy("Cannot open {where}: {reason}", where=_short(location), reason=err)) from err
    elif not os.path.exists(location):
        raise MediaError(lazy("No such file: {path}", path=location))
    try:
        if isinstance(source, RemoteFile):
            container = av.open(source, io_open=_nested_opener(http or default_http(), headers))
        else:
            # a playlist file in the music folder (.m3u8, .ffconcat) must not make FFmpeg fetch URLs
            container = av.open(source, options={"protocol_whitelist": "file"}, timeout=OPEN_TIMEOUT_S)
    except av.error.FFmpegError as err:
        _close(source)
        raise MediaError(lazy("Cannot open {where}: {reason}", where=_short(location), reason=_reason(err))) from err
    except MediaError:  # raised by RemoteFile.read while FFmpeg probed (PyAV passes it on)
        _close(source)
        raise
    if not container.streams.audio:
        container.close()
        raise MediaError(lazy("{where} has no audio stream", where=_short(location)))
    return container


def _nested_opener(http: GuardedHttp, headers: Mapping[str, str] | None) -> Callable[[str, int, Any], RemoteFile]:
    """FFmpeg's way to open the further URLs a stream names (HLS segments and playlist reloads, DASH
    fragments, keys): through the guard as well, or FFmpeg's own http would fetch them."""

    def open_nested(url: str, flags: int, options: Any) -> RemoteFile:
        if not is_url(url):
            raise MediaError(lazy("The stream names {url}, which is not an http(s) link; refused.", url=_short(url)))
        try:
            return RemoteFile(http, url, headers)
        except BlockedUrlError as err:
            raise BlockedStreamError(message_of(err), detail=err.detail) from err
        except SourceError as err:
            raise MediaError(lazy("Cannot open {where}: {reason}", where=_short(url), reason=err)) from err

    return open_nested


def _close(source: str | RemoteFile) -> None:
    if isinstance(source, RemoteFile):
        source.close()


def _reason(err: Exception) -> str:
    text = getattr(err, "strerror", None) or str(err)
    return text.rstrip(".").split(": '")[0]


def _short(location: str) -> str:
    return location if len(location) <= 80 else location[:77] + "..."
