"""Where autoplay gets candidates: the ``Recommender`` interface and an offline implementation.

The yt-dlp implementation is in ``ytdlp.py``. Recommenders only suggest; ``AutoplayEngine``
filters (history, blocklist, duplicates) and chooses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from musicbot.track import Track


class Recommender(Protocol):
    """Suggests tracks, most relevant first. Methods may raise; the engine treats that as a failure."""

    async def related(self, track: Track, limit: int) -> list[Track]:
        """Tracks like ``track`` (YouTube: the video's mix). May include ``track`` itself."""
        ...

    async def by_artist(self, artist: str, limit: int) -> list[Track]:
        """Tracks by ``artist``."""
        ...

    async def by_genre(self, genre_or_tags: Sequence[str], limit: int) -> list[Track]:
        """Tracks of a genre, given as terms most significant first (the genre, else the tags)."""
        ...


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


class OfflineRecommender:
    """A deterministic recommender over an in-memory catalogue, for tests and offline use.

    ``related`` uses the explicit ``related`` map (track id → ids) when it names the track;
    otherwise it ranks the catalogue by what it shares with the track: same artist, same genre,
    common tags. Ties keep catalogue order.
    """

    def __init__(
        self, catalogue: Sequence[Track], related: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        self._catalogue = tuple(catalogue)
        self._by_id = {t.id: t for t in self._catalogue}
        self._related = {k: tuple(v) for k, v in (related or {}).items()}
        self.calls: list[tuple[str, str]] = []  # (method, argument), so tests can see what was asked

    async def related(self, track: Track, limit: int) -> list[Track]:
        self.calls.append(("related", track.id))
        if track.id in self._related:
            return [self._by_id[i] for i in self._related[track.id] if i in self._by_id][:limit]
        scored = [(self._similarity(track, other), n, other) for n, other in enumerate(self._catalogue)]
        ranked = sorted((s for s in scored if s[0] > 0 and s[2].id != track.id), key=lambda s: (-s[0], s[1]))
        return [other for _, _, other in ranked[:limit]]

    async def by_artist(self, artist: str, limit: int) -> list[Track]:
        self.calls.append(("by_artist", artist))
        wanted = _fold(artist)
        return [t for t in self._catalogue if _fold(t.artist) == wanted][:limit]

    async def by_genre(self, genre_or_tags: Sequence[str], limit: int) -> list[Track]:
        self.calls.append(("by_genre", ", ".join(genre_or_tags)))
        wanted = {_fold(term) for term in genre_or_tags}
        return [t for t in self._catalogue if wanted & _terms(t)][:limit]

    @staticmethod
    def _similarity(a: Track, b: Track) -> int:
        score = 2 if _fold(a.artist) == _fold(b.artist) else 0
        if a.genre and b.genre and _fold(a.genre) == _fold(b.genre):
            score += 2
        return score + len({_fold(t) for t in a.tags} & {_fold(t) for t in b.tags})


def _terms(track: Track) -> set[str]:
    terms = {_fold(tag) for tag in track.tags}
    if track.genre:
        terms.add(_fold(track.genre))
    return terms
