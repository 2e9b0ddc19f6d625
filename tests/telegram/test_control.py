"""Controlling the music from a linked Telegram chat, on the real client and the fake Telegram: /play
through the session's own path (credited to the Telegram user, only where the bot already is in voice),
the mirror's message posted and edited with its events, its inline buttons, who may do what under each
``telegram_control`` setting, and every bad input answered."""

from __future__ import annotations

from musicbot.storage.guild_settings import TelegramControl
from tests.bot.answers import command, playing
from tests.bot.world import ADMIN, ALICE, GUILD, World, add_sweep, wait_for
from tests.harness.fake_telegram import FakeTelegram, SentMessage
from tests.telegram.helpers import CHAT, MIA, TOM, fresh, link, say


def np_message(fake: FakeTelegram, title: str) -> SentMessage | None:
    """The mirror's now-playing message about ``title`` (the newest), if there is one."""
    found = [m for m in fake.sent_to(CHAT) if "Now playing" in m.visible or "Paused" in m.visible.split("\n")[0]]
    found = [m for m in found if title in m.visible]
    return found[-1] if found else None


def button(message: SentMessage, label: str) -> str:
    [data] = [b["callback_data"] for b in message.buttons() if label in b["text"]]
    return str(data)


async def set_control(world: World, control: TelegramControl) -> None:
    await fresh(world.bot.update_guild_settings(GUILD, int(ADMIN["id"]), telegram_control=control))


async def test_play_from_telegram_is_credited_and_plays_where_the_bot_is(tg_world: World,
                                                                         fake_telegram: FakeTelegram) -> None:
    world, fake = tg_world, fake_telegram
    await link(world, fake)
    # Not in voice yet: the rule is said, nothing is resolved.
    refusal = await say(fake, TOM, "/play long660", expect="⚠️")
    assert "start the music in Discord first" in refusal and world.resolver.queries == []
    session = await playing(world, "long440")
    assert "Queued Generator - Tone long660 (0:06) at position 1" in await say(fake, TOM, "/play long660",
                                                                               expect="Queued")
    [entry] = session.queue.upcoming
    assert (entry.requester_id, entry.requester_name) == (None, "Tom (Telegram)")
    queue = await command(world, "queue", user=ALICE)  # shown as such in Discord
    assert "Tone long660 (0:06) — Tom (Telegram)" in queue.embeds[0]["description"]
    assert "Nothing was found" in await say(fake, TOM, "/play nothing-like-this", expect="⚠️")
    assert "What should I play?" in await say(fake, TOM, "/play", expect="⚠️")
    assert "up to 500 characters" in await say(fake, TOM, "/play " + "x" * 501, expect="⚠️")
    page = await say(fake, MIA, "/queue@musicbot_test_bot", expect="⚠️")
    assert "admins" in page  # the default: only the chat's admins use the commands
    await set_control(world, TelegramControl.READ_ONLY)
    page = await say(fake, MIA, "/queue", expect="Queue")
    assert "1. Tone long660 (0:06) — Tom (Telegram)" in page and "Now: Generator - Tone long440" in page
    listeners = await say(fake, MIA, "/list", expect="🎧")
    assert "alice" in listeners.lower() and "(1)" in listeners
    await fake.send(CHAT, TOM, "/queue@another_bot")  # a command for another bot in the group is not ours
    await fake.send(CHAT, TOM, "just chatting")
    # Once it played, /history names Tom too (not autoplay, which picked nothing here).
    await wait_for(lambda: any(e is not None and e.requester_name for e in (*session.queue.history,
                                                                               session.queue.current)), timeout=20)
    await world.bot.db.outbox.flush(5.0)
    played = await command(world, "history", user=ALICE)
    lines = played.embeds[0]["description"].splitlines()
    assert "Tone long660 — Tom (Telegram)" in lines[0] and "Tone long440 — <@" in lines[1], lines


