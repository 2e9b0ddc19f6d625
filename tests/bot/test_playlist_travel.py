"""Playlists that travel (issue 19): /playlist export and import (a file or a playlist link), the progress of a
long import, server playlists (DJ or Manage Server), /playlist share, and refusals that leave nothing behind.

A user's attachment is served by the fake Discord's CDN (``FakeDiscord.attachment``, optionally held back by a
gate: the download waits, so a test sees the answer given before the work is done); the file the bot sends is
read back from ``FakeDiscord.uploads``. What the user reads is the interaction's original message, edited in
place as the import goes.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from musicbot.bot.cogs.library import LibraryCog
from musicbot.sources.errors import PlaylistNotReadableError, PrivateError
from musicbot.sources.models import Resolved, ResolvedKind
from musicbot.storage import AuditLog, PlaylistOwner, PlaylistShelf
from musicbot.storage.playlist_file import encode_playlist
from musicbot.track import Track, format_duration
from tests.bot.answers import ADMIN_ID, command, refused, suggestions
from tests.bot.world import ADMIN, ADMIN_ROLE, ALICE, BOB, DJ, DJ_ROLE, GUILD, TEXT, World, track_for, wait_for
from tests.harness import invoke
from tests.harness.payloads import Payload
from tests.storage.factories import T0

ALICE_ID, BOB_ID, DJ_ID = int(ALICE["id"]), int(BOB["id"]), int(DJ["id"])
ROLES = {DJ["id"]: [DJ_ROLE], ADMIN["id"]: [ADMIN_ROLE]}
OPT_ATTACHMENT = 11
SPOTIFY_LIST = "https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M"


@pytest.fixture(autouse=True)
def every_step_shown(world: World) -> None:
    cog = world.bot.get_cog("LibraryCog")
    assert isinstance(cog, LibraryCog)
    cog.progress_interval_s = 0.0  # each report edits the answer: the test sees every step


def length(tracks_: list[Track]) -> str:
    return format_duration(sum(t.duration_s or 0.0 for t in tracks_))


def tracks(world: World, *names: str) -> list[Track]:
    return [track_for(n, world.media[n]) for n in names]


def web_tracks(count: int) -> list[Track]:
    return [Track(id=f"youtube:v{n:010d}", title=f"Song {n}", artist=f"Band {n % 9}", duration_s=200.0 + n % 60,
                  url=f"https://www.youtube.com/watch?v=v{n:010d}") for n in range(count)]


def playlist_file(world: World, tracks_: list[Track], name: str = "Road trip") -> bytes:
    return encode_playlist(name, tracks_, exported_at=T0, generator="musicbot test")


async def run(world: World, name: str, options: dict[str, Any] | None = None, *, user: Payload = ALICE,
              resolved: Payload | None = None) -> Payload:
    """Run ``/name`` as ``user``; the payload names the interaction (``shown`` reads its answer)."""
    payload = world.fake.slash(name, options, guild_id=GUILD, channel_id=TEXT, user=user,
                               roles=ROLES.get(user["id"], []), resolved=resolved)
    error = await invoke(world.bot, payload)
    assert error is None or "⚠️" in shown(world, payload), error
    return payload


async def import_file(world: World, data: bytes, filename: str = "road-trip.musicbot-playlist.json", *,
                      user: Payload = ALICE, gate: asyncio.Event | None = None, **options: Any) -> Payload:
    attachment = world.fake.attachment(filename, data, gate=gate)
    return await run(world, "playlist import", {"file": {"type": OPT_ATTACHMENT, "value": attachment["id"]},
                                                **options},
                     user=user, resolved={"attachments": {attachment["id"]: attachment}})


def shown(world: World, payload: Payload) -> str:
    """What the user reads now: the interaction's answer, as last edited."""
    original = payload.get("_original")
    if original is None:
        return ""
    content: str = world.fake.messages[original]["content"]
    return content


