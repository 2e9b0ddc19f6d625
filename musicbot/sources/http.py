"""Direct HTTP(S) audio: files, endless internet radio, and Discord attachments.

Probing reads the response headers only (content type, ICY station name, length); the body is
never read, so an endless radio stream costs one short request.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

import aiohttp

from musicbot.sources.errors import NetworkError, SourceError, UnavailableError
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
    """Probes direct audio URLs. Coroutines for the event loop; every hop passes the ``UrlGuard``."""

    def __init__(self, guard: UrlGuard, *, user_agent: str = "musicbot/0.1") -> None:
        self.guard = guard
        self._user_agent = user_agent

    def _session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT_S), headers={"User-Agent": self._user_agent}
        )

    async def probe(self, url: str) -> Track | None:
        """A ``Track`` when ``url`` serves audio (file or stream), None when it is a web page.

        Raises ``BlockedUrlError`` for private targets (after redirects too) and classified
        errors for 404/403/network failures.
        """
        async with self._session() as session:
            final = await self.guard.follow_redirects(url, session)
            try:
                async with session.get(final, allow_redirects=False, headers={"Icy-MetaData": "1"}) as resp:
                    if resp.status in (401, 403, 404, 410):
                        raise UnavailableError(f"That link answered {resp.status}: the file is gone or not public.")
                    if resp.status >= 400:
                        raise NetworkError(f"That link answered {resp.status}; try again later.")
                    headers = resp.headers
            except aiohttp.ClientError as err:
                raise NetworkError(detail=str(err)) from err
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
            duration_s=None,
            url=url,
            is_live=endless,
            source=source,
            genre=(headers.get("icy-genre") or "").strip() or None,
        )

    async def stream_info(self, track: Track) -> StreamInfo:
        """Check the URL again (a redirect may have changed since) and hand the final URL to PyAV."""
        async with self._session() as session:
            final = await self.guard.follow_redirects(track.url, session)
        if not final.startswith(("http://", "https://")):
            raise SourceError("That link does not lead to an http(s) stream.")
        return StreamInfo(url=final, is_live=track.is_live, duration_s=track.duration_s)