async def test_the_mirror_posts_now_playing_edits_it_and_tells_events(tg_world: World,
                                                                      fake_telegram: FakeTelegram) -> None:
    world, fake = tg_world, fake_telegram
    await link(world, fake)
    session = await playing(world, "long440")
    await wait_for(lambda: np_message(fake, "Tone long440") is not None, timeout=20)
    first = np_message(fake, "Tone long440")
    assert first is not None and "requested by alice" in first.visible.lower() and "0:06" in first.visible
    assert [b["text"] for b in first.buttons()] == ["⏸ Pause", "⏭ Skip", "⏹ Stop"]
    await command(world, "pause", user=ALICE)
    await wait_for(lambda: "Paused" in fake.messages[(CHAT, first.message_id)].visible, timeout=20)
    edited = fake.messages[(CHAT, first.message_id)]
    assert edited.edits and edited.buttons()[0]["text"] == "▶️ Resume"
    await fake.wait_for_text(CHAT, "⏸ Paused", after=first.message_id)
    await command(world, "volume", {"percent": 150}, user=ALICE)
    await fake.wait_for_text(CHAT, "🔊 Volume: 150 %", after=first.message_id)
    await command(world, "resume", user=ALICE)
    await say(fake, TOM, "/play long660", expect="Queued")
    await command(world, "skip", user=ALICE)  # Alice asked for it: she skips at once
    await fake.wait_for_text(CHAT, "⏭ Skipped: Generator - Tone long440", after=first.message_id)
    await wait_for(lambda: np_message(fake, "Tone long660") is not None, timeout=20)
    second = np_message(fake, "Tone long660")
    assert second is not None and "Requested by Tom (Telegram)" in second.visible
    await wait_for(lambda: fake.messages[(CHAT, first.message_id)].visible.startswith("🎵 Played"), timeout=20)
    assert fake.messages[(CHAT, first.message_id)].buttons() == []  # the old message's buttons are gone
    # The last track plays to its end: finished, and the queue is done.
    await wait_for(lambda: session.queue.current is None, timeout=20)
    await fake.wait_for_text(CHAT, "✅ Finished: Generator - Tone long660", after=second.message_id)
    await fake.wait_for_text(CHAT, "🏁 The queue is finished.", after=second.message_id)


async def test_inline_buttons_pause_and_skip(tg_world: World, fake_telegram: FakeTelegram) -> None:
    world, fake = tg_world, fake_telegram
    await link(world, fake)
    session = await playing(world, "long440")
    await say(fake, TOM, "/play long660", expect="Queued")
    await wait_for(lambda: np_message(fake, "Tone long440") is not None, timeout=20)
    message = np_message(fake, "Tone long440")
    assert message is not None
    pressed = await fake.press(CHAT, TOM, message.message_id, button(message, "Pause"))
    await wait_for(lambda: pressed in fake.callback_answers, timeout=20)
    assert session.paused and fake.callback_answers[pressed]["text"] == "⏸ Paused"
    pressed = await fake.press(CHAT, TOM, message.message_id, button(message, "Skip"))
    await wait_for(lambda: pressed in fake.callback_answers, timeout=20)
    current = session.queue.current
    assert current is not None and current.track.title == "Tone long660"
    # The same skip button again: its track is over, nothing else is skipped.
    pressed = await fake.press(CHAT, TOM, message.message_id, button(message, "Skip"))
    await wait_for(lambda: pressed in fake.callback_answers, timeout=20)
    answer = fake.callback_answers[pressed]
    assert "no longer playing" in answer["text"] and answer.get("show_alert") in (True, "true", "True")
    assert session.queue.current is current