def private(world: World, payload: Payload) -> bool:
    [callback] = world.fake.callbacks(payload)
    return bool((callback["data"] or {}).get("flags", 0) & 64)


async def finished(world: World, payload: Payload) -> str:
    """The answer once the job said its last word."""
    await wait_for(lambda: shown(world, payload).startswith(("📥", "⚠️")))
    return shown(world, payload)


def steps(world: World, payload: Payload) -> list[str]:
    """Every text the answer showed, in order: the first answer, then each edit."""
    texts = [(cb.get("data") or {}).get("content") for cb in world.fake.callbacks(payload)]
    texts += [r.json.get("content") for r in world.fake.followups(payload) if r.method == "PATCH"]
    return [t for t in texts if t]


async def names(world: World, user_id: int) -> list[str]:
    return [p.name for p in await world.bot.playlists.list_for(user_id)]


# ---------------------------------------------------------------- export → import
async def test_export_then_import_round_trip(world: World) -> None:
    saved = [*tracks(world, "long440", "a660"), *web_tracks(2)]
    await world.bot.playlists.save(ALICE_ID, "Road trip", saved)
    answer = await command(world, "playlist export", {"name": "road trip"})
    assert answer.ephemeral and answer.error is None
    assert answer.content == (f"📤 “Road trip”: 4 tracks ({length(saved)}). Keep the file, or load it into any "
                              "server with `/playlist import`.")
    [upload] = world.fake.uploads
    assert upload.filename == "road-trip.musicbot-playlist.json"
    exported = json.loads(upload.data)
    assert (exported["format"], exported["version"], exported["name"]) == ("musicbot-playlist", 1, "Road trip")
    assert [t["title"] for t in exported["tracks"]] == [t.title for t in saved]

    payload = await import_file(world, upload.data, upload.filename, user=BOB)
    assert private(world, payload)
    assert await finished(world, payload) == (f"📥 Imported “Road trip”: 4 tracks ({length(saved)}), as your "
                                              "playlist. Play it with `/playlist load`.")
    imported = await world.bot.playlists.load(BOB_ID, "Road trip")
    fields = ("title", "artist", "duration_s", "url", "source", "is_live", "thumbnail_url")
    assert [[getattr(t, f) for f in fields] for t in imported.tracks] == [[getattr(t, f) for f in fields]
                                                                          for t in saved]
    assert [t.id for t in imported.tracks[2:]] == [t.id for t in saved[2:]]  # YouTube videos keep their ids

    await world.join(BOB)  # and it plays
    await run(world, "playlist load", {"name": "Road trip"}, user=BOB)
    session = world.bot.sessions.get(GUILD)
    assert session is not None and session.queue.current is not None
    assert session.queue.current.track.title == "Tone long440"
    await wait_for(lambda: world.fake.rtp != [])


async def test_export_of_a_server_playlist_and_of_a_shared_one(world: World) -> None:
    await world.bot.playlists.save(PlaylistOwner.guild(GUILD), "Party", tracks(world, "a440"))
    assert (await command(world, "playlist export", {"name": "Party"}, user=BOB)).content.startswith("📤 “Party”")
    chill = await world.bot.playlists.save(ALICE_ID, "Chill", tracks(world, "a660"))
    assert refused(await command(world, "playlist export", {"name": "Chill"}, user=BOB), "no playlist named")
    await PlaylistShelf(world.bot.db).share(chill, GUILD, "alice")
    assert (await command(world, "playlist export", {"name": "Chill"}, user=BOB)).content.startswith("📤 “Chill”")
    assert [u.filename for u in world.fake.uploads] == ["party.musicbot-playlist.json",
                                                        "chill.musicbot-playlist.json"]


