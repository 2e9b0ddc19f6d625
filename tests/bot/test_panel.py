"""The now-playing panel and /nowplaying: one message per guild, created when a track starts and edited in
place (debounced); its buttons and filter menu go through discord.py's real view dispatch, also after a restart.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import discord
import pytest
import pytest_asyncio

from musicbot.bot.cogs import nowplaying
from musicbot.bot.cogs.nowplaying import NowPlayingCog
from musicbot.bot.panel import PanelManager
from musicbot.dsp.params import IDENTITY_SETTINGS
from musicbot.queue import LoopMode
from musicbot.session import GuildSession
from musicbot.track import Track
from tests.bot.world import (
    ADMIN,
    ALICE,
    BOB,
    DJ,
    DJ_ROLE,
    GUILD,
    TEXT,
    World,
    build_world,
    restart_world,
    wait_for,
)
from tests.harness import dispatch_interaction, invoke
from tests.harness.fixtures import FakeDiscord, OfflineBotFactory
from tests.harness.payloads import Payload, channel

ROLES = {DJ["id"]: [DJ_ROLE]}
FAST_INTERVAL_S = 0.05


def panels(world: World) -> PanelManager:
    cog = world.bot.get_cog("NowPlayingCog")
    assert isinstance(cog, NowPlayingCog)
    return cog.panels


@pytest_asyncio.fixture
async def np_world(world: World) -> AsyncIterator[World]:
    """``world`` with panel edits at most every 50 ms, so tests don't wait for the production 2 s."""
    panels(world).interval_s = FAST_INTERVAL_S
    yield world


def is_panel(message: Payload) -> bool:
    return any(c.get("custom_id") == "np:pause" for row in message["components"] for c in row["components"])


def panel_messages(world: World) -> list[Payload]:
    """Public messages in the text channel that carry the panel's buttons."""
    return [m for m in world.fake.channel_messages(TEXT) if is_panel(m) and not (m["flags"] or 0) & 64]


def the_panel(world: World) -> Payload:
    [panel] = panel_messages(world)
    return panel


def description(message: Payload) -> str:
    return str(message["embeds"][0].get("description", ""))


def field(message: Payload, name: str) -> str:
    return next(str(f["value"]) for f in message["embeds"][0]["fields"] if f["name"] == name)


def labels(message: Payload) -> dict[str, str]:
    return {c["custom_id"]: c.get("label", "") for row in message["components"] for c in row["components"]
            if c.get("type") == 2}


def panel_edits(world: World, message_id: str) -> list[Any]:
    return world.fake.calls("PATCH", rf"^/channels/{TEXT}/messages/{message_id}$")


async def play(world: World, query: str, user: Payload = ALICE) -> None:
    payload = world.fake.slash("play", {"query": query}, guild_id=GUILD, channel_id=TEXT, user=user,
                               roles=ROLES.get(user["id"], []))
    assert await invoke(world.bot, payload) is None


async def playing(world: World, *queries: str) -> GuildSession:
    """ALICE joins voice and queues ``queries``; the panel for the first one is up."""
    await world.join(ALICE)
    for query in queries:
        await play(world, query)
    session = world.bot.sessions.get(GUILD)
    assert session is not None and session.queue.current is not None
    await wait_for(lambda: len(panel_messages(world)) == 1)
    return session


async def click(world: World, custom_id: str, *, message: Payload | None = None, user: Payload = ALICE,
                values: list[str] | None = None) -> dict[str, Any]:
    """Click ``custom_id`` on ``message`` (default: the panel) through the ViewStore; the first callback body."""
    target = message if message is not None else the_panel(world)
    kw: dict[str, Any] = {"guild_id": GUILD, "message": target, "user": user, "roles": ROLES.get(user["id"], [])}
    payload = (world.fake.select(custom_id, values, **kw) if values is not None else world.fake.click(custom_id, **kw))
    [callback, *_] = await dispatch_interaction(world.bot, payload, fake=world.fake)
    return callback


