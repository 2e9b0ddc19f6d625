"""Spotify links through spotipy (client credentials), each track played from a YouTube match.

Spotify streams nothing to bots, so a Spotify track is metadata only: it becomes a YouTube
search just before it plays — ``"<ISRC>"`` first when Spotify gives one, else
``<artist> - <title>`` — and the candidate whose length is within 5 s of Spotify's wins.

Spotify's 2026 Development Mode rules: playlist items are only returned for playlists the app's
owner owns or collaborates on (403/404 otherwise, reported as ``PlaylistNotReadableError``), and
artist top tracks may be gone (reported as unavailable). ISRC is treated as optional.
"""

from __future__ import annotations

import asyncio
import re
import threading
import warnings
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from musicbot.i18n import lazy
from musicbot.sources.errors import (
    NetworkError,
    NotFoundError,
    PlaylistNotReadableError,
    RateLimitedError,
    SourceError,
    UnavailableError,
    UnsupportedError,
)
from musicbot.track import Track

DURATION_TOLERANCE_S = 5.0
MAX_ITEMS = 500  # a playlist longer than this is cut: the queue is for listening, not archiving
_LINK = re.compile(
    r"^(?:spotify:(?P<ukind>track|album|playlist|artist):(?P<uid>[A-Za-z0-9]{22})"
    r"|https?://open\.spotify\.com/(?:intl-[a-z-]+/)?(?:embed/)?(?P<kind>track|album|playlist|artist)/(?P<id>[A-Za-z0-9]{22}))"
)
# spotipy warns on every call of endpoints Spotify deprecated; the bot reports their failure itself
warnings.filterwarnings("ignore", category=DeprecationWarning, module="spotipy")
_OFFICIAL = re.compile(r"(- topic$|provided to youtube|vevo$|official)", re.IGNORECASE)

Search = Callable[[str, int], Awaitable[list[Track]]]
"""``(query, limit) -> candidates``: the YouTube search the mapping uses (``YtDlpBackend.search``)."""


def parse_spotify_link(text: str) -> tuple[str, str] | None:
    """``(kind, id)`` for an open.spotify.com URL or a spotify: URI; None for anything else."""
    match = _LINK.match(text.strip())
    if not match:
        return None
    return (match["kind"] or match["ukind"]), (match["id"] or match["uid"])


def is_spotify_link(text: str) -> bool:
    stripped = text.strip()
    return stripped.startswith(("spotify:", "https://open.spotify.com/", "http://open.spotify.com/"))


class TokenSource(Protocol):
    def get_access_token(self, as_dict: bool = ...) -> Any: ...