# ---------------------------------------------------------------- a long import: answered at once, progress, responsive
async def test_a_500_track_import_is_answered_at_once_with_progress(world: World) -> None:
    gate = asyncio.Event()  # the download waits for it: the answer must not
    data = playlist_file(world, web_tracks(500), name="Big")
    kilobytes = f"{len(data) / 1024:.0f} KB"
    payload = await import_file(world, data, "big.json", gate=gate)
    [first] = world.fake.callbacks(payload)
    assert first["type"] == 4 and private(world, payload)
    assert first["data"]["content"] == f"⏳ Importing “big.json” ({kilobytes})…"
    await asyncio.sleep(0.05)
    assert shown(world, payload).startswith("⏳")  # still downloading

    # Meanwhile the bot answers everything else at once.
    await world.bot.playlists.save(ALICE_ID, "Small", tracks(world, "a440"))
    listed = await command(world, "playlist list")
    assert listed.error is None and "Small" in listed.embeds[0]["description"]
    assert "Big" not in await names(world, ALICE_ID)
    busy = await import_file(world, data, "again.json")
    assert shown(world, busy) == ("⚠️ Your last import is still running: wait for its answer, then import the "
                                  "next.")

    gate.set()
    assert await finished(world, payload) == (f"📥 Imported “Big”: 500 tracks ({length(web_tracks(500))}), as your "
                                              "playlist. Play it with `/playlist load`.")
    seen = steps(world, payload)
    checking = [s for s in seen if s.startswith("⏳ Checking")]
    assert checking == [f"⏳ Checking the tracks of “big.json”: {bar} {n}/500" for n, bar in (
        (100, "▰▰▱▱▱▱▱▱▱▱"), (200, "▰▰▰▰▱▱▱▱▱▱"), (300, "▰▰▰▰▰▰▱▱▱▱"), (400, "▰▰▰▰▰▰▰▰▱▱"))]
    assert seen.index(checking[-1]) < seen.index("⏳ Saving 500 tracks as “Big”…") < len(seen) - 1
    big = await world.bot.playlists.load(ALICE_ID, "Big")
    assert [t.title for t in big.tracks] == [f"Song {n}" for n in range(500)]


async def test_a_500_track_playlist_link_is_answered_at_once_then_read(world: World) -> None:
    resolver = GatedResolver(world, Resolved(ResolvedKind.PLAYLIST, tuple(web_tracks(500)), "Today's Top Hits"))
    payload = await run(world, "playlist import", {"link": SPOTIFY_LIST})
    assert steps(world, payload)[0] == f"⏳ Importing the playlist at <{SPOTIFY_LIST}>…"
    await wait_for(lambda: resolver.asked)
    assert shown(world, payload) == "⏳ Reading the playlist from Spotify… (a long one takes a few seconds)"
    assert (await command(world, "playlist list")).error is None  # responsive meanwhile
    resolver.gate.set()
    assert await finished(world, payload) == (
        f"📥 Imported “Today's Top Hits”: 500 tracks ({length(web_tracks(500))}), as your playlist. Play it with "
        "`/playlist load`. Spotify links are read up to their first 500 tracks.")
    assert resolver.queries == [SPOTIFY_LIST]


async def test_private_and_deleted_videos_of_a_youtube_playlist_are_left_out_and_counted(world: World) -> None:
    gone = [Track(id=f"youtube:gone{n}", title=title, artist="", duration_s=None,
                  url=f"https://www.youtube.com/watch?v=gone{n}") for n, title in enumerate(
                      ["[Private video]", "[Deleted video]"])]
    GatedResolver(world, Resolved(ResolvedKind.PLAYLIST, (gone[0], *web_tracks(2), gone[1]), "Mix")).gate.set()
    payload = await run(world, "playlist import", {"link": "https://www.youtube.com/playlist?list=PLx"})
    assert await finished(world, payload) == ("📥 Imported “Mix”: 2 tracks (6:41), as your playlist. Play it with "
                                              "`/playlist load`. 2 tracks left out: private or deleted videos.")
    GatedResolver(world, Resolved(ResolvedKind.PLAYLIST, tuple(gone), "Gone")).gate.set()
    payload = await run(world, "playlist import", {"link": "https://www.youtube.com/playlist?list=PLy"})
    assert await finished(world, payload) == ("⚠️ Nothing was imported: None of that playlist's videos can be "
                                              "played (private or deleted).")


