"""Buttons and menus as users meet them: after a restart, with payloads no live view expects, from the wrong place."""

from __future__ import annotations

from typing import Any

from tests.bot.answers import command
from tests.bot.world import ALICE, BOB, GUILD, TEXT, VOICE2, World, restart_world
from tests.harness import dispatch_interaction
from tests.harness.fixtures import OfflineBotFactory
from tests.harness.payloads import Payload


def message_starting(world: World, text: str, *, embed_title: str | None = None) -> Payload:
    found = [m for m in world.fake.messages.values() if m.get("components") and (
        m["content"].startswith(text) if embed_title is None else
        any(e.get("title") == embed_title for e in m.get("embeds") or []))]
    assert found, f"no message {text or embed_title!r} with components"
    return found[-1]


def custom_ids(message: Payload) -> list[str]:
    return [c["custom_id"] for row in message["components"] for c in row["components"]]


def only_answer(callbacks: list[dict[str, Any]]) -> str:
    [callback] = callbacks
    assert callback["type"] == 4 and callback["data"]["flags"] & 64, callback
    content: str = callback["data"]["content"]
    return content


async def long_queue(world: World) -> None:
    await world.join(ALICE)
    assert (await command(world, "play", {"query": "list:" + ",".join(["long440"] * 14)})).error is None


async def test_a_queue_pager_from_before_a_restart_says_it_expired(world: World,
                                                                  offline_bot_factory: OfflineBotFactory) -> None:
    await long_queue(world)
    assert (await command(world, "queue")).error is None
    pager = message_starting(world, "", embed_title="Queue")
    again = await restart_world(offline_bot_factory, world)
    for custom_id in custom_ids(pager):
        click = again.fake.click(custom_id, guild_id=GUILD, message=pager, user=ALICE)
        text = only_answer(await dispatch_interaction(again.bot, click, fake=again.fake))
        assert "expired" in text and "/queue" in text


async def test_a_search_menu_from_before_a_restart_says_it_expired(world: World,
                                                                  offline_bot_factory: OfflineBotFactory) -> None:
    await world.join(ALICE)
    await command(world, "search", {"query": "search:tones"})
    menu = message_starting(world, "Pick one")
    again = await restart_world(offline_bot_factory, world)
    [custom_id] = custom_ids(menu)
    pick = again.fake.select(custom_id, ["1"], guild_id=GUILD, message=menu, user=ALICE)
    text = only_answer(await dispatch_interaction(again.bot, pick, fake=again.fake))
    assert "expired" in text and "/search" in text
    assert again.bot.sessions.get(GUILD) is None  # nothing was queued from the stale menu


async def test_unknown_and_wrong_type_components_get_a_clear_answer(world: World) -> None:
    panel_like = {"id": "424242", "channel_id": str(TEXT), "content": "x", "components": []}
    unknown = world.fake.click("someone-elses:button", guild_id=GUILD, message=panel_like, user=ALICE)
    assert "isn't one of mine" in only_answer(await dispatch_interaction(world.bot, unknown, fake=world.fake))
    # A menu choice sent with the id of a panel *button*: no control of that kind exists.
    forged = world.fake.select("np:pause", ["1"], guild_id=GUILD, message=panel_like, user=ALICE)
    text = only_answer(await dispatch_interaction(world.bot, forged, fake=world.fake))
    assert "doesn't work that way" in text


async def test_a_search_pick_from_another_voice_channel_is_refused(world: World) -> None:
    await long_queue(world)  # the bot plays in Alice's channel
    await world.join(BOB, VOICE2)
    await command(world, "search", {"query": "search:tones"}, user=BOB)
    menu = message_starting(world, "Pick one")
    [custom_id] = custom_ids(menu)
    pick = world.fake.select(custom_id, ["1"], guild_id=GUILD, message=menu, user=BOB)
    [callback] = await dispatch_interaction(world.bot, pick, fake=world.fake)
    assert callback["data"]["flags"] & 64 and "Join it to control the music" in callback["data"]["content"]
    session = world.bot.sessions.get(GUILD)
    assert session is not None and all(e.track.title != "Tone a660" for e in session.queue.upcoming)
