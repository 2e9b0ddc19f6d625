"""A server's playlists next to its members', sharing, and finding what a member may load in a server."""

from __future__ import annotations

import pytest

from musicbot.storage import (
    AmbiguousPlaylistError,
    AuditLog,
    Database,
    NoPlaylistHereError,
    NotYourPlaylistError,
    PlaylistExistsError,
    PlaylistLimitError,
    PlaylistNameError,
    PlaylistNotFoundError,
    PlaylistOwner,
    PlaylistRepo,
    PlaylistShelf,
)
from musicbot.storage import playlists as playlists_module
from tests.storage.factories import make_track

ALICE, BOB, CAROL, DAVE = 100000000000000001, 100000000000000002, 100000000000000003, 100000000000000004
GUILD, OTHER_GUILD = 200000000000000001, 200000000000000002
SERVER = PlaylistOwner.guild(GUILD)


async def test_a_servers_playlists_are_its_own_and_audited(db: Database) -> None:
    repo = PlaylistRepo(db)
    await repo.save(ALICE, "Party", [make_track(1)])
    saved = await repo.save(SERVER, "party", [make_track(2), make_track(3)], actor_id=BOB)  # its own names
    assert (saved.owner, saved.name, saved.track_count) == (SERVER, "party", 2)
    assert [p.name for p in await repo.list_for(SERVER)] == ["party"]
    assert [p.name for p in await repo.list_for(ALICE)] == ["Party"]  # a member's list is theirs alone
    with pytest.raises(PlaylistExistsError, match='This server already has a playlist named "party"'):
        await repo.save(SERVER, "PARTY", [make_track(1)], actor_id=BOB)
    await repo.rename(SERVER, "party", "Friday", actor_id=CAROL)
    assert (await repo.load(SERVER, "friday")).tracks == (make_track(2), make_track(3))
    await repo.delete(SERVER, "Friday", actor_id=BOB)
    with pytest.raises(PlaylistNotFoundError, match='This server has no playlist named "Friday"'):
        await repo.load(SERVER, "Friday")
    entries = await AuditLog(db).recent(GUILD)
    assert [(e.action, e.actor_id, e.details) for e in reversed(entries)] == [
        ("playlist.save", BOB, {"name": "party", "tracks": 2}),
        ("playlist.rename", CAROL, {"name": ["party", "Friday"]}),
        ("playlist.delete", BOB, {"name": "Friday"})]
    await repo.save(ALICE, "Mine", [make_track(1)], actor_id=ALICE)
    assert len(await AuditLog(db).recent(ALICE)) == 0  # a member's own playlists are nobody's business


async def test_a_server_has_the_same_limit_as_a_member(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(playlists_module, "MAX_PLAYLISTS_PER_USER", 1)
    await PlaylistRepo(db).save(SERVER, "one", [make_track(1)])
    with pytest.raises(PlaylistLimitError, match="This server has 1 playlists"):
        await PlaylistRepo(db).save(SERVER, "two", [make_track(1)])


async def test_sharing_lets_the_servers_members_find_it(db: Database) -> None:
    repo, shelf = PlaylistRepo(db), PlaylistShelf(db)
    road = await repo.save(ALICE, "Road trip", [make_track(1)])
    assert await shelf.share(road, GUILD, "someone") is True
    assert await shelf.share(road, GUILD, "someone") is False  # already
    bob_sees = await shelf.shelf(BOB, GUILD)
    assert ([p.name for p in bob_sees.shared], bob_sees.mine, bob_sees.server) == (["Road trip"], (), ())
    assert bob_sees.shared_by == {road.id: "someone"}
    alice_sees = await shelf.shelf(ALICE, GUILD)
    assert [p.name for p in alice_sees.mine] == ["Road trip"] and alice_sees.shared == ()
    assert alice_sees.mine_shared_here == {road.id}
    assert (await shelf.find(BOB, GUILD, "road TRIP")).id == road.id
    with pytest.raises(NoPlaylistHereError, match='You have no playlist named "Road trip"'):
        await shelf.find(BOB, OTHER_GUILD, "Road trip")  # shared with one server, not every server
    with pytest.raises(NotYourPlaylistError, match="only they can change it"):
        await shelf.find(BOB, GUILD, "Road trip", to_change=True)
    [audited] = await AuditLog(db).recent(GUILD)
    assert (audited.action, audited.actor_id) == ("playlist.share", ALICE)

    assert await shelf.unshare(road, GUILD, actor_id=CAROL) is True  # a server manager may take it off
    assert await shelf.unshare(road, GUILD, actor_id=CAROL) is False
    assert (await shelf.shelf(BOB, GUILD)).empty
    with pytest.raises(NoPlaylistHereError):
        await shelf.find(BOB, GUILD, "Road trip")


async def test_what_a_name_means_yours_then_a_reference_then_the_servers_then_shared(db: Database) -> None:
    repo, shelf = PlaylistRepo(db), PlaylistShelf(db)
    bobs = await repo.save(BOB, "Chill", [make_track(1)])
    servers = await repo.save(SERVER, "Chill", [make_track(2)])
    alices = await repo.save(ALICE, "Chill", [make_track(3)])
    await shelf.share(alices, GUILD, "someone")
    assert (await shelf.find(BOB, GUILD, "chill")).id == bobs.id
    assert (await shelf.find(CAROL, GUILD, "chill")).id == servers.id
    assert (await shelf.find(BOB, GUILD, f"#{alices.id}")).id == alices.id  # the suggestions' reference
    assert (await shelf.find(BOB, GUILD, f"#{servers.id}")).id == servers.id
    with pytest.raises(NoPlaylistHereError):
        await shelf.find(CAROL, OTHER_GUILD, f"#{servers.id}")  # another server's: as if it did not exist
    with pytest.raises(NoPlaylistHereError):
        await shelf.find(CAROL, GUILD, f"#{bobs.id}")  # a member's, not shared
    await repo.delete(SERVER, "Chill")
    carols = await repo.save(CAROL, "Other", [make_track(4)])
    await shelf.share(await repo.save(CAROL, "Chill", [make_track(5)]), GUILD, "carol")
    with pytest.raises(AmbiguousPlaylistError, match='2 members shared a playlist named "chill" here'):
        await shelf.find(DAVE, GUILD, "chill")
    assert (await shelf.find(CAROL, GUILD, "chill")).owner_id == CAROL  # hers first
    assert (await shelf.find(CAROL, GUILD, "Other")).id == carols.id


async def test_deleting_a_shared_playlist_unshares_it(db: Database) -> None:
    repo, shelf = PlaylistRepo(db), PlaylistShelf(db)
    road = await repo.save(ALICE, "Road trip", [make_track(1)])
    await shelf.share(road, GUILD, "someone")
    await shelf.share(road, OTHER_GUILD, "someone")
    await repo.delete(ALICE, "Road trip")
    assert not await shelf.is_shared(road.id, GUILD) and not await shelf.is_shared(road.id, OTHER_GUILD)
    assert (await shelf.shelf(BOB, GUILD)).empty


@pytest.mark.parametrize("name", ["#12", " #0 ", "#99999999999"])
async def test_references_are_no_names(db: Database, name: str) -> None:
    with pytest.raises(PlaylistNameError, match="# and a number pick a playlist from the suggestions"):
        await PlaylistRepo(db).save(ALICE, name, [make_track(1)])
    await PlaylistRepo(db).save(ALICE, f"{name} mix", [make_track(1)])  # a word more is a name
