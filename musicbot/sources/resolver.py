"""``Resolver``: whatever a user pastes or types → ``Track`` metadata, without opening any audio.

Dispatch: Spotify links → Spotify (then YouTube just before playing); ``local:``/``file://`` →
the music folder; http(s) → direct audio when the link is a file, attachment or radio stream,
else yt-dlp; anything else → a yt-dlp search. Searches are cached for 5 minutes, metadata for
an hour, and identical lookups running at the same time share one request.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from musicbot.config import Config
from musicbot.i18n import lazy
from musicbot.metrics import count_source_failure
from musicbot.sources.cache import METADATA_TTL_S, SEARCH_TTL_S, AsyncTtlCache
from musicbot.sources.errors import NotFoundError, SourceDisabledError, UnsupportedError
from musicbot.sources.http import HttpBackend, has_audio_extension, is_attachment
from musicbot.sources.local import LocalLibrary
from musicbot.sources.models import Resolved, ResolvedKind, StreamInfo
from musicbot.sources.spotify import SpotifyBackend, is_spotify_link
from musicbot.sources.ssrf import UrlGuard
from musicbot.sources.ytdlp import SEARCH_LIMIT, YtDlpBackend
from musicbot.track import Track

# Hosts whose pages are never audio files: skip the HTTP probe and go straight to yt-dlp.
_EXTRACTOR_HOSTS = (
    "youtube.com", "youtu.be", "youtube-nocookie.com", "soundcloud.com", "bandcamp.com", "vimeo.com",
    "twitch.tv", "mixcloud.com", "dailymotion.com", "deezer.com", "audiomack.com",
)
_DIRECT_SOURCES = frozenset({"http", "radio", "attachment"})


def _host_matches(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


class Resolver:
    """The one entry point of ``musicbot.sources`` for metadata. Coroutines for the event loop."""

    def __init__(
        self,
        *,
        ytdlp: YtDlpBackend,
        guard: UrlGuard,
        spotify: SpotifyBackend | None = None,
        local: LocalLibrary | None = None,
        http: HttpBackend | None = None,
        search_ttl_s: float = SEARCH_TTL_S,
        metadata_ttl_s: float = METADATA_TTL_S,
    ) -> None:
        self.ytdlp = ytdlp
        self.guard = guard
        self.spotify = spotify
        self.local = local
        self.http = http or HttpBackend(guard)
        self._searches: AsyncTtlCache[tuple[str, int], list[Track]] = AsyncTtlCache(search_ttl_s)
        self._metadata: AsyncTtlCache[str, Resolved] = AsyncTtlCache(metadata_ttl_s)
        self._matches: AsyncTtlCache[str, Track] = AsyncTtlCache(metadata_ttl_s)
        self._streams: AsyncTtlCache[str, StreamInfo] = AsyncTtlCache(metadata_ttl_s)

    @classmethod
    def from_config(cls, config: Config) -> Resolver:
        """Build every backend the configuration turns on (Spotify and the music folder are optional)."""
        guard = UrlGuard(config.allowed_hosts)
        ytdlp = YtDlpBackend(cookies_file=config.ytdlp_cookies, guard=guard)
        spotify = None
        if config.spotify_client_id and config.spotify_client_secret:
            spotify = SpotifyBackend(config.spotify_client_id, config.spotify_client_secret, search=ytdlp.search)
        local = LocalLibrary(config.music_dir) if config.music_dir is not None else None
        return cls(ytdlp=ytdlp, guard=guard, spotify=spotify, local=local)

    # ------------------------------------------------------------------ metadata
    async def resolve(self, query: str) -> Resolved:
        """Resolve a link or search words. Raises a ``SourceError`` subclass with a user message
        (counted in ``musicbot_source_failures_total`` by its kind)."""
        try:
            return await self._resolve(query)
        except Exception as error:
            count_source_failure(error)
            raise

    async def _resolve(self, query: str) -> Resolved:
        text = query.strip()
        if not text:
            raise NotFoundError(lazy("Type something to search for, or paste a link."))
        if is_spotify_link(text) or text.startswith(("local:", "file://")) or "://" in text:
            return await self._metadata.get(text, lambda: self._resolve_link(text))
        candidates = await self.search(text)
        return Resolved(ResolvedKind.SEARCH, tuple(candidates))

    async def search(self, words: str, limit: int = SEARCH_LIMIT) -> list[Track]:
        """YouTube search candidates, best first (cached 5 minutes)."""
        key = (" ".join(words.lower().split()), limit)
        tracks = await self._searches.get(key, lambda: self.ytdlp.search(words, limit))
        if not tracks:
            raise NotFoundError(lazy("Nothing was found for “{words}”.", words=words.strip()[:80]))
        return tracks

    async def _resolve_link(self, text: str) -> Resolved:
        if is_spotify_link(text):
            if self.spotify is None:
                raise SourceDisabledError(lazy("Spotify links are turned off on this bot (no Spotify credentials)."))
            tracks, title = await self.spotify.resolve(text)
            if not tracks:
                raise NotFoundError(lazy("That Spotify link has no playable tracks."))
            kind = ResolvedKind.TRACK if len(tracks) == 1 and title is None else ResolvedKind.PLAYLIST
            return Resolved(kind, tuple(tracks), title)
        if text.startswith(("local:", "file://")):
            if self.local is None:
                raise SourceDisabledError(lazy("The local music folder is turned off on this bot."))
            found = await self.local.resolve(text.removeprefix("local:"))
            return Resolved(ResolvedKind.TRACK if len(found) == 1 else ResolvedKind.SEARCH, tuple(found))
        scheme = urlsplit(text).scheme.lower()
        if scheme not in ("http", "https"):
            raise UnsupportedError(lazy("{scheme}: links are not supported.", scheme=scheme))
        await self.guard.check(text)
        host = (urlsplit(text).hostname or "").lower()
        if not _host_matches(host, _EXTRACTOR_HOSTS) or is_attachment(text) or has_audio_extension(text):
            track = await self.http.probe(text)
            if track is not None:
                return Resolved(ResolvedKind.TRACK, (track,))
        return await self.ytdlp.resolve(text)

    # ------------------------------------------------------------------ about to play
    async def stream_info(self, track: Track, *, fresh: bool = False) -> StreamInfo:
        """Where to read ``track``'s audio now. Cached until the URL nears expiry; ``fresh`` forces a new one.

        Called just before a track plays (and by the stream opener when a URL died mid-track).
        """
        if fresh:
            self._streams.invalidate(track.id)
        info = await self._streams.get(track.id, lambda: self._stream_info(track))
        if info.expired():
            self._streams.invalidate(track.id)
            info = await self._streams.get(track.id, lambda: self._stream_info(track))
        return info

    async def _stream_info(self, track: Track) -> StreamInfo:
        if track.source == "spotify":
            if self.spotify is None:
                raise SourceDisabledError(lazy("Spotify links are turned off on this bot (no Spotify credentials)."))
            spotify = self.spotify
            match = await self._matches.get(track.id, lambda: spotify.match(track))
            info = await self.ytdlp.stream_info(match)
        elif track.source == "local":
            if self.local is None:
                raise SourceDisabledError(lazy("The local music folder is turned off on this bot."))
            return await self.local.stream_info(track)
        elif track.source in _DIRECT_SOURCES:
            return await self.http.stream_info(track)
        else:
            info = await self.ytdlp.stream_info(track)
        # an extractor must not be able to point the bot at its own network either
        await self.guard.check(info.url)
        return info
