"""/queue (pages with buttons), /remove, /move, /swap, /shuffle, /clear, /loop, /autoplay through the real tree.

Autoplay end to end: when the queue runs out, the session asks the world's offline recommender (which
recommends the generated media) and plays its pick as an autoplay entry.
"""

from __future__ import annotations

import random
import time

import pytest

from musicbot.bot import pager
from musicbot.bot.cogs.queue import QueueCog
from musicbot.queue import AutoplayMode, LoopMode, OfflineRecommender
from tests.bot.test_control import command, names, ok, playing, refused, with_dj_role
from tests.bot.world import ADMIN, ALICE, BOB, DJ, GUILD, World, wait_for
from tests.harness import VoiceReceiver, dispatch_interaction, dominant_hz, invoke
from tests.harness.payloads import Payload

LONG_LIST = "list:" + ",".join(["long440"] * 24)  # the first plays, 23 wait: three pages


# ---------------------------------------------------------------- /queue
def queue_message(world: World) -> Payload:
    """The /queue answer itself (the now-playing panel may be posted after it)."""
    [message] = [m for m in world.fake.messages.values() if [e.get("title") for e in m.get("embeds", [])] == ["Queue"]]
    return message


async def test_queue_lists_now_playing_and_upcoming(world: World) -> None:
    await playing(world, "long440", "long660", "a440")
    answer = await command(world, "queue")
    assert answer.type == 4 and not answer.ephemeral and answer.error is None
    [embed] = answer.embeds
    text = embed["description"]
    assert "Now playing" in text and "Generator - Tone long440" in text and "0:06" in text
    assert "`1.` Generator - Tone long660 (0:06) — <@5001>" in text
    assert "`2.` Generator - Tone a440 (0:01)" in text
    assert embed["footer"]["text"].startswith("Page 1/1 · 2 tracks · 0:07 total · Loop: off · Autoplay: off")
    assert answer.components == []  # one page: no buttons


async def test_queue_refusals(world: World) -> None:
    assert refused(await command(world, "queue"), "The queue is empty. Add music with /play")
    await playing(world, LONG_LIST)
    assert refused(await command(world, "queue", {"page": 4}), "There is no page 4; the queue has 3 pages")


async def test_queue_pages_with_buttons(world: World) -> None:
    await playing(world, LONG_LIST)
    answer = await command(world, "queue", {"page": 1})
    assert "`1.`" in answer.embeds[0]["description"] and "`11.`" not in answer.embeds[0]["description"]
    [row] = answer.components
    back, forward = row["components"]
    assert back.get("disabled") is True and not forward.get("disabled")
    message = queue_message(world)

    async def click(button: dict[str, object]) -> Payload:
        payload = world.fake.click(str(button["custom_id"]), guild_id=GUILD, message=message, user=BOB)
        [callback] = await dispatch_interaction(world.bot, payload, fake=world.fake)
        assert callback["type"] == 7, callback  # the message itself is updated, nothing new is posted
        return dict(callback["data"])

    page2 = await click(forward)
    text = page2["embeds"][0]["description"]
    assert "`11.`" in text and "`20.`" in text and "`10.`" not in text and "`21.`" not in text
    assert page2["embeds"][0]["footer"]["text"].startswith("Page 2/3 · 23 tracks · 2:18 total")
    page3 = await click(forward)
    assert "`23.`" in page3["embeds"][0]["description"]
    assert page3["components"][0]["components"][1]["disabled"] is True
    page2_again = await click(back)
    assert page2_again["embeds"][0]["footer"]["text"].startswith("Page 2/3")
    assert world.fake.messages[message["id"]]["embeds"][0]["footer"]["text"].startswith("Page 2/3")


async def test_queue_buttons_go_away_when_they_stop_answering(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pager, "PAGER_TIMEOUT_S", 0.2)
    await playing(world, LONG_LIST)
    answer = await command(world, "queue")
    assert answer.components != []
    message_id = queue_message(world)["id"]
    await wait_for(lambda: world.fake.messages[message_id]["components"] == [])
    assert world.fake.messages[message_id]["embeds"][0]["footer"]["text"].startswith("Page 1/3")


async def test_queue_page_argument(world: World) -> None:
    await playing(world, LONG_LIST)
    answer = await command(world, "queue", {"page": 3})
    assert "`21.`" in answer.embeds[0]["description"] and "Page 3/3" in answer.embeds[0]["footer"]["text"]


# ---------------------------------------------------------------- /remove
async def test_remove_by_the_requester_or_a_dj(world: World) -> None:
    session = await playing(world, "long440", "long660", "a440", "a660")
    await with_dj_role(world)
    await world.join(BOB)
    assert refused(await command(world, "remove", {"index": 1}, user=BOB), "needs the DJ role")
    assert names(session) == ["long660", "a440", "a660"]
    assert ok(await command(world, "remove", {"index": 1}), "Removed")  # ALICE asked for it
    assert names(session) == ["a440", "a660"]
    await command(world, "play", {"query": "long440"}, user=BOB)
    assert ok(await command(world, "remove", {"index": 3}, user=BOB), "Removed")  # BOB's own
    await world.join(DJ)
    assert ok(await command(world, "remove", {"index": 2}, user=DJ), "Removed")
    assert names(session) == ["a440"]


