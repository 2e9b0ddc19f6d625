"""Within Telegram's limits: the limiter on a fake clock (one send a second per chat, 20 a minute in a
group, one edit of a message every 3 s, 25 a second across chats), and a burst of changes in a guild
that reaches its chat as a few sends, the last of them showing the end state."""

from __future__ import annotations

import asyncio
import itertools
import time

from musicbot.telegram.limiter import SendLimiter, TelegramLimits
from tests.bot.answers import playing
from tests.bot.world import World, add_sweep, wait_for
from tests.harness.fake_telegram import FakeTelegram
from tests.telegram.helpers import CHAT, link

GROUP, PRIVATE = -100123, 456


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def drain(limiter: SendLimiter, clock: Clock, chat: int, count: int, *, edit_of: int | None = None) -> list[float]:
    """Send ``count`` things to ``chat`` as soon as the limiter allows each; when they went."""
    times = []
    for _ in range(count):
        clock.now += limiter.delay_s(chat, edit_of=edit_of)
        assert limiter.delay_s(chat, edit_of=edit_of) == 0.0
        limiter.sent(chat, edit_of=edit_of)
        times.append(clock.now)
    return times


def most_in_a_window(times: list[float], window_s: float) -> int:
    return max(sum(1 for t in times if start <= t < start + window_s) for start in times)


def test_a_burst_to_a_group_goes_out_one_a_second_and_twenty_a_minute() -> None:
    clock = Clock()
    limiter = SendLimiter(TelegramLimits(), clock)
    times = drain(limiter, clock, GROUP, 100)
    assert min(b - a for a, b in itertools.pairwise(times)) >= 1.0
    assert most_in_a_window(times, 60.0) == 20
    assert times[-1] - times[0] >= 4 * 60  # 100 sends at 20 a minute


def test_a_private_chat_has_no_minute_cap_and_edits_of_one_message_wait_three_seconds() -> None:
    clock = Clock()
    limiter = SendLimiter(TelegramLimits(), clock)
    times = drain(limiter, clock, PRIVATE, 30)
    assert most_in_a_window(times, 60.0) == 30 and min(b - a for a, b in itertools.pairwise(times)) >= 1
    edits = drain(limiter, clock, GROUP, 10, edit_of=77)
    assert min(b - a for a, b in itertools.pairwise(edits)) >= 3.0
    # Another message of the same chat is only held by the chat's one-a-second.
    clock.now = edits[-1]
    assert limiter.delay_s(GROUP, edit_of=78) == 1.0


def test_across_chats_at_most_twenty_five_a_second() -> None:
    clock = Clock()
    limiter = SendLimiter(TelegramLimits(), clock)
    times = []
    for chat in range(1, 101):
        clock.now += limiter.delay_s(chat)
        limiter.sent(chat)
        times.append(clock.now)
    assert most_in_a_window(times, 1.0) == 25


async def test_a_burst_of_changes_reaches_the_chat_as_a_few_sends_within_the_limits(
        tg_world: World, fake_telegram: FakeTelegram) -> None:
    world, fake = tg_world, fake_telegram
    await link(world, fake)
    session = await playing(world, add_sweep(world))
    await fake.wait_for_text(CHAT, "Now playing")
    await asyncio.sleep(1.5)  # the mirror settled
    before = len(fake.calls)
    started = time.monotonic()
    for percent in range(100, 160):  # 60 changes in about a second
        session.set_volume(percent / 100)
        await asyncio.sleep(0.02)
    np = next(m for m in fake.sent_to(CHAT) if "Now playing" in m.visible)
    await wait_for(lambda: "159 %" in fake.messages[(CHAT, np.message_id)].visible, timeout=30)
    await fake.wait_for_text(CHAT, "🔊 Volume: 159 %")
    sends = [c for c in fake.calls[before:] if c.method in ("sendMessage", "editMessageText", "editMessageReplyMarkup")
             and str(c.params.get("chat_id")) == str(CHAT)]
    span_s = sends[-1].at - sends[0].at
    assert len(sends) <= 15, [c.params.get("text") for c in sends]  # 60 changes, coalesced (about 4 unloaded)
    assert len(sends) - 1 <= span_s + 0.5  # one a second
    assert time.monotonic() - started < 60 and len(sends) <= 20  # and under twenty a minute
    assert fake.problems == []
