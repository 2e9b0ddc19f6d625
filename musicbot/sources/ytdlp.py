"""yt-dlp as a source: YouTube (and every other site yt-dlp knows), searches, playlists, live streams.

Set up for YouTube as it is in 2026: ``yt-dlp[default,deno]`` brings yt-dlp-ejs and deno, and
YouTube's signature challenges need a JavaScript runtime. Which one is yt-dlp's own discovery's
answer (``sources/jsruntime.py``: the environment's scripts folder first, then PATH; node only
from 22 on). The option given to yt-dlp names exactly that runtime, or is left out so yt-dlp keeps
its default: an empty ``js_runtimes`` would *replace* the default and disable every runtime.

Every extraction is blocking network I/O and runs in a worker thread (``asyncio.to_thread``);
one ``YoutubeDL`` per call because the object is not thread-safe. Every request yt-dlp makes goes
through the guarded client (``ytdlp_http.py``): validated addresses only, each redirect vetted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from musicbot.i18n import lazy
from musicbot.sources.errors import (
    BlockedUrlError,
    NotFoundError,
    SourceError,
    UnsupportedError,
    classify_ytdlp_error,
)
from musicbot.sources.guarded_http import GuardedHttp
from musicbot.sources.jsruntime import JsRuntime, discover_js_runtime, missing_runtime_advice
from musicbot.sources.models import Resolved, ResolvedKind, StreamInfo, url_expiry
from musicbot.sources.ssrf import UrlGuard
from musicbot.track import Track

log = logging.getLogger(__name__)

AUDIO_FORMAT = "bestaudio[acodec=opus]/bestaudio/best"  # itag 251 (WebM/Opus 48 kHz) passes through untouched
SEARCH_LIMIT = 5


def ytdlp_options(*, js_runtime: JsRuntime | None, cookies_file: Path | None = None) -> dict[str, Any]:
    """The ``YoutubeDL`` parameters every call uses.

    ``js_runtime`` None (none was found) leaves ``js_runtimes`` out, so yt-dlp keeps its default
    (deno, looked for again when a challenge needs it) instead of running with every runtime off.
    """
    options: dict[str, Any] = {
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "skip_download": True,
        "format": AUDIO_FORMAT,
        "default_search": "ytsearch",
        "extract_flat": "in_playlist",  # playlists come back as titles and ids; entries resolve when played
        "noplaylist": True,  # watch?v=X&list=Y plays the video the user pasted, not the whole list
        "socket_timeout": 15,
        "logger": _YtDlpLog(),  # without a logger yt-dlp prints errors to stderr even when quiet
    }
    if js_runtime is not None:
        # Exactly the runtime the start-up line names: what is logged is what yt-dlp runs.
        options["js_runtimes"] = {js_runtime.name: {"path": js_runtime.path}}
    if cookies_file is not None:
        options["cookiefile"] = str(cookies_file)
    return options


def log_js_runtime(runtime: JsRuntime | None) -> None:
    """The one start-up line saying which runtime YouTube's challenges run in, or how to get one."""
    if runtime is not None:
        log.info("yt-dlp JavaScript runtime: %s", runtime.describe())
    else:
        log.warning("yt-dlp JavaScript runtime: none found. %s", missing_runtime_advice())


