"""/playlist save|load|list|show|delete|rename, /history, and the recording of plays (musicbot/bot/history.py).

Effects are read back from the real SQLite database: playlist rows through ``PlaylistRepo``, plays through
``HistoryRepo`` after the write-behind outbox is flushed.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from musicbot.storage import HistoryEntry, PlayOutcome
from musicbot.track import Track
from tests.bot.answers import ADMIN_ID, Answer, command, playing, refused, suggestions
from tests.bot.world import ALICE, BOB, GUILD, TEXT, World, track_for, wait_for
from tests.harness import invoke
from tests.harness.payloads import OPT_USER, Payload

ALICE_ID, BOB_ID = int(ALICE["id"]), int(BOB["id"])


def tracks(world: World, *names: str) -> list[Track]:
    return [track_for(n, world.media[n]) for n in names]


def private(answer: Answer, text: str) -> bool:
    """An ephemeral success answer containing ``text`` (in its content or an embed's title or description)."""
    shown = answer.content + "".join(str(e.get("description", "")) + str(e.get("title", "")) for e in answer.embeds)
    # Deferred (type 5) or not: a command that reads storage defers first, the user sees the same answer.
    return answer.type in (4, 5) and answer.ephemeral and answer.error is None and text in shown


async def plays(world: World, count: int, *, ended: bool = False, timeout_s: float = 10.0) -> list[HistoryEntry]:
    """The guild's plays (newest first; with ``ended`` only those with an outcome) once there are
    ``count``: recording is write-behind, so flush and look."""
    deadline = time.perf_counter() + timeout_s
    while True:
        await world.bot.db.outbox.flush()
        found = [p for p in await world.bot.history.recent_by_guild(GUILD) if p.outcome is not None or not ended]
        if len(found) >= count:
            return found
        if time.perf_counter() > deadline:
            raise AssertionError(f"{count} plays expected, found {len(found)}")
        await asyncio.sleep(0.02)


# ---------------------------------------------------------------- /playlist save
async def test_save_the_current_track_and_the_queue(world: World) -> None:
    await playing(world, "long440")
    await command(world, "play", {"query": "a660"})
    answer = await command(world, "playlist save", {"name": "  Road   trip "})
    assert private(answer, "💾 Saved “Road trip”: 2 tracks (0:07).")
    saved = await world.bot.playlists.load(ALICE_ID, "road trip")
    assert [t.id for t in saved.tracks] == ["local:long440", "local:a660"]


async def test_save_refusals(world: World) -> None:
    assert refused(await command(world, "playlist save", {"name": "Mix"}), "There is nothing to save")
    await playing(world, "a440")
    assert private(await command(world, "playlist save", {"name": "Mix"}), "Saved “Mix”")
    assert refused(await command(world, "playlist save", {"name": "mix"}), 'already have a playlist named "Mix"')
    assert private(await command(world, "playlist save", {"name": "mix", "overwrite": True}), "Saved “mix”")
    assert refused(await command(world, "playlist save", {"name": "x" * 60}), "at most 50 characters")
    assert [p.name for p in await world.bot.playlists.list_for(ALICE_ID)] == ["mix"]


# ---------------------------------------------------------------- /playlist load
async def test_load_appends_to_the_queue_and_plays(world: World) -> None:
    await world.bot.playlists.save(ALICE_ID, "Chill", tracks(world, "long440", "a660"))
    await world.join(ALICE)
    answer = await command(world, "playlist load", {"name": "chill"})
    assert answer.type == 5 and not answer.ephemeral and answer.error is None  # deferred: joining voice
    assert answer.content == "📂 Queued 2 tracks from “Chill” (0:07)."
    session = world.bot.sessions.get(GUILD)
    assert session is not None and session.queue.current is not None
    assert session.queue.current.track.id == "local:long440" and session.queue.current.requester_id == ALICE_ID
    assert [e.track.id for e in session.queue.upcoming] == ["local:a660"]
    await wait_for(lambda: world.fake.rtp != [])


async def test_load_reports_tracks_the_queue_refused(world: World) -> None:
    await world.bot.playlists.save(ALICE_ID, "Big", tracks(world, "a440", "a660", "long440", "long660"))
    await world.bot.update_guild_settings(GUILD, ADMIN_ID, max_queue_length=2)
    await world.join(ALICE)
    answer = await command(world, "playlist load", {"name": "Big"})
    assert answer.content.startswith("📂 Queued 2 tracks from “Big”") and "2 could not be added" in answer.content


async def test_load_refusals(world: World) -> None:
    await world.bot.playlists.save(ALICE_ID, "Chill", tracks(world, "a440"))
    answer = await command(world, "playlist load", {"name": "Chill"})
    assert refused(answer, "Join a voice channel first") and answer.type == 4
    await world.join(ALICE)
    assert refused(await command(world, "playlist load", {"name": "Nope"}), 'You have no playlist named "Nope"')
    await world.join(BOB)
    answer = await command(world, "playlist load", {"name": "Chill"}, user=BOB)  # playlists are per user
    assert refused(answer, 'You have no playlist named "Chill"')
    assert world.bot.sessions.get(GUILD) is None


async def test_name_autocomplete_offers_only_the_users_playlists(world: World) -> None:
    await world.bot.playlists.save(ALICE_ID, "Chill", tracks(world, "a440"))
    await world.bot.playlists.save(ALICE_ID, "Gym", tracks(world, "a440", "a660"))
    await world.bot.playlists.save(BOB_ID, "Bob's", tracks(world, "a440"))
    for sub in ("load", "show", "delete", "rename"):
        assert await suggestions(world, f"playlist {sub}", {"name": ""}, "name") == [
            {"name": "Chill (1 track)", "value": "Chill"}, {"name": "Gym (2 tracks)", "value": "Gym"}], sub
    assert await suggestions(world, "playlist load", {"name": "gy"}, "name") == [
        {"name": "Gym (2 tracks)", "value": "Gym"}]


# ---------------------------------------------------------------- list, show, delete, rename
async def test_list_and_show(world: World) -> None:
    answer = await command(world, "playlist list")
    assert private(answer, "You have no playlists yet")
    await world.bot.playlists.save(ALICE_ID, "gym", tracks(world, "long440", "a660"))
    await world.bot.playlists.save(ALICE_ID, "Chill", tracks(world, "a440"))
    answer = await command(world, "playlist list")
    assert private(answer, "Your playlists")
    assert answer.embeds[0]["description"] == "**Chill** — 1 track, 0:01\n**gym** — 2 tracks, 0:07"
    answer = await command(world, "playlist show", {"name": "GYM"})
    assert private(answer, "📂 gym")
    assert answer.embeds[0]["description"] == "`1.` Generator - Tone long440 (0:06)\n`2.` Generator - Tone a660 (0:01)"
    assert answer.embeds[0]["footer"]["text"] == "2 tracks · 0:07"
    assert refused(await command(world, "playlist show", {"name": "none"}), "You have no playlist named")


async def test_delete(world: World) -> None:
    await world.bot.playlists.save(ALICE_ID, "Chill", tracks(world, "a440"))
    assert refused(await command(world, "playlist delete", {"name": "Chill"}, user=BOB), "no playlist named")
    assert private(await command(world, "playlist delete", {"name": "chill"}), "🗑️ Deleted “Chill”.")
    assert await world.bot.playlists.list_for(ALICE_ID) == []
    assert refused(await command(world, "playlist delete", {"name": "chill"}), "no playlist named")


async def test_rename(world: World) -> None:
    await world.bot.playlists.save(ALICE_ID, "Chill", tracks(world, "a440"))
    await world.bot.playlists.save(ALICE_ID, "Gym", tracks(world, "a660"))
    answer = await command(world, "playlist rename", {"name": "chill", "new_name": "Evening"})
    assert private(answer, "✏️ Renamed “Chill” to “Evening”.")
    assert [p.name for p in await world.bot.playlists.list_for(ALICE_ID)] == ["Evening", "Gym"]
    answer = await command(world, "playlist rename", {"name": "Evening", "new_name": "gym"})
    assert refused(answer, 'already have a playlist named "Gym"')
    assert refused(await command(world, "playlist rename", {"name": "Nope", "new_name": "X"}), "no playlist named")


async def test_names_are_shown_literally(world: World) -> None:
    await world.bot.playlists.save(ALICE_ID, "@everyone **hi**", tracks(world, "a440"))
    answer = await command(world, "playlist list")
    assert "@everyone" not in answer.embeds[0]["description"].replace("@\u200beveryone", "")
    assert "\\*\\*hi\\*\\*" in answer.embeds[0]["description"]


# ---------------------------------------------------------------- storage down
@pytest.mark.parametrize(("sub", "options"), [
    ("list", {}), ("show", {"name": "x"}), ("delete", {"name": "x"}),
    ("rename", {"name": "x", "new_name": "y"}),
])
async def test_storage_outage_is_a_message(world: World, sub: str, options: dict[str, str]) -> None:
    await world.bot.db.close()
    answer = await command(world, f"playlist {sub}", options)
    assert refused(answer, "The database is not reachable right now")


async def test_storage_outage_save_load_and_history(world: World) -> None:
    await playing(world, "long440")
    await world.bot.db.close()
    assert refused(await command(world, "playlist save", {"name": "x"}), "The database is not reachable")
    assert refused(await command(world, "playlist load", {"name": "x"}), "The database is not reachable")
    assert refused(await command(world, "history"), "The database is not reachable")
    assert await suggestions(world, "playlist load", {"name": ""}, "name") == []


# ---------------------------------------------------------------- history: recorded on track start, /history
async def test_each_track_start_is_recorded_with_its_requester(world: World) -> None:
    await playing(world, "list:a440,a660")
    newest, oldest = await plays(world, 2)
    assert [oldest.track.id, newest.track.id] == ["local:a440", "local:a660"]
    assert {oldest.user_id, newest.user_id} == {ALICE_ID} and not oldest.autoplay and not newest.autoplay
    assert newest.guild_id == GUILD and newest.outcome is None


async def test_seek_is_not_a_new_play_but_replay_is(world: World) -> None:
    session = await playing(world, "long440")
    await plays(world, 1)
    await wait_for(lambda: session.position_s > 0.2)
    await session.seek(3.0)
    await wait_for(lambda: session.position_s >= 3.0)
    await world.bot.db.outbox.flush()
    assert len(await world.bot.history.recent_by_guild(GUILD)) == 1
    await session.replay()
    await plays(world, 2)


async def test_how_each_play_ended_is_recorded(world: World) -> None:
    session = await playing(world, "list:a440,long440,long660")
    await wait_for(lambda: session.queue.current is not None and session.queue.current.track.id == "local:long440")
    assert (await command(world, "skip")).error is None  # a440 played to its end; long440 is skipped
    await plays(world, 3)  # long660 started
    await command(world, "stop")
    stopped, skipped, finished = await plays(world, 3, ended=True)
    assert (finished.track.id, finished.outcome) == ("local:a440", PlayOutcome.FINISHED)
    assert (skipped.track.id, skipped.outcome) == ("local:long440", PlayOutcome.SKIPPED)
    assert (stopped.track.id, stopped.outcome) == ("local:long660", PlayOutcome.STOPPED)
    assert all(p.ended_at is not None and p.ended_at >= p.started_at for p in (finished, skipped, stopped))


async def test_a_seek_ends_nothing_and_the_play_ends_once(world: World) -> None:
    session = await playing(world, "long440")
    await wait_for(lambda: session.position_s > 0.2)
    await session.seek(3.0)
    await wait_for(lambda: session.position_s >= 3.0)
    await command(world, "leave")
    [play] = await plays(world, 1, ended=True)
    assert play.outcome is PlayOutcome.STOPPED
    assert len(await world.bot.history.recent_by_guild(GUILD)) == 1


async def test_history_shows_plays_that_did_not_finish(world: World) -> None:
    session = await playing(world, "list:long440,a660")
    await wait_for(lambda: session.position_s > 0.2)
    await command(world, "skip")
    await plays(world, 1, ended=True)
    await plays(world, 2)  # a660 started
    answer = await command(world, "history")
    lines = answer.embeds[0]["description"].splitlines()
    assert "Tone long440" in lines[-1] and "skipped" in lines[-1]
    assert "Tone a660" in lines[0] and "skipped" not in lines[0]


async def test_autoplay_picks_are_recorded_as_such(world: World) -> None:
    session = await playing(world, "a440")
    session.add_entry(tracks(world, "a660")[0], None, autoplay=True)
    newest, _ = await plays(world, 2)
    assert newest.track.id == "local:a660" and newest.autoplay and newest.user_id is None


async def test_history_command(world: World) -> None:
    assert private(await command(world, "history"), "Nothing has been played here yet.")
    await playing(world, "a440")
    await plays(world, 1)
    answer = await command(world, "history")
    assert private(answer, "Recently played")
    [line] = answer.embeds[0]["description"].splitlines()
    assert line.startswith("<t:") and line.endswith(":R> Generator - Tone a440 — <@5001>")

    [callback] = await history_of(world, BOB, asked_by=ALICE)
    assert callback["data"]["flags"] & 64 and callback["data"]["content"] == "bob has not played anything here yet."
    [callback] = await history_of(world, ALICE, asked_by=BOB)
    assert callback["data"]["flags"] & 64
    [embed] = callback["data"]["embeds"]
    assert embed["title"] == "Recently played by alice" and "Tone a440" in embed["description"]


async def history_of(world: World, who: Payload, *, asked_by: Payload) -> list[Payload]:
    """``/history user:who``: a user option carries an id, and the user itself in ``resolved``. Returns the
    answer the user reads (``{"data": …}``)."""
    payload = world.fake.slash("history", {"user": {"type": OPT_USER, "value": who["id"]}}, guild_id=GUILD,
                               channel_id=TEXT, user=asked_by, resolved={"users": {who["id"]: who}})
    assert await invoke(world.bot, payload) is None
    [callback] = world.fake.callbacks(payload)
    if callback["type"] == 5:  # deferred before reading the history: what the user reads is the followup
        return [{"data": world.fake.followups(payload)[-1].json}]
    return [callback]
