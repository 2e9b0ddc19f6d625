"""Autoplay with the offline recommender: each mode, the MIXED proportions, history, blocklist, giving up."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

import pytest

from musicbot.queue import (
    AutoplayEngine,
    AutoplayMode,
    Blocklist,
    MusicQueue,
    OfflineRecommender,
    Track,
    autoplay_into,
    song_key,
)
from tests.queue.factories import make_track

SEED = make_track("seed", artist="Seed Band", genre="synthwave", title="Seed Song")
ARTIST_POOL = [
    make_track(f"a{n}", artist="Seed Band", genre="polka", title=f"Band Song {n}")
    for n in range(12)
]
GENRE_POOL = [
    make_track(f"g{n}", artist=f"Synth Act {n}", genre="synthwave", title=f"Neon {n}")
    for n in range(12)
]
SIMILAR_POOL = [
    make_track(f"s{n}", artist=f"Other {n}", genre="jazz", title=f"Related {n}")
    for n in range(12)
]
CATALOGUE = [SEED, *ARTIST_POOL, *GENRE_POOL, *SIMILAR_POOL]
POOLS = {"artist": ARTIST_POOL, "genre": GENRE_POOL, "similar": SIMILAR_POOL}


def recommender() -> OfflineRecommender:
    return OfflineRecommender(CATALOGUE, related={SEED.id: [t.id for t in SIMILAR_POOL]})


def pool_of(track: Track) -> str:
    return next(name for name, pool in POOLS.items() if track in pool)


def engine(mode: AutoplayMode, **kwargs: object) -> AutoplayEngine:
    return AutoplayEngine(recommender(), mode, rng=random.Random(7), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mode", "pool"),
    [(AutoplayMode.ARTIST, "artist"), (AutoplayMode.GENRE, "genre"), (AutoplayMode.SIMILAR, "similar")],
)
async def test_each_single_mode_draws_from_its_own_pool(mode: AutoplayMode, pool: str) -> None:
    picks = await engine(mode).next_tracks([SEED], 8)
    assert len(picks) == 8 and len({t.id for t in picks}) == 8
    assert {pool_of(t) for t in picks} == {pool}


async def test_genre_falls_back_to_tags() -> None:
    tagged = make_track("tagged", artist="X", tags=("synthwave", "80s"))
    rec = OfflineRecommender([tagged, *GENRE_POOL])
    picks = await AutoplayEngine(rec, AutoplayMode.GENRE).next_tracks([tagged], 3)
    assert rec.calls == [("by_genre", "synthwave, 80s")]
    assert {pool_of(t) for t in picks} == {"genre"}


async def test_mixed_draws_from_every_pool() -> None:
    picks = await engine(AutoplayMode.MIXED).next_tracks([SEED], 25)
    counts = Counter(pool_of(t) for t in picks)
    assert len(picks) == 25 and set(counts) == {"artist", "genre", "similar"}


class EndlessRecommender:
    """Fresh, labelled tracks for every request, so each pick shows which strategy made it."""

    def __init__(self) -> None:
        self.serial = 0

    def _make(self, label: str, limit: int) -> list[Track]:
        self.serial += 1
        return [
            make_track(f"{label}-{self.serial}-{i}", artist=f"{label} {self.serial}", genre="pop")
            for i in range(limit)
        ]

    async def related(self, track: Track, limit: int) -> list[Track]:
        return self._make("similar", limit)

    async def by_artist(self, artist: str, limit: int) -> list[Track]:
        return self._make("artist", limit)

    async def by_genre(self, genre_or_tags: Sequence[str], limit: int) -> list[Track]:
        return self._make("genre", limit)


async def test_mixed_proportions_are_40_40_20() -> None:
    auto = AutoplayEngine(
        EndlessRecommender(), AutoplayMode.MIXED, rng=random.Random(2024), candidates_per_query=1
    )
    history = [make_track("start", artist="Someone", genre="pop")]
    counts: Counter[str] = Counter()
    for _ in range(1000):
        (pick,) = await auto.next_tracks(history, 1)
        counts[pick.id.split(":")[1].split("-")[0]] += 1
        history.append(pick)
    # Binomial standard deviation at n=1000 is about 15; allow four of them.
    assert abs(counts["artist"] - 400) < 60
    assert abs(counts["genre"] - 400) < 60
    assert abs(counts["similar"] - 200) < 50


def test_choose_strategy_matches_the_weights() -> None:
    auto = AutoplayEngine(recommender(), AutoplayMode.MIXED, rng=random.Random(1))
    counts = Counter(auto.choose_strategy() for _ in range(20000))
    assert counts[AutoplayMode.ARTIST] / 20000 == pytest.approx(0.4, abs=0.02)
    assert counts[AutoplayMode.GENRE] / 20000 == pytest.approx(0.4, abs=0.02)
    assert counts[AutoplayMode.SIMILAR] / 20000 == pytest.approx(0.2, abs=0.02)


async def test_recent_history_and_queued_tracks_are_never_repeated() -> None:
    played = ARTIST_POOL[:5]
    queued = ARTIST_POOL[5:8]
    picks = await engine(AutoplayMode.ARTIST).next_tracks([*played, SEED], 10, queued=queued)
    assert [t.id for t in picks] == [t.id for t in ARTIST_POOL[8:]]


async def test_history_window_is_the_last_n_tracks() -> None:
    old = ARTIST_POOL[0]
    filler = [make_track(f"f{n}", artist=f"Filler {n}") for n in range(3)]
    picks = await engine(AutoplayMode.ARTIST, history_window=4).next_tracks([old, *filler, SEED], 1)
    assert picks == [old]  # it fell out of the window of 4


async def test_the_same_song_under_another_id_is_a_repeat() -> None:
    reupload = make_track("yt", artist="SeedBandVEVO", title="Seed Band - Band Song 0 (Official Video)")
    assert song_key(reupload) == song_key(ARTIST_POOL[0])
    rec = OfflineRecommender([reupload, *ARTIST_POOL[:2]], related={SEED.id: ["test:yt", "test:a1"]})
    picks = await AutoplayEngine(rec, AutoplayMode.SIMILAR).next_tracks([ARTIST_POOL[0], SEED], 2)
    assert picks == [ARTIST_POOL[1]]


async def test_blocklist_of_artists_and_words() -> None:
    blocked = Blocklist.of(artists=["synth act 1", "Synth Act 2"], words=["NEON 3", "remix"])
    catalogue = [SEED, *GENRE_POOL, make_track("r", artist="Z", genre="synthwave", title="Night (Remix)")]
    auto = AutoplayEngine(OfflineRecommender(catalogue), AutoplayMode.GENRE, blocklist=blocked)
    picks = await auto.next_tracks([SEED], 20)
    names = {t.artist for t in picks}
    assert {"Synth Act 1", "Synth Act 2", "Synth Act 3"}.isdisjoint(names)
    assert "Synth Act 10" in names  # blocking "Synth Act 1" does not block "Synth Act 10"
    assert all("remix" not in t.title.casefold() for t in picks)
    assert Blocklist.of(words=["live"]).blocks(make_track("x", title="Live at Wembley"))
    assert not Blocklist.of(words=["live"]).blocks(make_track("x", title="Oliver"))
    assert Blocklist.of(artists=["Nickelback"]).blocks(make_track("x", artist="NickelbackVEVO"))
    assert Blocklist.of(artists=["Nickelback"]).blocks(make_track("x", artist="Nickelback - Topic"))
    assert Blocklist.of(artists=["Nickelback"]).blocks(
        make_track("x", artist="C", title="Nickelback - Photograph")
    )


async def test_live_and_overlong_tracks_are_not_autoplayed() -> None:
    long_one = make_track("long", artist="Seed Band", duration_s=3 * 3600.0)
    live = make_track("live", artist="Seed Band", duration_s=None)
    rec = OfflineRecommender([long_one, live, ARTIST_POOL[0]])
    assert await AutoplayEngine(rec, AutoplayMode.ARTIST).next_tracks([SEED], 3) == [ARTIST_POOL[0]]


async def test_mixed_falls_back_when_a_strategy_has_nothing() -> None:
    rec = OfflineRecommender([SEED, *GENRE_POOL])  # no other tracks by the artist, no explicit related
    picks = await AutoplayEngine(rec, AutoplayMode.MIXED, rng=random.Random(3)).next_tracks([SEED], 6)
    assert len(picks) == 6


class BrokenRecommender:
    def __init__(self, error: bool) -> None:
        self.error = error
        self.calls = 0

    async def _fail(self) -> list[Track]:
        self.calls += 1
        if self.error:
            raise RuntimeError("network down")
        return []

    async def related(self, track: Track, limit: int) -> list[Track]:
        return await self._fail()

    async def by_artist(self, artist: str, limit: int) -> list[Track]:
        return await self._fail()

    async def by_genre(self, genre_or_tags: Sequence[str], limit: int) -> list[Track]:
        return await self._fail()


@pytest.mark.parametrize("error", [True, False])
async def test_gives_up_quietly_after_three_failures_until_reset(error: bool) -> None:
    rec = BrokenRecommender(error)
    auto = AutoplayEngine(rec, AutoplayMode.SIMILAR)
    for n in range(3):
        assert not auto.gave_up
        assert await auto.next_tracks([SEED], 2) == []
        assert auto.consecutive_failures == n + 1
    assert auto.gave_up
    calls = rec.calls
    assert await auto.next_tracks([SEED], 2) == []
    assert rec.calls == calls  # no more requests once given up
    assert isinstance(auto.last_error, RuntimeError) == error
    auto.reset()
    assert not auto.gave_up
    auto.recommender = recommender()
    assert len(await auto.next_tracks([SEED], 1)) == 1


async def test_a_success_resets_the_failure_count() -> None:
    auto = engine(AutoplayMode.ARTIST)
    assert await auto.next_tracks([*ARTIST_POOL, SEED], 1) == []  # everything is in history
    assert auto.consecutive_failures == 1
    assert len(await auto.next_tracks([SEED], 1)) == 1
    assert auto.consecutive_failures == 0


async def test_no_seed_no_tracks() -> None:
    assert await engine(AutoplayMode.MIXED).next_tracks([], 3) == []


async def test_autoplay_into_queues_marked_entries() -> None:
    q = MusicQueue()
    q.add(SEED, requester_id=5)
    q.add(ARTIST_POOL[0], requester_id=5)
    q.advance()
    q.advance()
    added = await autoplay_into(q, engine(AutoplayMode.ARTIST), count=3)
    assert len(added) == 3 and all(e.autoplay and e.requester_id is None for e in added)
    assert [e.track for e in added] == ARTIST_POOL[1:4]
    assert q.upcoming == tuple(added)