def updated(callback: dict[str, Any]) -> dict[str, Any]:
    """The message a type 7 answer shows."""
    assert callback["type"] == 7, callback
    data: dict[str, Any] = callback["data"]
    return data


def refusal(callback: dict[str, Any]) -> str:
    assert callback["type"] == 4 and callback["data"]["flags"] & 64, callback
    text: str = callback["data"]["content"]
    assert text.startswith("⚠️")
    return text


async def settled(world: World, check: Any) -> None:
    """Wait until the live panel (as the fake holds it) satisfies ``check``."""
    await wait_for(lambda: bool(panel_messages(world)) and check(the_panel(world)), timeout=5)


# ---------------------------------------------------------------- the message
async def test_panel_is_posted_when_a_track_starts_and_edited_for_the_next(np_world: World) -> None:
    world = np_world
    await playing(world, "list:a440,a660")
    panel = the_panel(world)
    assert "Tone a440" in description(panel) and "by Generator" in description(panel)
    assert field(panel, "Requested by") == f"<@{ALICE['id']}>"
    assert field(panel, "Loop") == "off" and field(panel, "Volume") == "100 %" and field(panel, "Filters") == "none"
    assert "Tone a660" in field(panel, "Up next")
    [post] = world.fake.calls("POST", rf"^/channels/{TEXT}/messages$")
    assert post.json["allowed_mentions"] == {"parse": []}
    # a440 lasts 1 s: then a660 starts and the same message says so.
    await settled(world, lambda m: "Tone a660" in description(m))
    assert the_panel(world)["id"] == panel["id"]
    assert len(world.fake.calls("POST", rf"^/channels/{TEXT}/messages$")) == 1  # edited, never re-posted
    assert panel_edits(world, panel["id"])


async def test_panel_says_when_the_music_ended_and_drops_its_buttons(np_world: World, fast_playback: float) -> None:
    world = np_world
    await playing(world, "a440")
    panel_id = the_panel(world)["id"]
    await wait_for(lambda: world.fake.messages[panel_id]["components"] == []
                   and panels(world).message_id(GUILD) is None, timeout=5)
    assert "Nothing playing" in world.fake.messages[panel_id]["embeds"][0]["title"]
    # The next playback gets a fresh panel at the bottom of the channel.
    await play(world, "long440")
    await wait_for(lambda: len(panel_messages(world)) == 1)
    assert the_panel(world)["id"] != panel_id


async def test_a_burst_of_changes_makes_a_bounded_number_of_spaced_edits(np_world: World) -> None:
    world = np_world
    session = await playing(world, "long440")
    panel_id = the_panel(world)["id"]
    await asyncio.sleep(FAST_INTERVAL_S * 4)  # nothing pending from the start
    interval = 0.3
    panels(world).interval_s = interval
    before = len(panel_edits(world, panel_id))
    start = time.perf_counter()
    for step in range(50):  # 50 visible changes over ~0.5 s
        session.set_volume((50 + step) / 100)
        await asyncio.sleep(0.01)
    burst_s = time.perf_counter() - start
    await settled(world, lambda m: field(m, "Volume") == "99 %")  # the last state is shown
    edits = panel_edits(world, panel_id)[before:]
    # The first change at once, then at most one edit per interval, the last one after the burst.
    assert 1 <= len(edits) <= 2 + burst_s / interval, (len(edits), burst_s)
    times = [e.t for e in edits]
    assert all(b - a >= interval * 0.9 for a, b in itertools.pairwise(times)), times


