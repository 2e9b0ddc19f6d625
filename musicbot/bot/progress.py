"""A long job's one message: the interaction's answer, sent at once and edited in place as the job goes.

Discord allows an interaction's webhook about five edits in five seconds; a job may report far more
often. ``update`` therefore edits at most once every ``interval_s``: a report that comes sooner is
held, and a later one replaces it (only the newest state is worth showing), then sent when the
interval is up. The last word (``finish``) goes at once and drops whatever was held. Progress is a
courtesy: an edit that fails (the user dismissed the message, the token expired after 15 minutes)
is logged and the job goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import discord

from musicbot.bot.replies import MAX_CONTENT, NO_PINGS

log = logging.getLogger(__name__)

EDIT_INTERVAL_S = 1.0
BAR_CELLS = 10


def progress_bar(done: int, total: int, cells: int = BAR_CELLS) -> str:
    """``▰▰▰▱▱▱▱▱▱▱ 150/500``."""
    filled = 0 if total <= 0 else min(cells, done * cells // total)
    return "▰" * filled + "▱" * (cells - filled) + f" {done}/{total}"


class ProgressMessage:
    """Event loop. ``start`` once, ``update`` any number of times, ``finish`` once."""

    def __init__(self, interaction: discord.Interaction[Any], *, ephemeral: bool,
                 interval_s: float = EDIT_INTERVAL_S, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._interaction = interaction
        self._ephemeral = ephemeral
        self._interval_s = interval_s
        self._clock = clock
        self._sleep = sleep
        self._sent_at = -float("inf")
        self._held: str | None = None
        self._flush: asyncio.Task[None] | None = None
        self._finished = False
        self.shown: str | None = None
        """What the user reads now (the last text sent)."""

    async def start(self, text: str) -> None:
        """The answer: a message now, or (when the command was deferred while storage was slow) the
        "thinking…" message becomes it."""
        response = self._interaction.response
        if not response.is_done():
            await response.send_message(_fit(text), ephemeral=self._ephemeral, allowed_mentions=NO_PINGS)
        else:
            await self._interaction.edit_original_response(content=_fit(text), allowed_mentions=NO_PINGS)
        self._sent_at, self.shown = self._clock(), text

    async def update(self, text: str) -> None:
        """Show ``text`` now, or as soon as the interval allows (unless something newer comes first)."""
        if self._finished:
            return
        if self._flush is not None:  # an edit is due: it shows whatever is newest then
            self._held = text
            return
        if text == self.shown:
            return
        wait_s = self._sent_at + self._interval_s - self._clock()
        if wait_s <= 0:
            await self._edit(text)
            return
        self._held = text
        self._flush = asyncio.get_running_loop().create_task(self._send_held(wait_s))

    async def finish(self, text: str, *, embed: discord.Embed | None = None,
                     attachments: Sequence[discord.File] = ()) -> None:
        """The last word, at once (what was held is dropped)."""
        self._finished = True
        self._held = None
        if self._flush is not None:
            self._flush.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flush
            self._flush = None
        extra: dict[str, Any] = {}
        if embed is not None:
            extra["embed"] = embed
        if attachments:
            extra["attachments"] = list(attachments)
        await self._edit(text, **extra)

    async def _send_held(self, wait_s: float) -> None:
        await self._sleep(wait_s)
        self._flush = None  # from here an update may edit at once or start the next wait
        text, self._held = self._held, None
        if text is not None and text != self.shown and not self._finished:
            await self._edit(text)

    async def _edit(self, text: str, **extra: Any) -> None:
        self._sent_at = self._clock()
        try:
            await self._interaction.edit_original_response(content=_fit(text), allowed_mentions=NO_PINGS, **extra)
        except discord.HTTPException as err:
            log.warning("could not show a job's progress (HTTP %s): %s", err.status, err.text)
            return
        self.shown = text


def _fit(text: str) -> str:
    return text if len(text) <= MAX_CONTENT else text[: MAX_CONTENT - 1] + "…"