class _YtDlpLog:
    """Routes yt-dlp's messages to logging at debug level: errors reach users as ``SourceError``."""

    def debug(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    info = debug

    def warning(self, msg: str) -> None:
        log.debug("yt-dlp warning: %s", msg)

    def error(self, msg: str) -> None:
        log.debug("yt-dlp error: %s", msg)


class YtDlpBackend:
    """Resolves URLs and searches with yt-dlp; coroutines for the event loop, work in worker threads."""

    def __init__(self, *, cookies_file: Path | None = None,
                 js_runtime: JsRuntime | Literal["discover"] | None = "discover",
                 guard: UrlGuard | None = None, http: GuardedHttp | None = None) -> None:
        """``js_runtime="discover"`` (the bot, once at start; blocking: runs each candidate's
        ``--version``) finds and logs the runtime; tests may name one, or None for yt-dlp's default.
        ``guard`` (or a ready ``http`` client) decides where yt-dlp may connect; without one, no
        private address is allowed."""
        self.http = http or GuardedHttp(guard or UrlGuard())
        if js_runtime == "discover":
            js_runtime = discover_js_runtime()
            log_js_runtime(js_runtime)
        self.js_runtime = js_runtime
        self.options = ytdlp_options(js_runtime=js_runtime, cookies_file=cookies_file)

    async def resolve(self, url: str) -> Resolved:
        """A video/track URL → one track; a playlist/album → its entries, flat (not yet playable)."""
        info = await self._extract(url)
        if info.get("_type") == "playlist" or "entries" in info:
            entries = info.get("entries") or ()
            tracks = tuple(t for t in (track_from_info(e, in_playlist=True) for e in entries if e) if t)
            if not tracks:
                raise NotFoundError(lazy("That playlist is empty or none of its items can be played."))
            return Resolved(ResolvedKind.PLAYLIST, tracks, str(info.get("title") or "") or None)
        track = track_from_info(info)
        if track is None:
            raise UnsupportedError(detail=f"yt-dlp returned no usable item for {url}")
        return Resolved(ResolvedKind.TRACK, (track,))

    async def search(self, query: str, limit: int = SEARCH_LIMIT, *, prefix: str = "ytsearch") -> list[Track]:
        """Search candidates, best first (``prefix`` may be ``scsearch`` for SoundCloud)."""
        terms = " ".join(query.split())
        info = await self._extract(f"{prefix}{limit}:{terms}")
        return [t for t in (track_from_info(e, in_playlist=True) for e in info.get("entries") or () if e) if t]

    async def stream_info(self, track: Track) -> StreamInfo:
        """Fully resolve ``track`` just before it plays: its stream URL, headers and expiry."""
        info = await self._extract(track.url, flat=False)
        if "entries" in info:  # a URL that still names a list: play its first item
            entries = [e for e in info["entries"] or () if e]
            if not entries:
                raise NotFoundError()
            info = entries[0]
        return stream_info_from(info)

    async def _extract(self, url: str, *, flat: bool = True) -> dict[str, Any]:
        options = dict(self.options)
        if not flat:
            options.pop("extract_flat")
        return await asyncio.to_thread(_extract_blocking, url, options, self.http)


def _extract_blocking(url: str, options: dict[str, Any], http: GuardedHttp) -> dict[str, Any]:
    from musicbot.sources.ytdlp_http import GuardedYoutubeDL  # imports yt-dlp: slow, so only when used

    try:
        with GuardedYoutubeDL(options, http=http) as ydl:
            info = ydl.extract_info(url, download=False)
    except Exception as err:  # DownloadError, ExtractorError and the network's own exceptions
        refusal = _refusal_in(err)
        if refusal is not None:  # the guard's own words, not "the site returned an unexpected error"
            raise refusal from err
        raise classify_ytdlp_error(err) from err
    if not isinstance(info, dict):
        raise NotFoundError()
    return info


def _refusal_in(err: BaseException) -> BlockedUrlError | None:
    """The guard's refusal somewhere in yt-dlp's wrapping (``cause``, ``exc_info``, ``__cause__``)."""
    seen: set[int] = set()
    pending: list[object] = [err]
    while pending:
        item = pending.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, BlockedUrlError):
            return item
        exc_info = getattr(item, "exc_info", None)
        pending += [item.__cause__, item.__context__, getattr(item, "cause", None),
                    exc_info[1] if isinstance(exc_info, tuple) and len(exc_info) > 1 else None]
    return None


def stream_info_from(info: Mapping[str, Any]) -> StreamInfo:
    """The playable stream of a fully extracted (not flat) yt-dlp info dict."""
    url = info.get("url")
    headers: Mapping[str, Any] = info.get("http_headers") or {}
    if not url and info.get("requested_formats"):
        fmt = next((f for f in info["requested_formats"] if f.get("acodec") not in (None, "none")), None)
        if fmt:
            url, headers = fmt.get("url"), fmt.get("http_headers") or headers
    if not isinstance(url, str) or not url:
        raise SourceError(lazy("No playable audio format was found for this."))
    duration = info.get("duration")
    return StreamInfo(
        url=url,
        headers=MappingProxyType({str(k): str(v) for k, v in headers.items()}),
        is_live=_is_live(info),
        expires_at=url_expiry(url),
        duration_s=float(duration) if isinstance(duration, int | float) and duration > 0 else None,
    )


def _is_live(info: Mapping[str, Any]) -> bool:
    return info.get("live_status") == "is_live" or info.get("is_live") is True



def track_from_info(info: Mapping[str, Any], *, in_playlist: bool = False) -> Track | None:
    """A ``Track`` from a yt-dlp info dict or flat entry; None when it has nothing playable.

    A playlist entry's ``url`` names the entry itself (its ``webpage_url`` may be the list's page);
    a fully extracted item's ``url`` is its stream, so the page URL is kept instead.
    """
    key = str(info.get("ie_key") or info.get("extractor_key") or "generic").lower()
    source = "youtube" if key.startswith("youtube") else key
    item_id = info.get("id")
    order = ("url", "webpage_url", "original_url") if in_playlist else ("webpage_url", "original_url", "url")
    url = next((info[k] for k in order if isinstance(info.get(k), str) and info[k].startswith("http")), None)
    if not isinstance(url, str) or not url:
        return None
    if source == "youtube" and isinstance(item_id, str) and len(item_id) == 11 and not url.startswith("http"):
        url = f"https://www.youtube.com/watch?v={item_id}"
    # a generic page or file has no id of its own that would be stable across hosts: the URL is
    stable = f"{source}:{item_id}" if item_id and source != "generic" else f"url:{url}"
    duration = info.get("duration")
    thumbnail = info.get("thumbnail")
    thumbs = info.get("thumbnails")
    if not isinstance(thumbnail, str) and isinstance(thumbs, list) and thumbs and isinstance(thumbs[-1], Mapping):
        thumbnail = thumbs[-1].get("url")
    artist = next((str(info[k]) for k in ("artist", "creator", "channel", "uploader") if info.get(k)), "")
    tags = info.get("tags")
    is_live = _is_live(info)
    return Track(
        id=stable,
        title=str(info.get("track") or info.get("title") or url.rsplit("/", 1)[-1]),
        artist=artist,
        duration_s=float(duration) if isinstance(duration, int | float) and duration >= 0 and not is_live else None,
        url=url,
        thumbnail_url=thumbnail if isinstance(thumbnail, str) else None,
        is_live=is_live,
        source=source,
        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
        genre=str(info["genre"]) if info.get("genre") else None,
        album=str(info["album"]) if info.get("album") else None,
    )
