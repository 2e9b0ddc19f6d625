"""Playlists: order kept, names unique per user regardless of case, clear errors."""

from __future__ import annotations

import pytest

from musicbot.storage import (
    Database,
    EmptyPlaylistError,
    PlaylistExistsError,
    PlaylistLimitError,
    PlaylistNameError,
    PlaylistNotFoundError,
    PlaylistRepo,
    PlaylistTooLargeError,
)
from musicbot.storage import playlists as playlists_module
from tests.storage.factories import make_track

ALICE, BOB = 100000000000000001, 100000000000000002


async def test_save_and_load_keep_order_and_every_field(db: Database) -> None:
    repo = PlaylistRepo(db)
    tracks = [make_track(n) for n in (5, 3, 9, 1, 7)] + [make_track(5), make_track(2, duration_s=None, is_live=True)]
    summary = await repo.save(ALICE, "  Road   trip ", tracks)
    assert (summary.name, summary.track_count, summary.duration_s) == ("Road trip", 7, 180.5 * 6)
    loaded = await repo.load(ALICE, "road TRIP")
    assert loaded.tracks == tuple(tracks)
    assert loaded.name == "Road trip" and loaded.owner_id == ALICE
    assert loaded.created_at == summary.created_at and loaded.created_at.tzinfo is not None


async def test_names_are_unique_per_user_regardless_of_case(db: Database) -> None:
    repo = PlaylistRepo(db)
    await repo.save(ALICE, "Chill", [make_track(1)])
    with pytest.raises(PlaylistExistsError) as info:
        await repo.save(ALICE, "CHILL", [make_track(2)])
    assert str(info.value) == 'You already have a playlist named "Chill": pick another name or delete that one first.'
    await repo.save(BOB, "chill", [make_track(3)])  # another user may use the name
    assert (await repo.load(ALICE, "chill")).tracks == (make_track(1),)
    assert (await repo.load(BOB, "Chill")).tracks == (make_track(3),)


async def test_overwrite_replaces_the_tracks(db: Database) -> None:
    repo = PlaylistRepo(db)
    first = await repo.save(ALICE, "Mix", [make_track(n) for n in range(10)])
    second = await repo.save(ALICE, "mix", [make_track(20), make_track(21)], overwrite=True)
    assert second.created_at == first.created_at and second.updated_at >= first.updated_at
    assert (await repo.load(ALICE, "Mix")).tracks == (make_track(20), make_track(21))
    assert [s.track_count for s in await repo.list_for(ALICE)] == [2]


async def test_list_show_rename_delete(db: Database) -> None:
    repo = PlaylistRepo(db)
    for name in ("zeta", "Alpha", "beta"):
        await repo.save(ALICE, name, [make_track(1), make_track(2)])
    assert [s.name for s in await repo.list_for(ALICE)] == ["Alpha", "beta", "zeta"]
    assert await repo.list_for(BOB) == []
    await repo.rename(ALICE, "beta", "Gamma")
    renamed = await repo.rename(ALICE, "gamma", "GAMMA")  # only the case changes: allowed
    assert (renamed.name, renamed.track_count) == ("GAMMA", 2)
    with pytest.raises(PlaylistExistsError, match='named "Alpha"'):
        await repo.rename(ALICE, "GAMMA", "alpha")
    show = await repo.show(ALICE, "gamma")
    assert (show.name, show.track_count, show.duration_s) == ("GAMMA", 2, 361.0)
    await repo.delete(ALICE, "ZETA")
    assert [s.name for s in await repo.list_for(ALICE)] == ["Alpha", "GAMMA"]
    with pytest.raises(PlaylistNotFoundError) as info:
        await repo.load(ALICE, "zeta")
    assert str(info.value) == 'You have no playlist named "zeta"; `/playlist list` shows yours.'
    with pytest.raises(PlaylistNotFoundError):
        await repo.delete(BOB, "Alpha")
    with pytest.raises(PlaylistNotFoundError):
        await repo.rename(ALICE, "nope", "other")


async def test_delete_removes_the_tracks_too(db: Database) -> None:
    repo = PlaylistRepo(db)
    await repo.save(ALICE, "a", [make_track(1)])
    await repo.delete(ALICE, "a")
    await repo.save(ALICE, "a", [make_track(2)])
    assert (await repo.load(ALICE, "a")).tracks == (make_track(2),)


@pytest.mark.parametrize(("name", "message"), [
    ("   ", "Give the playlist a name (1 to 50 characters)."),
    ("x" * 51, "A playlist name is at most 50 characters; this one has 51."),
    ("bad\x00name", "A playlist name can't contain control or invisible characters."),
])
async def test_name_validation(db: Database, name: str, message: str) -> None:
    with pytest.raises(PlaylistNameError) as info:
        await PlaylistRepo(db).save(ALICE, name, [make_track(1)])
    assert str(info.value) == message


async def test_size_limits(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = PlaylistRepo(db)
    assert len((await repo.load(ALICE, (await repo.save(ALICE, "x" * 50, [make_track(n) for n in range(1000)])).name)
                ).tracks) == 1000
    with pytest.raises(PlaylistTooLargeError, match="at most 1000 tracks; this one would have 1001"):
        await repo.save(ALICE, "big", [make_track(n) for n in range(1001)])
    with pytest.raises(EmptyPlaylistError, match="the queue is empty"):
        await repo.save(ALICE, "empty", [])
    monkeypatch.setattr(playlists_module, "MAX_PLAYLISTS_PER_USER", 2)
    await repo.save(ALICE, "second", [make_track(1)])
    with pytest.raises(PlaylistLimitError, match="You have 2 playlists"):
        await repo.save(ALICE, "third", [make_track(1)])
    await repo.save(ALICE, "second", [make_track(2)], overwrite=True)  # overwriting is not a new one
