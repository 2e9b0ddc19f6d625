"""Opening media with PyAV: files and URLs, with FFmpeg's reconnect options for HTTP."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import av

from musicbot.errors import MediaError

# FFmpeg resumes a dropped HTTP body with a Range request when these are set; without them a
# reset connection ends the stream (verified in shared/reference/voice-and-testing.md §5).
HTTP_RECONNECT_OPTIONS = {
    "reconnect": "1",
    "reconnect_streamed": "1",
    "reconnect_on_network_error": "1",
    "reconnect_delay_max": "5",
}
OPEN_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 10.0


def is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def open_container(location: str, *, headers: Mapping[str, str] | None = None) -> Any:
    """Open ``location`` (a path or an http(s) URL) for reading; raises ``MediaError`` on failure.

    Called from a decoder thread or an executor, never from the event loop: it does network I/O.
    """
    options: dict[str, str] = {}
    if is_url(location):
        options.update(HTTP_RECONNECT_OPTIONS)
        if headers:
            options["headers"] = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    elif not os.path.exists(location):
        raise MediaError(f"No such file: {location}")
    try:
        container = av.open(location, options=options, timeout=(OPEN_TIMEOUT_S, READ_TIMEOUT_S))
    except av.error.FFmpegError as err:
        raise MediaError(f"Cannot open {_short(location)}: {_reason(err)}") from err
    if not container.streams.audio:
        container.close()
        raise MediaError(f"{_short(location)} has no audio stream")
    return container


def _reason(err: Exception) -> str:
    text = getattr(err, "strerror", None) or str(err)
    return text.rstrip(".").split(": '")[0]


def _short(location: str) -> str:
    return location if len(location) <= 80 else location[:77] + "..."