class StaticToken:
    """An auth manager that returns a fixed token (tests, or a token obtained elsewhere)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_access_token(self, as_dict: bool = False) -> str:
        return self._token


class SpotifyBackend:
    """Reads Spotify metadata; coroutines for the event loop, spotipy (blocking) in worker threads."""

    def __init__(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        search: Search,
        api_base: str | None = None,
        auth_manager: TokenSource | None = None,
        retries: int = 3,
    ) -> None:
        if auth_manager is None and not (client_id and client_secret):
            raise SourceError(lazy("Spotify needs SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET."))
        self._credentials = (client_id or "", client_secret or "")
        self._auth_manager = auth_manager
        self._api_base = api_base
        self._retries = retries
        self._search = search
        self._spotipy: Any = None  # spotipy.Spotify, made by the first call that needs it (_client)
        self._spotipy_lock = threading.Lock()

    @property
    def _client(self) -> Any:
        """The spotipy client, made on first use (in a worker thread): spotipy and the requests library it
        brings are about 7 MiB that a bot whose users share no Spotify link would carry from its start."""
        with self._spotipy_lock:
            if self._spotipy is None:
                import spotipy
                from spotipy.oauth2 import SpotifyClientCredentials

                auth_manager = self._auth_manager or SpotifyClientCredentials(*self._credentials)
                client = spotipy.Spotify(auth_manager=auth_manager, requests_timeout=10, retries=self._retries,
                                         status_retries=self._retries)
                if self._api_base is not None:
                    client.prefix = self._api_base.rstrip("/") + "/"
                self._spotipy = client
            return self._spotipy

    # ------------------------------------------------------------------ metadata
    async def resolve(self, link: str) -> tuple[list[Track], str | None]:
        """The tracks a link names (one, an album's, a playlist's, an artist's top tracks) and a title."""
        parsed = parse_spotify_link(link)
        if parsed is None:
            raise UnsupportedError(lazy("That Spotify link is not a track, album, playlist or artist."))
        kind, item_id = parsed
        return await asyncio.to_thread(self._resolve_blocking, kind, item_id)

    def _resolve_blocking(self, kind: str, item_id: str) -> tuple[list[Track], str | None]:
        client = self._client
        if kind == "track":
            return [_track(self._call(client.track, item_id))], None
        if kind == "album":
            album = self._call(client.album, item_id)
            items = list(self._pages(album.get("tracks") or {}))
            return [_track(t, album=album) for t in items if t], str(album.get("name") or "") or None
        if kind == "artist":
            try:
                result = self._call(client.artist_top_tracks, item_id)
            except UnavailableError as err:
                raise UnavailableError(lazy("Spotify no longer gives this bot an artist's top tracks; "
                                            "share an album or playlist instead."), detail=err.detail) from err
            tracks = [_track(t) for t in result.get("tracks") or () if t]
            return tracks, None
        try:
            meta = self._call(client.playlist, item_id, fields="name,owner(display_name)")
            first = self._call(client.playlist_items, item_id, limit=100, additional_types=("track",))
        except UnavailableError as err:
            raise PlaylistNotReadableError(detail=err.detail) from err
        tracks = []
        for entry in self._pages(first):
            # the 2026 /items endpoint names the object "item"; older responses call it "track"
            item = (entry or {}).get("item") or (entry or {}).get("track")
            if item and item.get("type", "track") == "track" and item.get("id"):
                tracks.append(_track(item))
        return tracks, str(meta.get("name") or "") or None

    def _pages(self, page: Mapping[str, Any]) -> Iterator[Any]:
        count = 0
        while page:
            for item in page.get("items") or ():
                count += 1
                if count > MAX_ITEMS:
                    return
                yield item
            page = self._call(self._client.next, page) if page.get("next") else {}

    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        from spotipy.exceptions import SpotifyException

        try:
            result = method(*args, **kwargs)
        except SpotifyException as err:
            status = err.http_status
            detail = f"Spotify {status}: {err.msg}"
            if status in (403, 404):
                raise UnavailableError(lazy("Spotify says this does not exist or is not available to the bot."),
                                       detail=detail) from err
            if status == 429:
                raise RateLimitedError(lazy("Spotify is rate-limiting the bot; try again in a minute."),
                                       detail=detail) from err
            if status in (400,):
                raise UnsupportedError(lazy("That Spotify link is not valid."), detail=detail) from err
            raise NetworkError(lazy("Spotify did not answer; try again."), detail=detail) from err
        except OSError as err:  # requests' ConnectionError and timeouts derive from OSError
            raise NetworkError(lazy("Spotify could not be reached; try again."), detail=str(err)) from err
        if result is None:
            raise NotFoundError()
        return result

    # ------------------------------------------------------------------ YouTube mapping
    async def match(self, track: Track) -> Track:
        """The YouTube candidate for a Spotify track: by ISRC first, else ``artist - title``; ±5 s."""
        for query in search_queries(track):
            candidates = await self._search(query, 5)
            best = pick_candidate(track, candidates)
            if best is not None:
                return best
        raise NotFoundError(lazy("No YouTube match was found for {name}.", name=track.display_name))


def search_queries(track: Track) -> list[str]:
    """The searches to try, in order, for a Spotify track."""
    queries = [f'"{track.isrc}"'] if track.isrc else []
    queries.append(f"{track.artist} - {track.title}" if track.artist else track.title)
    return queries


def pick_candidate(track: Track, candidates: Sequence[Track]) -> Track | None:
    """The best candidate within 5 s of the Spotify length; official uploads and title matches win ties."""
    if track.duration_s is None:
        return candidates[0] if candidates else None
    title_words = set(re.findall(r"\w+", track.title.lower()))

    def score(candidate: Track) -> tuple[int, int, float]:
        official = int(bool(_OFFICIAL.search(candidate.artist)) or "provided to youtube" in candidate.title.lower())
        words = set(re.findall(r"\w+", candidate.title.lower()))
        overlap = len(title_words & words)
        return official, overlap, -abs((candidate.duration_s or 0.0) - (track.duration_s or 0.0))

    close = [
        c for c in candidates
        if c.duration_s is not None and abs(c.duration_s - track.duration_s) <= DURATION_TOLERANCE_S
    ]
    return max(close, key=score) if close else None


def _track(item: Mapping[str, Any], *, album: Mapping[str, Any] | None = None) -> Track:
    album_info = item.get("album") or album or {}
    images = album_info.get("images") or []
    artists = ", ".join(str(a.get("name")) for a in item.get("artists") or () if a.get("name"))
    isrc = (item.get("external_ids") or {}).get("isrc")
    item_id = str(item.get("id") or "")
    duration_ms = item.get("duration_ms")
    return Track(
        id=f"spotify:{item_id}",
        title=str(item.get("name") or "Unknown title"),
        artist=artists,
        duration_s=duration_ms / 1000.0 if isinstance(duration_ms, int | float) and duration_ms >= 0 else None,
        url=f"https://open.spotify.com/track/{item_id}",
        thumbnail_url=str(images[0].get("url")) if images else None,
        source="spotify",
        isrc=str(isrc) if isrc else None,
        album=str(album_info["name"]) if album_info.get("name") else None,
    )