async def test_members_are_refused_under_admins_only_and_follow_under_read_only(tg_world: World,
                                                                                 fake_telegram: FakeTelegram) -> None:
    world, fake = tg_world, fake_telegram
    await link(world, fake)
    session = await playing(world, add_sweep(world))
    # The default, admins only: a member can neither control nor look.
    assert "Only this chat's admins can use the music commands" in await say(fake, MIA, "/pause", expect="⚠️")
    assert "Only this chat's admins" in await say(fake, MIA, "/np", expect="⚠️")
    assert not session.paused
    await wait_for(lambda: np_message(fake, "sweep") is not None, timeout=20)
    message = np_message(fake, "sweep")
    assert message is not None
    pressed = await fake.press(CHAT, MIA, message.message_id, button(message, "Stop"))
    await wait_for(lambda: pressed in fake.callback_answers, timeout=20)
    assert "admins" in fake.callback_answers[pressed]["text"] and session.queue.current is not None
    # Read-only: members follow, admins control.
    await set_control(world, TelegramControl.READ_ONLY)
    assert "Now playing" in await say(fake, MIA, "/np", expect="sweep")
    assert "can follow it with /np" in await say(fake, MIA, "/pause", expect="⚠️")
    assert "Paused" in await say(fake, TOM, "/pause", expect="Paused")
    assert session.paused
    # Everyone: members control too.
    await set_control(world, TelegramControl.EVERYONE)
    assert "Resumed" in await say(fake, MIA, "/resume", expect="Resumed")
    assert not session.paused
    assert "The music is not paused" in await say(fake, MIA, "/resume", expect="⚠️")


async def test_volume_filters_stop_and_every_bad_input_answered(tg_world: World, fake_telegram: FakeTelegram) -> None:
    world, fake = tg_world, fake_telegram
    await link(world, fake)
    session = await playing(world, add_sweep(world))  # 30 s: plays through the whole test
    assert "Volume: 80 %" in await say(fake, TOM, "/volume 80", expect="Volume")
    assert session.volume == 0.8
    assert "0 to 200" in await say(fake, TOM, "/volume 250", expect="⚠️")
    assert "0 to 200" in await say(fake, TOM, "/volume loud", expect="⚠️")
    assert "Preset: nightcore" in await say(fake, TOM, "/filter NightCore", expect="Preset")
    assert session.filters.timescale is not None
    assert "Presets:" in await say(fake, TOM, "/filter <b>", expect="⚠️")
    assert "Filters off" in await say(fake, TOM, "/filter off", expect="Filters off")
    assert "page number" in await say(fake, TOM, "/queue two", expect="⚠️")
    assert "Stopped" in await say(fake, TOM, "/stop", expect="Stopped")
    assert session.queue.current is None
    assert "Nothing is playing" in await say(fake, TOM, "/skip", expect="⚠️")
    assert "/confirm CODE" in await say(fake, TOM, "/help", expect="/play")


async def test_the_queue_is_paged_with_buttons(tg_world: World, fake_telegram: FakeTelegram) -> None:
    world, fake = tg_world, fake_telegram
    await link(world, fake)
    await playing(world, add_sweep(world))
    assert "Queued 12 tracks" in await say(fake, TOM, "/play list:" + ",".join(["a440", "a660"] * 6), expect="Queued")
    page = await say(fake, TOM, "/queue", expect="Queue")
    assert "12 tracks · page 1/2" in page and "10. Tone a660" in page and "11." not in page
    [message] = [m for m in fake.sent_to(CHAT) if "page 1/2" in m.visible]
    assert [b["text"] for b in message.buttons()] == ["Next ▶️"]
    pressed = await fake.press(CHAT, TOM, message.message_id, button(message, "Next"))
    await wait_for(lambda: "page 2/2" in fake.messages[(CHAT, message.message_id)].visible, timeout=20)
    assert "11. Tone a440" in message.visible and [b["text"] for b in message.buttons()] == ["◀️ Previous"]
    assert pressed in fake.callback_answers
    assert "page 2/2" in await say(fake, TOM, "/queue 5", expect="Queue")  # past the end: the last page