async def test_remove_bad_index_and_not_in_voice(world: World) -> None:
    session = await playing(world, "long440", "long660")
    assert refused(await command(world, "remove", {"index": 5}), "There is no track 5; the queue has 1 track")
    assert refused(await command(world, "remove", {"index": 1}, user=BOB), "Join a voice channel")
    assert names(session) == ["long660"]


async def test_remove_from_an_empty_queue(world: World) -> None:
    await playing(world, "long440")
    assert refused(await command(world, "remove", {"index": 1}), "There is no track 1; the queue is empty")


# ---------------------------------------------------------------- /move, /swap
async def test_move(world: World) -> None:
    session = await playing(world, "long440", "long660", "a440", "a660")
    answer = await command(world, "move", {"from": 3, "to": 1})
    assert ok(answer, "Moved") and "Tone a660" in answer.content and "position 1" in answer.content
    assert names(session) == ["a660", "long660", "a440"]
    assert refused(await command(world, "move", {"from": 1, "to": 9}), "There is no track 9")
    assert names(session) == ["a660", "long660", "a440"]


async def test_move_needs_the_dj_role(world: World) -> None:
    session = await playing(world, "long440", "long660", "a440")
    await with_dj_role(world)
    await world.join(BOB)
    assert refused(await command(world, "move", {"from": 2, "to": 1}, user=BOB), "needs the DJ role")
    assert names(session) == ["long660", "a440"]


async def test_swap(world: World) -> None:
    session = await playing(world, "long440", "long660", "a440", "a660")
    answer = await command(world, "swap", {"a": 1, "b": 3})
    assert ok(answer, "Swapped Generator - Tone a660 and Generator - Tone long660")
    assert names(session) == ["a660", "a440", "long660"]
    assert refused(await command(world, "swap", {"a": 0, "b": 2}), "There is no track 0")
    await with_dj_role(world)
    await world.join(BOB)
    assert refused(await command(world, "swap", {"a": 1, "b": 2}, user=BOB), "needs the DJ role")
    assert names(session) == ["a660", "a440", "long660"]


# ---------------------------------------------------------------- /shuffle, /clear
async def test_shuffle_uses_the_cogs_random_source(world: World) -> None:
    session = await playing(world, "long440", "long660", "a440", "a660", "long440")
    cog = world.bot.get_cog("QueueCog")
    assert isinstance(cog, QueueCog)
    cog.rng = random.Random(3)
    expected = list(session.queue.upcoming)
    random.Random(3).shuffle(expected)
    assert expected != list(session.queue.upcoming)  # the seed really reorders
    assert ok(await command(world, "shuffle"), "Shuffled 4 tracks")
    assert list(session.queue.upcoming) == expected


async def test_shuffle_refusals(world: World) -> None:
    session = await playing(world, "long440", "long660")
    assert refused(await command(world, "shuffle"), "nothing to shuffle")
    await command(world, "play", {"query": "a440"})
    await with_dj_role(world)
    await world.join(BOB)
    assert refused(await command(world, "shuffle", user=BOB), "needs the DJ role")
    assert names(session) == ["long660", "a440"]


async def test_clear_keeps_the_current_track(world: World) -> None:
    session = await playing(world, "long440", "long660", "a440")
    await with_dj_role(world)
    await world.join(BOB)
    assert refused(await command(world, "clear", user=BOB), "needs the DJ role")
    assert names(session) == ["long660", "a440"]
    await world.join(DJ)
    assert ok(await command(world, "clear", user=DJ), "Cleared 2 tracks")
    assert session.queue.upcoming == () and session.queue.current is not None
    assert refused(await command(world, "clear", user=DJ), "already empty")


# ---------------------------------------------------------------- /loop
async def test_loop_modes(world: World) -> None:
    session = await playing(world, "long440")
    assert ok(await command(world, "loop", {"mode": "track"}), "Looping the current track")
    assert session.queue.loop is LoopMode.TRACK
    assert ok(await command(world, "loop", {"mode": "queue"}), "Looping the whole queue")
    assert session.queue.loop is LoopMode.QUEUE
    assert ok(await command(world, "loop", {"mode": "off"}), "Loop off")
    assert session.queue.loop is LoopMode.OFF


