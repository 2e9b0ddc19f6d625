"""ProgressMessage (bot/progress.py): at most one edit per interval, the newest state shown, the last word at once.

The clock is a number the test moves; the wait for the next allowed edit is an event the test sets, so nothing
here depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
from typing import Any

import discord
import pytest

from musicbot.bot.progress import ProgressMessage, progress_bar


class FakeResponse:
    def __init__(self, done: bool) -> None:
        self.done = done
        self.sent: list[tuple[str, bool]] = []

    def is_done(self) -> bool:
        return self.done

    async def send_message(self, content: str, *, ephemeral: bool, **_: Any) -> None:
        self.sent.append((content, ephemeral))
        self.done = True


class FakeInteraction:
    """What ProgressMessage uses of a discord.py Interaction; ``fail`` makes the next edit a 404."""

    def __init__(self, *, deferred: bool = False) -> None:
        self.response = FakeResponse(deferred)
        self.edits: list[str] = []
        self.fail = False

    async def edit_original_response(self, *, content: str, **_: Any) -> None:
        if self.fail:
            self.fail = False
            raise discord.NotFound(FakeHttpResponse(), "Unknown Message")  # type: ignore[arg-type]
        self.edits.append(content)


class FakeHttpResponse:
    status = 404
    reason = "Not Found"


class Gate:
    """The wait before a held report goes out: returns when the test opens it."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.open = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await self.open.wait()


def progress(interaction: FakeInteraction, now: list[float], gate: Gate, *, interval_s: float = 1.0) -> ProgressMessage:
    return ProgressMessage(interaction, ephemeral=True, interval_s=interval_s,  # type: ignore[arg-type]
                           clock=lambda: now[0], sleep=gate)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_reports_within_the_interval_are_held_and_only_the_newest_is_shown() -> None:
    interaction, now, gate = FakeInteraction(), [100.0], Gate()
    message = progress(interaction, now, gate)
    await message.start("⏳ start")
    assert interaction.response.sent == [("⏳ start", True)] and interaction.edits == []
    now[0] = 100.2
    await message.update("⏳ 100/500")
    await message.update("⏳ 200/500")  # replaces the held one
    await settle()
    assert interaction.edits == [] and gate.waits == [pytest.approx(0.8)]
    now[0] = 101.0
    gate.open.set()
    await settle()
    assert interaction.edits == ["⏳ 200/500"] and message.shown == "⏳ 200/500"
    now[0] = 102.5  # the interval is over: the next report goes at once
    await message.update("⏳ 300/500")
    assert interaction.edits == ["⏳ 200/500", "⏳ 300/500"]


async def test_the_last_word_goes_at_once_and_drops_what_was_held() -> None:
    interaction, now, gate = FakeInteraction(), [0.0], Gate()
    message = progress(interaction, now, gate)
    await message.start("⏳ start")
    await message.update("⏳ 100/500")  # held: the start was just sent
    await message.finish("📥 done")
    gate.open.set()
    await settle()
    assert interaction.edits == ["📥 done"]
    await message.update("⏳ late")  # after the last word, nothing
    assert interaction.edits == ["📥 done"]


async def test_a_report_back_to_what_is_shown_cancels_the_held_one() -> None:
    interaction, now, gate = FakeInteraction(), [0.0], Gate()
    message = progress(interaction, now, gate)
    await message.start("⏳ A")
    await message.update("⏳ B")
    await message.update("⏳ A")  # the newest state is what the user already reads
    now[0] = 1.0
    gate.open.set()
    await settle()
    assert interaction.edits == []


async def test_a_deferred_answer_becomes_the_message_and_a_failed_edit_is_no_error() -> None:
    interaction, now, gate = FakeInteraction(deferred=True), [0.0], Gate()
    message = progress(interaction, now, gate, interval_s=0.0)
    await message.start("⏳ start")  # the "thinking…" message becomes it
    assert interaction.response.sent == [] and interaction.edits == ["⏳ start"]
    interaction.fail = True
    await message.update("⏳ 1/2")  # the user dismissed it: logged, the job goes on
    assert message.shown == "⏳ start"
    await message.finish("📥 done")
    assert interaction.edits == ["⏳ start", "📥 done"]


@pytest.mark.parametrize(("done", "total", "bar"), [
    (0, 500, "▱▱▱▱▱▱▱▱▱▱ 0/500"), (150, 500, "▰▰▰▱▱▱▱▱▱▱ 150/500"), (500, 500, "▰▰▰▰▰▰▰▰▰▰ 500/500"),
    (3, 0, "▱▱▱▱▱▱▱▱▱▱ 3/0"),
])
def test_progress_bar(done: int, total: int, bar: str) -> None:
    assert progress_bar(done, total) == bar