async def test_a_youtube_video_opened_from_a_playlist_imports_the_playlist(world: World) -> None:
    resolver = GatedResolver(world, Resolved(ResolvedKind.PLAYLIST, tuple(web_tracks(3)), "Mix"))
    resolver.gate.set()
    payload = await run(world, "playlist import", {"link": "https://www.youtube.com/watch?v=abc&list=PLx1",
                                                   "name": "Gym"})
    assert await finished(world, payload) == "📥 Imported “Gym”: 3 tracks (10:03), as your playlist. Play it with " \
                                             "`/playlist load`."
    assert resolver.queries == ["https://www.youtube.com/playlist?list=PLx1"]


async def test_loading_a_500_track_playlist_says_so_at_once_then_what_was_queued(world: World) -> None:
    big = tracks(world, "long440", "long660") * 250
    await world.bot.playlists.save(ALICE_ID, "Big", big)
    await world.bot.update_guild_settings(GUILD, ADMIN_ID, max_queue_length=1000)
    await world.join(ALICE)
    payload = await run(world, "playlist load", {"name": "big"})
    assert steps(world, payload) == ["⏳ Loading “Big”: 500 tracks…",
                                     f"📂 Queued 500 tracks from “Big” ({length(big)})."]
    session = world.bot.sessions.get(GUILD)
    assert session is not None and len(session.queue.upcoming) == 499
    assert (await command(world, "queue")).error is None  # and the bot answers on
    await wait_for(lambda: world.fake.rtp != [])


class GatedResolver:
    """The bot's resolver for one test: answers every query with ``answer`` (or raises it) once ``gate`` is set."""

    def __init__(self, world: World, answer: Resolved | Exception) -> None:
        self.answer = answer
        self.gate = asyncio.Event()
        self.queries: list[str] = []
        world.bot.sessions.resolver = self  # type: ignore[assignment]

    @property
    def asked(self) -> bool:
        return bool(self.queries)

    async def resolve(self, query: str) -> Resolved:
        self.queries.append(query)
        await self.gate.wait()
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


# ---------------------------------------------------------------- bad input: a clear message, nothing imported
def bad_files(world: World) -> list[tuple[bytes, str]]:
    good = json.loads(playlist_file(world, web_tracks(400)))
    broken_track = json.loads(json.dumps(good))
    broken_track["tracks"][299]["url"] = "ftp://example.com/x"
    return [
        (b"this is not json", "“f.json” is not valid JSON (line 1, column 1: Expecting value). Attach the file "
                              "/playlist export made, unchanged, or fix it there."),
        (json.dumps({**good, "version": 7}).encode(),
         "“f.json” is format version 7, made by a newer musicbot; this bot reads version 1."),
        (json.dumps({"tracks": good["tracks"]}).encode(), "“f.json” is not a musicbot playlist"),
        (json.dumps(broken_track).encode(),
         'Track 300 in the file: "url" must be a web link (http or https), not ftp://'),
        (json.dumps({**good, "name": "#5"}).encode(), "The file's name for the playlist can't be used (A playlist "
                                                      "can't be named “#5”"),
    ]


async def test_a_bad_file_gets_a_clear_message_and_nothing_is_imported(world: World) -> None:
    for data, message in bad_files(world):
        payload = await import_file(world, data, "f.json")
        answer = await finished(world, payload)
        assert answer.startswith("⚠️ Nothing was imported: ") and message in answer, answer
    assert await names(world, ALICE_ID) == []