async def test_loop_refusals(world: World) -> None:
    assert refused(await command(world, "loop", {"mode": "track"}), "I'm not in a voice channel")
    session = await playing(world, "long440")
    answer = await command(world, "loop", {"mode": "forever"})  # not one of the choices Discord offers
    assert answer.ephemeral and "forever" in answer.content
    await with_dj_role(world)
    await world.join(BOB)
    assert refused(await command(world, "loop", {"mode": "track"}, user=BOB), "needs the DJ role")
    assert session.queue.loop is LoopMode.OFF


async def test_loop_track_repeats_it(world: World, fast_playback: float) -> None:
    session = await playing(world, "a440", "a660")
    await command(world, "loop", {"mode": "track"})
    starts = len(world.fake.rtp)
    await wait_for(lambda: len(world.fake.rtp) > starts + 200)  # longer than a440 itself (50 packets)
    assert session.queue.current is not None and session.queue.current.track.id == "local:a440"
    assert names(session) == ["a660"]


# ---------------------------------------------------------------- /autoplay
async def test_autoplay_continues_when_the_queue_runs_out(
    world: World, fast_playback: float, voice_receiver: VoiceReceiver
) -> None:
    session = await playing(world, "a440")
    answer = await command(world, "autoplay", {"state": "on", "mode": "similar"})
    assert ok(answer, "Autoplay on (similar)")
    assert session.autoplay is not None and session.autoplay.mode is AutoplayMode.SIMILAR

    def autoplaying() -> bool:
        return session.queue.current is not None and session.queue.current.autoplay

    await wait_for(autoplaying)
    since = time.perf_counter()
    entry = session.queue.current
    assert entry is not None and entry.requester_id is None
    assert entry.track.id == "local:a660"  # the offline recommender's first pick after a440
    # The pick is really heard: the voice server receives a 660 Hz tone.
    await voice_receiver.wait_for_packets(GUILD, len(voice_receiver.packets(GUILD)) + 30)
    heard = voice_receiver.decode_pcm(GUILD, since=since, skip_silence=True)[: 960 * 30]
    assert abs(dominant_hz(heard, skip=960 * 5) - 660.0) < 10
    recommender = world.bot.sessions.recommender
    assert isinstance(recommender, OfflineRecommender) and ("related", "local:a440") in recommender.calls
    shown = await command(world, "queue")
    assert "Tone a660 (0:01) — autoplay" in shown.embeds[0]["description"]
    assert "Autoplay: on" in shown.embeds[0]["footer"]["text"]


async def test_autoplay_off_lets_the_queue_end(world: World, fast_playback: float) -> None:
    session = await playing(world, "a440")
    await command(world, "autoplay", {"state": "on"})
    assert ok(await command(world, "autoplay", {"state": "off"}), "Autoplay off")
    assert session.autoplay is None
    await wait_for(lambda: session.queue.current is None)
    await wait_for(lambda: len(session.queue.history) == 1)
    assert session.queue.upcoming == ()


async def test_autoplay_on_after_the_queue_ran_out_starts_at_once(world: World, fast_playback: float) -> None:
    session = await playing(world, "a440")
    await wait_for(lambda: session.queue.current is None)
    answer = await command(world, "autoplay", {"state": "on", "mode": "artist"})
    assert ok(answer, "Autoplay on (artist)") and "Now playing: Generator - Tone a660 (autoplay)" in answer.content
    assert session.queue.current is not None and session.queue.current.autoplay


async def test_skipping_the_last_track_with_autoplay_plays_a_pick(world: World) -> None:
    session = await playing(world, "long440")
    await command(world, "autoplay", {"state": "on", "mode": "similar"})
    answer = await command(world, "skip")
    assert ok(answer, "Skipped") and "Now playing: Generator - Tone a440 (autoplay)" in answer.content
    assert session.queue.current is not None and session.queue.current.autoplay


async def test_autoplay_default_from_the_guild_settings(world: World, fast_playback: float) -> None:
    await world.bot.update_guild_settings(GUILD, ADMIN["id"], autoplay_default=True, autoplay_mode="genre")
    session = await playing(world, "a440")
    assert session.autoplay is not None and session.autoplay.mode is AutoplayMode.GENRE
    # The generated tones have no genre or tags: genre mode finds nothing, and the music stops quietly.
    await wait_for(lambda: session.queue.current is None)
    assert session.queue.upcoming == ()


async def test_autoplay_refusals(world: World) -> None:
    assert refused(await command(world, "autoplay", {"state": "on"}), "I'm not in a voice channel")
    session = await playing(world, "long440")
    await with_dj_role(world)
    await world.join(BOB)
    assert refused(await command(world, "autoplay", {"state": "on"}, user=BOB), "needs the DJ role")
    assert session.autoplay is None
    payload = world.fake.slash("autoplay", {"state": "on", "mode": "loud"}, guild_id=GUILD, channel_id=1001,
                               user=ALICE)
    await invoke(world.bot, payload)
    [callback] = world.fake.callbacks(payload)
    assert callback["data"]["flags"] & 64 and "loud" in callback["data"]["content"]
    assert session.autoplay is None
