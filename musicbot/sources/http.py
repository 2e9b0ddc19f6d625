"""Direct HTTP(S) audio: files, endless internet radio, and Discord attachments.

Probing reads the response headers (content type, ICY station name, length) and, for a file, the
first 256 KB of its body, where its duration is (``http_length.py``); an endless radio stream's
body is never read, so it costs one short request.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from musicbot.i18n import lazy
from musicbot.sources.errors import NetworkError, SourceError, UnavailableError
from musicbot.sources.guarded_http import GuardedHttp
from musicbot.sources.http_length import response_duration_s
from musicbot.sources.models import StreamInfo
from musicbot.sources.ssrf import UrlGuard
from musicbot.track import Track

AUDIO_EXTENSIONS = frozenset(
    {".mp3", ".ogg", ".oga", ".opus", ".webm", ".m4a", ".mp4", ".aac", ".flac", ".wav", ".weba", ".mka", ".wma"}
)
PLAYLIST_EXTENSIONS = frozenset({".m3u", ".m3u8", ".pls", ".xspf"})
ATTACHMENT_HOSTS = frozenset({"cdn.discordapp.com", "media.discordapp.net"})
_AUDIO_TYPES = ("audio/", "application/ogg", "video/webm", "video/mp4", "video/ogg")
_FILENAME = re.compile(r"""filename\*?=(?:UTF-8'')?["']?([^"';]+)""", re.IGNORECASE)
PROBE_TIMEOUT_S = 10.0


def url_filename(url: str) -> str:
    return unquote(PurePosixPath(urlsplit(url).path).name)


def has_audio_extension(url: str) -> bool:
    return PurePosixPath(urlsplit(url).path).suffix.lower() in AUDIO_EXTENSIONS


def is_attachment(url: str) -> bool:
    return (urlsplit(url).hostname or "").lower() in ATTACHMENT_HOSTS


def is_audio_content_type(content_type: str) -> bool:
    return content_type.lower().startswith(_AUDIO_TYPES)


class HttpBackend:
    """Probes direct audio URLs. Coroutines for the event loop; the requests run in worker threads
    through ``GuardedHttp``, so every hop (redirects included) is vetted before it is sent."""

    def __init__(self, guard: UrlGuard, *, user_agent: str = "musicbot/0.1", http: GuardedHttp | None = None) -> None:
        self.guard = guard
        self.http = http or GuardedHttp(guard, user_agent=user_agent, timeout_s=PROBE_TIMEOUT_S)

    async def probe(self, url: str) -> Track | None:
        """A ``Track`` when ``url`` serves audio (file or stream), None when it is a web page.

        Raises ``BlockedUrlError`` for private targets (after redirects too) and classified
        errors for 404/403/network failures.
        """
        final, headers, length_s = await asyncio.to_thread(self._probe_blocking, url)
        content_type = headers.get("Content-Type", "")
        station = headers.get("icy-name") or headers.get("ice-name")
        if not (is_audio_content_type(content_type) or station or (has_audio_extension(final) and
                                                                   not content_type.startswith("text/"))):
            return None
        endless = bool(station or headers.get("icy-br") or headers.get("icy-metaint")) or (
            "Content-Length" not in headers and "Content-Range" not in headers and not has_audio_extension(final)
        )
        disposition = _FILENAME.search(headers.get("Content-Disposition", ""))
        filename = disposition.group(1) if disposition else url_filename(final)
        source = "attachment" if is_attachment(url) else "radio" if endless else "http"
        title = station.strip() if station else (PurePosixPath(filename).stem or urlsplit(final).hostname or url)
        return Track(
            id=f"url:{url}",
            title=title,
            artist=(headers.get("icy-description") or "").strip() if endless else "",
            duration_s=None if endless else length_s,
            url=url,
            is_live=endless,
            source=source,
            genre=(headers.get("icy-genre") or "").strip() or None,
        )

    def _probe_blocking(self, url: str) -> tuple[str, Mapping[str, str], float | None]:
        """One GET (redirects followed under the guard); of the body only a file's first 256 KB, so
        an endless radio stream costs one short request. A GET, not a HEAD: what a server answers
        to HEAD says nothing about what its GET does (issue 14, case b)."""
        fetched = self.http.open(url, headers={"Icy-MetaData": "1"})
        response = fetched.response
        try:
            if response.status in (401, 403, 404, 410):
                raise UnavailableError(lazy("That link answered {status}: the file is gone or not public.",
                                            status=str(response.status)))
            if response.status >= 400:
                raise NetworkError(lazy("That link answered {status}; try again later.", status=str(response.status)))
            # A file's length, from the start of its body (http_length.py; never read for radio).
            length_s = response_duration_s(response, response.headers)
            return fetched.url, response.headers, length_s  # urllib3's: case-insensitive, as HTTP header names are
        finally:
            response.close()
            response.release_conn()

    async def stream_info(self, track: Track) -> StreamInfo:
        """The link itself, checked again: redirects are followed (and vetted, hop by hop) by the
        stream's own ``RemoteFile`` when it opens, at the moment it opens."""
        if not track.url.startswith(("http://", "https://")):
            raise SourceError(lazy("That link does not lead to an http(s) stream."))
        await self.guard.check(track.url)
        return StreamInfo(url=track.url, is_live=track.is_live, duration_s=track.duration_s)