async def test_a_title_that_tries_to_ping_or_format_is_shown_literally(np_world: World) -> None:
    world = np_world
    member = await world.join(ALICE)
    session = await world.bot.sessions.ensure(world.guild, TEXT)
    track = Track(id="local:evil", title="@everyone **markdown** <@123456789012345678>", artist="__who__",
                  duration_s=6.0, url=str(world.media["long440"]), source="local")
    await session.enqueue([track], member)
    await wait_for(lambda: len(panel_messages(world)) == 1)
    text = description(the_panel(world))
    assert "@everyone" not in text and "@\u200beveryone" in text  # the mention is broken
    assert "\\*\\*markdown\\*\\*" in text and "\\_\\_who\\_\\_" in text  # markdown escaped
    assert "<@123456789012345678>" not in text
    [post] = world.fake.calls("POST", rf"^/channels/{TEXT}/messages$")
    assert post.json["allowed_mentions"] == {"parse": []}


async def test_the_panel_goes_to_the_announce_channel_when_one_is_set(offline_bot_factory: OfflineBotFactory,
                                                                      fake_discord: FakeDiscord,
                                                                      tmp_path: Path) -> None:
    announce = 1009
    world = await build_world(offline_bot_factory, fake_discord, tmp_path,
                              extra_channels=[channel(announce, guild_id=GUILD, kind=0, name="music-news")])
    await world.bot.update_guild_settings(GUILD, ADMIN["id"], announce_channel_id=announce)
    await world.join(ALICE)
    await play(world, "long440")
    await wait_for(lambda: any(is_panel(m) for m in world.fake.channel_messages(announce)))
    assert not panel_messages(world)


# ---------------------------------------------------------------- buttons
async def test_pause_button_pauses_and_resumes_in_place(np_world: World) -> None:
    world = np_world
    session = await playing(world, "long440")
    shown = updated(await click(world, "np:pause"))
    assert session.paused
    assert "Paused" in shown["embeds"][0]["title"]
    assert labels(shown)["np:pause"] == "Resume"
    shown = updated(await click(world, "np:pause"))
    assert not session.paused and labels(shown)["np:pause"] == "Pause"


async def test_skip_and_previous_buttons_move_through_the_queue(np_world: World) -> None:
    world = np_world
    session = await playing(world, "long440", "long660")
    shown = updated(await click(world, "np:skip"))
    assert session.queue.current is not None and session.queue.current.track.id == "local:long660"
    assert "Tone long660" in shown["embeds"][0]["description"]
    shown = updated(await click(world, "np:prev"))
    assert session.queue.current is not None and session.queue.current.track.id == "local:long440"
    assert "Tone long440" in shown["embeds"][0]["description"]
    assert "no previous track" in refusal(await click(world, "np:prev"))


class SlowOpener:
    """Opens tracks like ``inner``, ``delay_s`` later (a stream URL that must be re-resolved first)."""

    def __init__(self, inner: Any, delay_s: float) -> None:
        self.inner = inner
        self.delay_s = delay_s

    async def open(self, track: Track, *, start_s: float = 0.0) -> Any:
        await asyncio.sleep(self.delay_s)
        return await self.inner.open(track, start_s=start_s)