async def test_refused_at_once_before_any_work(world: World) -> None:
    await world.bot.update_guild_settings(GUILD, ADMIN_ID, dj_role_id=DJ_ROLE)
    too_big = world.fake.attachment("huge.json", b"{}")
    too_big["size"] = 3 * 1024 * 1024
    payload = await run(world, "playlist import", {"file": {"type": OPT_ATTACHMENT, "value": too_big["id"]}},
                        resolved={"attachments": {too_big["id"]: too_big}})
    assert shown(world, payload) == ("⚠️ “huge.json” is 3.0 MB; a playlist file is at most 2.0 MB. Split the "
                                     "playlist, or import its link instead.")
    for options, message in [
        ({}, "Attach a file made by /playlist export (`file`), or paste a Spotify or YouTube playlist link (`link`): "
             "one of the two."),
        ({"link": "lofi beats to study to"}, "That is not a link: paste a playlist's address"),
        ({"link": SPOTIFY_LIST, "name": "#3"}, "A playlist can't be named “#3”"),
        ({"link": SPOTIFY_LIST, "server": True}, "This server's playlists are made and changed by members with the "
                                                 "DJ role"),
    ]:
        answer = await command(world, "playlist import", options)
        assert refused(answer, message), (options, answer.content)
    await world.bot.playlists.save(ALICE_ID, "Chill", tracks(world, "a440"))
    answer = await command(world, "playlist import", {"link": SPOTIFY_LIST, "name": "chill"})
    assert refused(answer, 'You already have a playlist named "Chill"')
    assert await names(world, ALICE_ID) == ["Chill"]


@pytest.mark.parametrize(("answer", "message"), [
    (Resolved(ResolvedKind.TRACK, tuple(web_tracks(1))), "That link is a single track, not a playlist: paste a "
                                                        "playlist or album link, or use /play for one track."),
    (PrivateError(), "That playlist is private: make it public or unlisted (or share a copy that is), then import "
                     "it again."),
    (PlaylistNotReadableError(), "Spotify does not let the bot read this playlist"),
    (Resolved(ResolvedKind.PLAYLIST, tuple(web_tracks(1001)), "Huge"),
     "That playlist has 1001 tracks; a playlist here holds at most 1000. Import a shorter one, or split it."),
])
async def test_a_link_that_is_no_readable_playlist(world: World, answer: Resolved | Exception, message: str) -> None:
    GatedResolver(world, answer).gate.set()
    payload = await run(world, "playlist import", {"link": SPOTIFY_LIST})
    shown_ = await finished(world, payload)
    assert shown_.startswith("⚠️ Nothing was imported: ") and message in shown_, shown_
    assert await names(world, ALICE_ID) == []


async def test_a_file_discord_no_longer_has(world: World) -> None:
    attachment = world.fake.attachment("gone.json", b"{}")
    world.fake.forget_attachment(attachment["id"])
    payload = await run(world, "playlist import", {"file": {"type": OPT_ATTACHMENT, "value": attachment["id"]}},
                        resolved={"attachments": {attachment["id"]: attachment}})
    assert await finished(world, payload) == ("⚠️ Nothing was imported: Discord did not hand over “gone.json” "
                                              "(HTTP 404): attach it again.")


async def test_a_name_taken_by_the_file_is_refused_then_overwritten_on_request(world: World) -> None:
    await world.bot.playlists.save(ALICE_ID, "Road trip", tracks(world, "a440"))
    data = playlist_file(world, web_tracks(3))
    payload = await import_file(world, data)
    assert await finished(world, payload) == (
        '⚠️ Nothing was imported: You already have a playlist named "Road trip": pick another name or delete that '
        "one first. Or import it under another `name`, or set `overwrite` to replace it.")
    assert len((await world.bot.playlists.load(ALICE_ID, "Road trip")).tracks) == 1
    payload = await import_file(world, data, overwrite=True)
    assert (await finished(world, payload)).startswith("📥 Imported “Road trip”: 3 tracks")
    payload = await import_file(world, data, name="Copy")
    assert (await finished(world, payload)).startswith("📥 Imported “Copy”: 3 tracks")
    assert await names(world, ALICE_ID) == ["Copy", "Road trip"]


