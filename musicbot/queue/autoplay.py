"""Autoplay: what to play when the queue runs out.

``AutoplayEngine.next_tracks`` asks a ``Recommender`` for candidates and keeps only those that
are new (not in the recent history window, not queued, not the same song under another id),
not blocked by the guild, and not live or overlong. Modes: SIMILAR (related to the last track),
ARTIST, GENRE (from the track's genre, else its tags), and MIXED, which draws each pick from
artist/genre/similar at 40/40/20 and falls back to the other strategies when one has nothing.

Failures are quiet: a call that yields nothing (the recommender raised, returned nothing, or
everything was filtered out) counts one failure; after ``max_failures`` in a row the engine
gives up and returns [] without asking again until ``reset()`` (the session calls it when a
user adds a track). One success resets the count.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from musicbot.queue.entry import QueueEntry
from musicbot.queue.queue import MusicQueue
from musicbot.queue.recommender import Recommender
from musicbot.track import Track

HISTORY_WINDOW = 50
MAX_FAILURES = 3
# Autoplay skips anything longer: a "10 hours of ..." upload is not what a listener wants next.
MAX_AUTOPLAY_DURATION_S = 20 * 60.0


class AutoplayMode(Enum):
    SIMILAR = "similar"
    ARTIST = "artist"
    GENRE = "genre"
    MIXED = "mixed"


# MIXED: the share of picks each strategy gets.
MIXED_WEIGHTS: tuple[tuple[AutoplayMode, float], ...] = (
    (AutoplayMode.ARTIST, 0.4),
    (AutoplayMode.GENRE, 0.4),
    (AutoplayMode.SIMILAR, 0.2),
)

_BRACKETED = re.compile(r"[(\[{][^)\]}]*[)\]}]")
_NOT_WORD = re.compile(r"[^\w]+")
_ARTIST_NOISE = re.compile(r"(vevo|\s*-\s*topic|official)$")


def song_key(track: Track) -> str:
    """A normalized ``"artist - title"`` so the same song under another id counts as a repeat.

    Drops bracketed parts ("(Official Video)", "[HD]") and punctuation, and splits YouTube-style
    titles of the form "Artist - Title" whose uploader is a channel name.
    """
    artist, title = track.artist, track.title
    if " - " in title:
        artist, _, title = title.partition(" - ")
    artist = _ARTIST_NOISE.sub("", artist.casefold().strip())

    def clean(text: str) -> str:
        return " ".join(_NOT_WORD.sub(" ", _BRACKETED.sub(" ", text.casefold())).split())

    # Spaces dropped from the artist so "RickAstleyVEVO" and "Rick Astley" agree.
    return f"{clean(artist).replace(' ', '')} - {clean(title)}"


@dataclass(frozen=True)
class Blocklist:
    """A guild's autoplay blocklist. Case-insensitive; applies only to what autoplay picks.

    An artist is blocked when its name appears as whole words in the track's artist or title
    (YouTube titles often carry the artist), or is the artist once channel noise is dropped
    ("NickelbackVEVO", "Nickelback - Topic"). A word is blocked as a whole word in either.
    """

    artists: frozenset[str] = frozenset()
    words: frozenset[str] = frozenset()

    @classmethod
    def of(cls, artists: Iterable[str] = (), words: Iterable[str] = ()) -> Blocklist:
        def norm(items: Iterable[str]) -> frozenset[str]:
            return frozenset(" ".join(i.casefold().split()) for i in items if i.strip())

        return cls(norm(artists), norm(words))

    def blocks(self, track: Track) -> bool:
        artist, title = track.artist.casefold(), track.title.casefold()
        bare_artist = _ARTIST_NOISE.sub("", artist.strip()).replace(" ", "")
        for name in self.artists:
            if name.replace(" ", "") == bare_artist or _has_words(artist, name) or _has_words(title, name):
                return True
        return any(_has_words(title, word) or _has_words(artist, word) for word in self.words)


def _has_words(text: str, words: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(words)}(?!\w)", text) is not None


class AutoplayEngine:
    """Chooses tracks for autoplay. One per guild; called from the event loop."""

    def __init__(
        self,
        recommender: Recommender,
        mode: AutoplayMode = AutoplayMode.MIXED,
        *,
        blocklist: Blocklist | None = None,
        rng: random.Random | None = None,
        history_window: int = HISTORY_WINDOW,
        max_failures: int = MAX_FAILURES,
        candidates_per_query: int = 25,
    ) -> None:
        self.recommender = recommender
        self.mode = mode
        self.blocklist = blocklist or Blocklist()
        self.history_window = history_window
        self.max_failures = max_failures
        self.candidates_per_query = candidates_per_query
        self._rng = rng or random.Random()
        self._failures = 0
        self.last_error: BaseException | None = None  # for logs and /stats, never shown to users

    @property
    def gave_up(self) -> bool:
        """True after ``max_failures`` fruitless calls in a row; cleared by ``reset()``."""
        return self._failures >= self.max_failures

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def reset(self) -> None:
        """Try again from scratch; call when a user adds a track (new material to seed from)."""
        self._failures = 0
        self.last_error = None

    def choose_strategy(self) -> AutoplayMode:
        """The strategy of the next pick: the mode itself, or a weighted draw in MIXED."""
        if self.mode is not AutoplayMode.MIXED:
            return self.mode
        x = self._rng.random()
        for strategy, weight in MIXED_WEIGHTS:
            if x < weight:
                return strategy
            x -= weight
        return MIXED_WEIGHTS[-1][0]

    async def next_tracks(
        self, seed_history: Sequence[Track], count: int = 1, *, queued: Sequence[Track] = ()
    ) -> list[Track]:
        """Up to ``count`` new tracks to play after ``seed_history`` (oldest first, last = just played).

        ``queued`` is what is already waiting, so it is not picked again. Returns [] when given
        up, when there is nothing to seed from, or when nothing suitable was found.
        """
        if count <= 0 or self.gave_up or not seed_history:
            return []
        recent = list(seed_history[-self.history_window :])
        seen_ids = {t.id for t in (*recent, *queued)}
        seen_keys = {song_key(t) for t in (*recent, *queued)}
        cache: dict[tuple[AutoplayMode, str], list[Track]] = {}
        picked: list[Track] = []
        for _ in range(count):
            first = self.choose_strategy()
            # Only MIXED falls back: a user who chose ARTIST wants that artist or nothing.
            mixed = self.mode is AutoplayMode.MIXED
            fallbacks = [s for s, _ in MIXED_WEIGHTS if s is not first] if mixed else []
            for strategy in (first, *fallbacks):
                track = await self._pick(strategy, recent, cache, seen_ids, seen_keys)
                if track is not None:
                    picked.append(track)
                    seen_ids.add(track.id)
                    seen_keys.add(song_key(track))
                    break
        self._failures = 0 if picked else self._failures + 1
        return picked

    async def _pick(
        self,
        strategy: AutoplayMode,
        recent: list[Track],
        cache: dict[tuple[AutoplayMode, str], list[Track]],
        seen_ids: set[str],
        seen_keys: set[str],
    ) -> Track | None:
        candidates = await self._candidates(strategy, recent, cache)
        for track in candidates:
            if track.id in seen_ids or song_key(track) in seen_keys:
                continue
            if track.is_live or (track.duration_s or 0.0) > MAX_AUTOPLAY_DURATION_S:
                continue
            if self.blocklist.blocks(track):
                continue
            return track
        return None

    async def _candidates(
        self,
        strategy: AutoplayMode,
        recent: list[Track],
        cache: dict[tuple[AutoplayMode, str], list[Track]],
    ) -> list[Track]:
        seed = recent[-1]
        limit = self.candidates_per_query
        if strategy is AutoplayMode.ARTIST:
            key = seed.artist.strip()
        elif strategy is AutoplayMode.GENRE:
            key = "\n".join(_genre_terms(recent))
        else:
            key = seed.id
        if not key:
            return []
        if (strategy, key) in cache:
            return cache[(strategy, key)]
        try:
            if strategy is AutoplayMode.ARTIST:
                found = await self.recommender.by_artist(key, limit)
            elif strategy is AutoplayMode.GENRE:
                found = await self.recommender.by_genre(key.split("\n"), limit)
            else:
                found = await self.recommender.related(seed, limit)
        except Exception as error:  # any recommender failure is a quiet miss, never a crash
            self.last_error = error
            found = []
        cache[(strategy, key)] = found
        return found


def _genre_terms(recent: Sequence[Track]) -> tuple[str, ...]:
    """The genre of the latest track that has one, else its first tags; () if none has either."""
    for track in reversed(recent):
        if track.genre:
            return (track.genre,)
        if track.tags:
            return tuple(track.tags[:3])
    return ()


async def autoplay_into(queue: MusicQueue, engine: AutoplayEngine, count: int = 1) -> list[QueueEntry]:
    """Ask ``engine`` for ``count`` tracks seeded from ``queue`` and queue them as autoplay entries.

    Seeds from history plus the current entry; skips anything already upcoming. The entries
    have ``autoplay=True`` and no requester; the queue's limits still apply (refused ones are
    dropped silently, as autoplay is best effort).
    """
    seed = [e.track for e in queue.history]
    if queue.current is not None:
        seed.append(queue.current.track)
    queued = [e.track for e in queue.upcoming]
    tracks = await engine.next_tracks(seed, count, queued=queued)
    return list(queue.add_many(tracks, None, autoplay=True).added)