async def test_a_slow_click_is_acknowledged_first_then_the_panel_is_updated(
        np_world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world = np_world
    session = await playing(world, "long440", "long660")
    updated(await click(world, "np:skip"))
    monkeypatch.setattr(nowplaying, "DEFER_AFTER_S", 0.05)
    session.opener = SlowOpener(session.opener, 0.5)
    payload = world.fake.click("np:prev", guild_id=GUILD, message=the_panel(world), user=ALICE)
    [callback] = await dispatch_interaction(world.bot, payload, fake=world.fake)
    assert callback["type"] == 6  # acknowledged within Discord's 3 s, nothing shown yet
    [edit] = await world.fake.wait_for_request("PATCH", rf"^/webhooks/\d+/{payload['token']}/messages/@original$")
    assert "Tone long440" in edit.json["embeds"][0]["description"]
    assert session.queue.current is not None and session.queue.current.track.id == "local:long440"


async def test_stop_button_ends_playback_and_the_panel_drops_its_buttons(np_world: World) -> None:
    world = np_world
    session = await playing(world, "long440", "long660")
    panel_id = the_panel(world)["id"]
    # The message is in the channel; wait until the bot has its id too (the send returned), or
    # the click finds no panel to drop yet and the panel only follows at its next update.
    await wait_for(lambda: str(panels(world).message_id(GUILD)) == panel_id)
    shown = updated(await click(world, "np:stop"))
    assert session.queue.current is None and not session.queue.upcoming
    assert shown["components"] == [] and "Nothing playing" in shown["embeds"][0]["title"]
    assert world.fake.messages[panel_id]["components"] == []
    assert panels(world).message_id(GUILD) is None


async def test_loop_button_cycles_off_track_queue(np_world: World) -> None:
    world = np_world
    session = await playing(world, "long440")
    seen = []
    for _ in range(3):
        shown = updated(await click(world, "np:loop"))
        seen.append((session.queue.loop, shown["embeds"][0]["fields"][1]["value"], labels(shown)["np:loop"]))
    assert seen == [(LoopMode.TRACK, "🔂 track", "Loop: track"), (LoopMode.QUEUE, "🔁 queue", "Loop: queue"),
                    (LoopMode.OFF, "off", "Loop: off")]


async def test_shuffle_button_shuffles_the_upcoming_tracks(np_world: World) -> None:
    world = np_world
    session = await playing(world, "long440")
    assert "nothing to shuffle" in refusal(await click(world, "np:shuffle"))
    for query in ("a440", "a660", "long660", "long440"):
        await play(world, query)
    before = [e.entry_id for e in session.queue.upcoming]
    orders = set()
    for _ in range(6):  # 24 orders: six shuffles all giving back the same one would be a broken shuffle
        updated(await click(world, "np:shuffle"))
        orders.add(tuple(e.entry_id for e in session.queue.upcoming))
    assert all(sorted(order) == sorted(before) for order in orders) and len(orders) > 1


async def test_volume_buttons_step_by_ten_within_0_to_200(np_world: World) -> None:
    world = np_world
    session = await playing(world, "long440")
    shown = updated(await click(world, "np:vol_up"))
    assert session.volume == pytest.approx(1.1) and "110 %" in str(shown["embeds"][0]["fields"])
    await wait_for(lambda: session.player.engine.volume == pytest.approx(1.1))  # heard from the next frame
    updated(await click(world, "np:vol_down"))
    updated(await click(world, "np:vol_down"))
    assert session.volume == pytest.approx(0.9)
    session.set_volume(2.0)
    shown = updated(await click(world, "np:vol_up"))
    assert session.volume == pytest.approx(2.0) and "200 %" in str(shown["embeds"][0]["fields"])


async def test_filter_menu_applies_a_preset_and_off_clears(np_world: World) -> None:
    world = np_world
    session = await playing(world, "long440")
    shown = updated(await click(world, "np:filter", values=["nightcore"]))
    assert session.filters.timescale is not None and session.filters.timescale.rate == 1.25
    await wait_for(lambda: session.player.engine.filters == session.filters)
    assert "rate ×1.25" in str(shown["embeds"][0]["fields"])
    updated(await click(world, "np:filter", values=["8d"]))  # presets stack
    assert session.filters.rotation is not None and session.filters.timescale is not None
    shown = updated(await click(world, "np:filter", values=["off"]))
    assert session.filters == IDENTITY_SETTINGS
    await wait_for(lambda: session.player.engine.filters == IDENTITY_SETTINGS)
    assert "none" in str(shown["embeds"][0]["fields"])


async def test_filter_menu_respects_the_guilds_allowed_filters(np_world: World) -> None:
    world = np_world
    session = await playing(world, "long440")
    await world.bot.update_guild_settings(GUILD, ADMIN["id"], allowed_filters=["equalizer"])
    assert "not allowed" in refusal(await click(world, "np:filter", values=["nightcore"]))
    assert session.filters == IDENTITY_SETTINGS
    updated(await click(world, "np:filter", values=["rock"]))
    assert session.filters.equalizer != IDENTITY_SETTINGS.equalizer


# ---------------------------------------------------------------- who may click
async def test_clicks_follow_the_dj_rule_and_the_voice_channel(np_world: World) -> None:
    world = np_world
    session = await playing(world, "long440", "long660")
    await world.bot.update_guild_settings(GUILD, ADMIN["id"], dj_role_id=DJ_ROLE)
    assert "Join a voice channel" in refusal(await click(world, "np:pause", user=BOB))
    await world.join(BOB)  # now ALICE is no longer alone with the bot
    assert "DJ role" in refusal(await click(world, "np:pause", user=BOB))
    assert "DJ role" in refusal(await click(world, "np:pause", user=ALICE))
    assert not session.paused
    # Skip: the requester of the current track may; anyone else is told to vote.
    assert "vote with /skip" in refusal(await click(world, "np:skip", user=BOB))
    assert session.queue.current is not None and session.queue.current.track.id == "local:long440"
    updated(await click(world, "np:skip", user=ALICE))
    assert session.queue.current is not None and session.queue.current.track.id == "local:long660"
    await world.join(DJ)
    updated(await click(world, "np:pause", user=DJ))
    assert session.paused


async def test_clicks_without_a_session_are_refused(np_world: World) -> None:
    world = np_world
    await playing(world, "long440")
    panel = the_panel(world)
    leave = world.fake.slash("leave", guild_id=GUILD, channel_id=TEXT, user=ALICE)
    assert await invoke(world.bot, leave) is None
    assert "not in a voice channel" in refusal(await click(world, "np:pause", message=panel))


# ---------------------------------------------------------------- /nowplaying
async def test_nowplaying_shows_the_panel_privately_with_working_controls(np_world: World) -> None:
    world = np_world
    session = await playing(world, "long440", "long660")
    payload = world.fake.slash("nowplaying", guild_id=GUILD, channel_id=TEXT, user=ALICE)
    assert await invoke(world.bot, payload) is None
    [callback] = world.fake.callbacks(payload)
    assert callback["type"] == 4 and callback["data"]["flags"] & 64
    assert "Tone long440" in callback["data"]["embeds"][0]["description"]
    copy = world.fake.messages[next(m for m in world.fake.messages
                                    if world.fake.messages[m]["flags"] & 64 and is_panel(world.fake.messages[m]))]
    updated(await click(world, "np:pause", message=copy))
    assert session.paused
    await settled(world, lambda m: labels(m)["np:pause"] == "Resume")  # the public panel follows


async def test_nowplaying_with_nothing_playing_says_what_to_do(np_world: World) -> None:
    world = np_world
    payload = world.fake.slash("nowplaying", guild_id=GUILD, channel_id=TEXT, user=ALICE)
    await invoke(world.bot, payload)
    [callback] = world.fake.callbacks(payload)
    assert callback["data"]["flags"] & 64 and "Use /play" in callback["data"]["content"]


# ---------------------------------------------------------------- restart
async def test_buttons_on_a_panel_from_before_a_restart_still_work(np_world: World,
                                                                   offline_bot_factory: OfflineBotFactory) -> None:
    world = np_world
    await playing(world, "long440")
    old = the_panel(world)
    await asyncio.sleep(FAST_INTERVAL_S * 4)  # no edit pending: one at shutdown would go out at once
    world2 = await restart_world(offline_bot_factory, world)
    panels(world2).interval_s = FAST_INTERVAL_S
    assert world.fake.messages[old["id"]]["components"], "shutting down must leave the buttons in place"
    # The new process has no session yet: the click reaches the persistent view and is answered.
    await world2.join(ALICE)
    assert "not in a voice channel" in refusal(await click(world2, "np:pause", message=old))
    # Music again: the panel found in the channel is edited, not duplicated.
    await play(world2, "long660")
    await settled(world2, lambda m: "Tone long660" in description(m))
    assert the_panel(world2)["id"] == old["id"]
    shown = updated(await click(world2, "np:pause", message=world2.fake.messages[old["id"]]))
    session = world2.bot.sessions.get(GUILD)
    assert session is not None and session.paused and labels(shown)["np:pause"] == "Resume"


async def test_the_panel_links_to_the_dashboard_when_it_is_on(np_world: World) -> None:
    world = np_world
    world.bot.config = replace(world.bot.config, web_url="https://music.example.org", discord_client_id="5550003",
                               discord_client_secret="s")
    await playing(world, "long440")
    await settled(world, lambda m: True)
    links = [c for row in the_panel(world)["components"] for c in row["components"] if c.get("style") == 5]
    assert [(c["label"], c["url"]) for c in links] == [("Dashboard", f"https://music.example.org/?guild={GUILD}")]


async def test_no_dashboard_link_while_the_dashboard_is_off(np_world: World) -> None:
    await playing(np_world, "long440")
    await settled(np_world, lambda m: True)
    assert not [c for row in the_panel(np_world)["components"] for c in row["components"] if c.get("style") == 5]


async def test_a_panel_posted_while_playback_stops_does_not_bring_the_stopped_track_back(
    np_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The race a Stop can meet: the panel's update has read "playing" and waits (for the channel's
    # last messages) while the music is stopped. What it then posts must be what plays by then.
    world = np_world
    session = await playing(world, "long440", "long660")
    manager = panels(world)
    panel_id = the_panel(world)["id"]
    await wait_for(lambda: str(manager.message_id(GUILD)) == panel_id)
    entered, gate = asyncio.Event(), asyncio.Event()
    find_old_panel = manager._find_old_panel

    async def slow_find_old_panel(channel: Any) -> int | None:
        entered.set()
        await gate.wait()
        return await find_old_panel(channel)

    monkeypatch.setattr(manager, "_find_old_panel", slow_find_old_panel)
    state = manager._panels[GUILD]
    state.message_id = state.channel_id = state.shown = None  # as after a restart: the next update posts
    manager.changed(GUILD)
    await asyncio.wait_for(entered.wait(), 5)
    session.stop()
    await wait_for(lambda: session.queue.current is None)
    def requests() -> int:
        return len(world.fake.calls("POST", rf"^/channels/{TEXT}/messages$")) + len(panel_edits(world, panel_id))

    before = requests()
    gate.set()
    await wait_for(lambda: manager._panels.get(GUILD) is None or manager._panels[GUILD].task is None)
    await asyncio.sleep(2 * FAST_INTERVAL_S)
    # Neither a new panel nor the old one edited back to the stopped track and its buttons.
    assert requests() == before
    assert manager.message_id(GUILD) is None


async def test_an_edit_on_its_way_when_stop_answers_does_not_leave_the_stopped_tracks_buttons(
    np_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The other side of that race: the panel's edit (still "playing") reaches Discord after the Stop
    # click's own answer on the same message. The message must end up saying that playback ended.
    world = np_world
    await playing(world, "long440", "long660")
    manager = panels(world)
    panel_id = the_panel(world)["id"]
    await wait_for(lambda: str(manager.message_id(GUILD)) == panel_id)
    edit = discord.PartialMessage.edit
    clicked: list[dict[str, Any]] = []

    async def lands_after_a_stop(message: discord.PartialMessage, **fields: Any) -> Any:
        if fields.get("view") is not None and not clicked:  # the "playing" edit, already on its way
            clicked.append(updated(await click(world, "np:stop")))
        return await edit(message, **fields)

    monkeypatch.setattr(discord.PartialMessage, "edit", lands_after_a_stop)
    manager._panels[GUILD].shown = None  # an update of the panel is due now
    manager.changed(GUILD)
    await wait_for(lambda: bool(clicked))
    assert clicked[0]["components"] == []  # the click's answer: ended, no buttons
    await wait_for(lambda: world.fake.messages[panel_id]["components"] == [], timeout=5)
    await asyncio.sleep(2 * FAST_INTERVAL_S)
    assert world.fake.messages[panel_id]["components"] == []
    assert manager.message_id(GUILD) is None