async def test_a_restart_stops_an_import_and_says_so(world: World) -> None:
    gate = asyncio.Event()
    payload = await import_file(world, playlist_file(world, web_tracks(5)), gate=gate)
    try:
        await world.bot.close()
        assert await finished(world, payload) == ("⚠️ Nothing was imported: the bot is restarting. Run /playlist "
                                                  "import again in a minute.")
    finally:
        gate.set()  # the fake's download handler ends (its server would wait a minute for it when it stops)


# ---------------------------------------------------------------- server playlists
async def test_server_playlists_are_made_by_djs_and_loaded_by_everyone(world: World) -> None:
    await world.bot.update_guild_settings(GUILD, ADMIN_ID, dj_role_id=DJ_ROLE)
    await world.join(ALICE)
    await command(world, "play", {"query": "long440"})
    no = await command(world, "playlist save", {"name": "Party", "server": True})
    assert refused(no, "This server's playlists are made and changed by members with the DJ role (<@&1500>) or "
                       "Manage Server.")
    yes = await command(world, "playlist save", {"name": "Party", "server": True}, user=DJ)
    assert yes.content == "💾 Saved “Party” for this server: 1 track (0:06)."
    assert await world.bot.playlists.list_for(PlaylistOwner.guild(GUILD)) != []
    listed = await command(world, "playlist list", user=BOB)
    assert [e["title"] for e in listed.embeds] == ["This server's playlists"]
    assert listed.embeds[0]["description"] == "**Party** — 1 track, 0:06"
    shown_ = await command(world, "playlist show", {"name": "party"}, user=BOB)
    assert shown_.embeds[0]["footer"]["text"] == "1 track · 0:06 · this server's"

    for sub, options in (("delete", {"name": "Party"}), ("rename", {"name": "Party", "new_name": "X"})):
        assert refused(await command(world, f"playlist {sub}", options), "made and changed by members with the DJ")
    renamed = await command(world, "playlist rename", {"name": "party", "new_name": "Friday"}, user=ADMIN,
                            roles=[ADMIN_ROLE])
    assert renamed.content == "✏️ Renamed “Party” to “Friday”."
    deleted = await command(world, "playlist delete", {"name": "Friday"}, user=DJ)
    assert deleted.content == "🗑️ Deleted this server's playlist “Friday”."
    audited = [(e.action, e.actor_id) for e in reversed(await AuditLog(world.bot.db).recent(GUILD))]
    assert audited[-3:] == [("playlist.save", DJ_ID), ("playlist.rename", ADMIN_ID), ("playlist.delete", DJ_ID)]


async def test_a_dj_imports_a_server_playlist_and_a_member_loads_it(world: World) -> None:
    GatedResolver(world, Resolved(ResolvedKind.PLAYLIST, tuple(tracks(world, "a440", "a660")), "Mix")).gate.set()
    payload = await run(world, "playlist import", {"link": SPOTIFY_LIST, "server": True}, user=DJ)
    assert await finished(world, payload) == ("📥 Imported “Mix”: 2 tracks (0:02), as this server's playlist. Play "
                                              "it with `/playlist load`.")
    await world.join(BOB)
    answer = await command(world, "playlist load", {"name": "mix"}, user=BOB)
    assert answer.content == "📂 Queued 2 tracks from “Mix” (0:02)." and not answer.ephemeral


