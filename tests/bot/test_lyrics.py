"""Synced lyrics (issue 19) through the real client, with a local fake of LRCLIB: /lyrics (paged), the
now-playing panel's line following what the listener hears (nightcore too), the service down, the setting.

The track is ``synth.sweep``: its pitch says where in it the listener is (``sweep_position``), so a test reads
the position that is heard from the voice server's packets and checks the line shown for that position."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import jsonschema
import pytest
import pytest_asyncio

from musicbot.bot.embeds import snapshot
from musicbot.bot.web_control import WebControl
from musicbot.lookups import line_index_at, parse_lrc
from musicbot.session import GuildSession
from musicbot.sources.synth import sweep_position
from musicbot.web.openapi import document
from tests.bot.answers import command, playing, refused
from tests.bot.test_panel import FAST_INTERVAL_S, description, panel_messages, panels, the_panel
from tests.bot.world import ADMIN, GUILD, SWEEP_S, TEXT, World, add_sweep, build_world, wait_for
from tests.harness import FakeDiscord, decode_opus, dispatch_interaction, dominant_hz
from tests.harness.fake_lrclib import FakeLrclib, lrc
from tests.harness.fixtures import OfflineBotFactory
from tests.harness.voice_analysis import VoiceReceiver

ADMIN_ROLE = 1501
LINE_EVERY_S = 2.0
LINES = [(t, f"line at {t:g} s") for t in [LINE_EVERY_S * i for i in range(1, int(SWEEP_S / LINE_EVERY_S))]]
SYNCED = parse_lrc(lrc(*LINES))
NIGHTCORE_RATE = 1.25  # the preset's timescale rate: 1.25× as fast, 1.25× as high
EDGE_S = 0.35  # near a line's start the heard position is not sharp enough to say which line it is


@pytest_asyncio.fixture
async def lrclib() -> AsyncIterator[FakeLrclib]:
    fake = await FakeLrclib().start()
    yield fake
    await fake.stop()


@pytest_asyncio.fixture
async def lyrics_world(offline_bot_factory: OfflineBotFactory, fake_discord: FakeDiscord, tmp_path: Path,
                       lrclib: FakeLrclib) -> AsyncIterator[World]:
    world = await build_world(offline_bot_factory, fake_discord, tmp_path,
                              settings={"MUSICBOT_LYRICS_API": lrclib.base_url})
    add_sweep(world)
    lrclib.add("Tone sweep", "Generator", SWEEP_S, synced=lrc(*LINES))
    lrclib.add("Tone long440", "Generator", 6.0, plain="\n".join(f"verse line {i}" for i in range(1, 46)))
    panels(world).interval_s = FAST_INTERVAL_S
    yield world


def expected_line(position_s: float) -> str | None:
    index = line_index_at(SYNCED, position_s)
    return None if index is None else SYNCED[index].text


def near_a_line_start(position_s: float) -> bool:
    return any(abs(position_s - line.time_s) < EDGE_S for line in SYNCED)


def heard_position(receiver: VoiceReceiver, rate: float) -> float | None:
    """Where in the sweep the listener is, from the pitch of the last 0.3 s the voice server received."""
    packets = receiver.packets(GUILD)[-15:]
    if len(packets) < 15:
        return None
    pitch = dominant_hz(decode_opus([p.opus for p in packets]), skip=4800) / rate
    return sweep_position(pitch)


async def follow_lines(world: World, session: GuildSession, receiver: VoiceReceiver, rate: float,
                       until_s: float) -> list[tuple[float, str | None]]:
    """Poll: the panel's line now and the position heard now; the pairs checked away from line starts."""
    checked: list[tuple[float, str | None]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while session.position_s < until_s and loop.time() < deadline:
        await asyncio.sleep(0.05)
        state = snapshot(session)
        heard = heard_position(receiver, rate)
        if state is None or heard is None or heard < 0.5 or near_a_line_start(heard):
            continue
        assert state.lyric_line == expected_line(heard), (heard, state.lyric_line)
        checked.append((heard, state.lyric_line))
    return checked


# ---------------------------------------------------------------- the line follows what is heard
@pytest.mark.parametrize("preset", [None, "nightcore"])
async def test_the_panel_line_follows_the_audio_heard(lyrics_world: World, voice_receiver: VoiceReceiver,
                                                      preset: str | None) -> None:
    world = lyrics_world
    session = await playing(world, "sweep")
    rate = 1.0
    if preset is not None:
        assert (await command(world, "filter preset", {"name": preset})).error is None
        rate = NIGHTCORE_RATE
    await wait_for(lambda: session.lyrics.now.lyrics is not None, timeout=10)
    checked = await follow_lines(world, session, voice_receiver, rate, until_s=9.0)
    lines_seen = {line for _, line in checked}
    assert len(checked) >= 20 and len(lines_seen) >= 3, checked  # several lines, each checked many times
    # The panel message itself showed each of those lines as it came (edits, at most one per interval).
    panel_id = the_panel(world)["id"]
    sent = " ".join(str(r.json) for r in world.fake.calls("PATCH", rf"/messages/{panel_id}$"))
    assert all(f"🎤 *{line}*" in sent for line in lines_seen if line is not None), (lines_seen, sent[-500:])


async def test_the_line_changes_with_the_tempo_not_the_wall_clock(lyrics_world: World) -> None:
    """Under nightcore the track's position runs 1.25× as fast; the lyrics timer waits for the audio."""
    world = lyrics_world
    session = await playing(world, "sweep")
    await command(world, "filter preset", {"name": "nightcore"})
    assert session.tempo == pytest.approx(NIGHTCORE_RATE)
    await wait_for(lambda: session.lyrics.line_now() is not None, timeout=10)
    told: list[tuple[float, str | None]] = []
    session.lyrics.on_line = lambda: told.append((session.position_s, (line := session.lyrics.line_now())
                                                   and line.text))
    await wait_for(lambda: len(told) >= 2, timeout=15)
    for position, text in told:
        assert text == expected_line(position)  # told when the position reached the line, not before
        assert position - max(line.time_s for line in SYNCED if line.text == text) < 1.0  # nor long after


async def test_the_dashboard_shows_the_line_and_is_told_when_it_changes(lyrics_world: World) -> None:
    world = lyrics_world
    session = await playing(world, "sweep")
    await wait_for(lambda: session.lyrics.line_now() is not None, timeout=10)
    pushed: list[int] = []
    stop = await world.bot.cluster.bus.watch_changes(lambda change: pushed.append(change.guild_id))
    try:
        await wait_for(lambda: len(pushed) >= 2, timeout=10)  # two line changes, nothing else happening
    finally:
        stop()
    view = await WebControl(world.bot).player(GUILD)
    jsonschema.validate(view.as_json(), {"$ref": "#/components/schemas/Player", **document()})
    line = session.lyrics.line_now()
    assert line is not None and view.lyric_line in (line.text, expected_line(line.time_s - 0.1))


# ---------------------------------------------------------------- /lyrics
async def test_lyrics_command_shows_the_lyrics_with_the_sung_line(lyrics_world: World) -> None:
    world = lyrics_world
    session = await playing(world, "sweep")
    await wait_for(lambda: session.lyrics.line_now() is not None and session.position_s > 2.5, timeout=10)
    answer = await command(world, "lyrics")
    assert answer.error is None and not answer.ephemeral
    [embed] = answer.embeds
    assert embed["title"] == "🎤 Tone sweep" and "synced" in embed["footer"]["text"]
    assert "▶ **line at" in embed["description"] and "line at 4 s" in embed["description"]


async def test_long_lyrics_are_paged_like_the_queue(lyrics_world: World) -> None:
    world = lyrics_world
    await playing(world, "long440")
    answer = await command(world, "lyrics")
    [embed] = answer.embeds
    assert embed["footer"]["text"].startswith("Page 1/3")
    assert "verse line 1\n" in embed["description"] and "verse line 21" not in embed["description"]
    page = await command(world, "lyrics", {"page": 3})
    assert "verse line 45" in page.embeds[0]["description"]
    assert refused(await command(world, "lyrics", {"page": 4}), "There is no page 4")


async def test_the_page_buttons_turn_the_pages_of_the_message(lyrics_world: World) -> None:
    world = lyrics_world
    await playing(world, "long440")
    await command(world, "lyrics")
    message = next(m for m in reversed(world.fake.channel_messages(TEXT)) if m["embeds"]
                   and m["embeds"][0].get("title") == "🎤 Tone long440")
    [row] = message["components"]
    back, forward = row["components"]
    assert back.get("disabled") is True

    async def click(button: dict[str, object]) -> dict[str, object]:
        payload = world.fake.click(str(button["custom_id"]), guild_id=GUILD, message=message)
        [callback] = await dispatch_interaction(world.bot, payload, fake=world.fake)
        assert callback["type"] == 7, callback  # the message itself is updated
        return dict(callback["data"])

    page2 = await click(forward)
    assert "verse line 21" in str(page2["embeds"]) and "Page 2/3" in str(page2["embeds"])
    assert "Page 1/3" in str((await click(back))["embeds"])


async def test_a_track_without_lyrics_says_so_and_the_miss_is_remembered(lyrics_world: World,
                                                                         lrclib: FakeLrclib) -> None:
    world = lyrics_world
    await playing(world, "a660")
    assert refused(await command(world, "lyrics"), "No lyrics found for")
    asked = len(lrclib.requests)
    assert refused(await command(world, "lyrics"), "No lyrics found for")
    assert len(lrclib.requests) == asked  # the miss was cached


async def test_lyrics_service_down_is_one_clear_sentence_and_playback_goes_on(
        lyrics_world: World, lrclib: FakeLrclib, voice_receiver: VoiceReceiver) -> None:
    world = lyrics_world
    await lrclib.stop()  # connection refused from now on
    session = await playing(world, "long440")
    answer = await command(world, "lyrics")
    assert refused(answer, "The lyrics service (LRCLIB) is not answering right now; try again in a minute.")
    before = voice_receiver.count(GUILD)
    await wait_for(lambda: voice_receiver.count(GUILD) > before + 25, timeout=10)  # still playing
    assert session.queue.current is not None and snapshot(session) is not None
    assert snapshot(session).lyric_line is None  # type: ignore[union-attr]


async def test_lyrics_off_for_the_server(lyrics_world: World, lrclib: FakeLrclib) -> None:
    world = lyrics_world
    answer = await command(world, "settings lyrics", {"enabled": False}, user=ADMIN, roles=[ADMIN_ROLE])
    assert answer.error is None and "Lyrics are off." in answer.content
    session = await playing(world, "sweep")
    await asyncio.sleep(0.3)
    assert refused(await command(world, "lyrics"), "Lyrics are turned off on this server")
    assert lrclib.requests == [] and session.lyrics.line_now() is None
    await wait_for(lambda: len(panel_messages(world)) == 1)
    assert "🎤" not in description(the_panel(world))