async def test_your_own_name_comes_first_and_suggestions_tell_them_apart(world: World) -> None:
    server = await world.bot.playlists.save(PlaylistOwner.guild(GUILD), "Chill", tracks(world, "a660"))
    await world.bot.playlists.save(ALICE_ID, "Chill", tracks(world, "a440"))
    assert await suggestions(world, "playlist load", {"name": "chi"}, "name") == [
        {"name": "Chill (1 track)", "value": "Chill"},
        {"name": "Chill (1 track, this server's)", "value": f"#{server.id}"}]
    assert await suggestions(world, "playlist share", {"name": ""}, "name") == [
        {"name": "Chill (1 track)", "value": "Chill"}]  # only your own are yours to share
    await world.join(ALICE)
    assert (await command(world, "playlist load", {"name": f"#{server.id}"})).content.startswith("📂 Queued 1 track")
    session = world.bot.sessions.get(GUILD)
    assert session is not None and session.queue.current is not None
    assert session.queue.current.track.title == "Tone a660"


# ---------------------------------------------------------------- sharing
async def test_share_lets_the_servers_members_load_it_until_stopped(world: World) -> None:
    chill = await world.bot.playlists.save(ALICE_ID, "Chill", tracks(world, "a440", "a660"))
    await world.join(BOB)
    assert refused(await command(world, "playlist load", {"name": "Chill"}, user=BOB), "no playlist named")
    answer = await command(world, "playlist share", {"name": "chill"})
    assert answer.ephemeral and answer.content == (
        "🔗 Shared “Chill” with this server: its members can load it with `/playlist load` (it follows your "
        "changes). `/playlist share` with `stop` ends it.")
    assert (await command(world, "playlist share", {"name": "Chill"})).content == \
        "“Chill” is shared with this server already."
    mine = await command(world, "playlist list")
    assert mine.embeds[0]["description"] == "**Chill** — 2 tracks, 0:02 · 🔗 shared here"
    theirs = await command(world, "playlist list", user=BOB)
    assert [(e["title"], e["description"]) for e in theirs.embeds] == [
        ("Shared here by members", f"**Chill** — 2 tracks, 0:02 · <@{ALICE_ID}>")]
    assert await suggestions(world, "playlist load", {"name": ""}, "name", user=BOB) == [
        {"name": "Chill (2 tracks, shared by alice)", "value": f"#{chill.id}"}]
    assert (await command(world, "playlist load", {"name": "chill"}, user=BOB)).content.startswith(
        "📂 Queued 2 tracks from “Chill”")
    assert refused(await command(world, "playlist delete", {"name": "Chill"}, user=BOB),
                   "is another member's playlist shared here: only they can change it")
    assert refused(await command(world, "playlist share", {"name": "Chill", "stop": True}, user=BOB),
                   "only they, or a member with Manage Server, can stop sharing it here")

    stopped = await command(world, "playlist share", {"name": "Chill", "stop": True}, user=ADMIN, roles=[ADMIN_ROLE])
    assert stopped.content == "Stopped sharing “Chill” here."
    assert refused(await command(world, "playlist show", {"name": "Chill"}, user=BOB), "no playlist named")
    actions = [(e.action, e.actor_id) for e in reversed(await AuditLog(world.bot.db).recent(GUILD))]
    assert actions == [("playlist.share", ALICE_ID), ("playlist.unshare", ADMIN_ID)]


async def test_a_servers_own_playlist_is_not_shared(world: World) -> None:
    await world.bot.playlists.save(PlaylistOwner.guild(GUILD), "Party", tracks(world, "a440"))
    assert refused(await command(world, "playlist share", {"name": "Party"}),
                   "“Party” is this server's playlist: everyone here can load it.")


async def test_storage_outage_during_import(world: World) -> None:
    data = playlist_file(world, web_tracks(3))
    gate = asyncio.Event()
    payload = await import_file(world, data, gate=gate)
    await world.bot.db.close()
    gate.set()
    answer = await finished(world, payload)
    assert re.fullmatch(r"⚠️ Nothing was imported: The database is not (reachable|answering) right now; playback "
                        r"goes on\. Try again in a minute\.", answer), answer
