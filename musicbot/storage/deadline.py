"""Deadlines for storage calls made on someone's behalf (a slash command waiting to answer).

A database that accepts connections but never answers would otherwise hold a command until the
driver's own timeouts (5 s to connect, 15 s per statement): past Discord's 3 s for a first
answer, and long for a user. A command sets a deadline once (``command_deadline``); every
``Database.transaction`` in that task then ends by it with ``StorageTimeoutError``, whose message
says the database is not answering. The deadline may carry ``before_wait``, awaited before the
first transaction opens: the bot defers its answer there, so Discord's 3 s never depend on the
database. Background work (the outbox, snapshots) never sets one: it retries on its own terms.

The deadline belongs to the task that set it: tasks it spawns inherit the context variable but
not the deadline (``current()`` checks the task).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from musicbot.i18n import N_, Text
from musicbot.storage.errors import StorageUnavailableError

NOT_ANSWERING = N_("The database is not answering right now; playback goes on. Try again in a minute.")


class StorageTimeoutError(StorageUnavailableError):
    """The caller's deadline passed before the database answered."""

    def __init__(self, detail: str = "deadline passed") -> None:
        super().__init__(detail, Text(NOT_ANSWERING, {}))


@dataclass
class Deadline:
    """Until ``at`` (event-loop time), for ``task``; ``before_wait`` runs once, before the first wait."""

    task: asyncio.Task[object] | None
    at: float
    before_wait: Callable[[], Awaitable[None]] | None = None

    async def prepare(self) -> None:
        hook, self.before_wait = self.before_wait, None
        if hook is not None:
            await hook()


_deadline: ContextVar[Deadline | None] = ContextVar("musicbot_storage_deadline", default=None)


def command_deadline(seconds: float, before_wait: Callable[[], Awaitable[None]] | None = None) -> Deadline:
    """Event loop: storage calls of the current task from now on end within ``seconds``."""
    loop = asyncio.get_running_loop()
    deadline = Deadline(asyncio.current_task(), loop.time() + seconds, before_wait)
    _deadline.set(deadline)
    return deadline


def current() -> Deadline | None:
    """The current task's deadline, if it set one."""
    deadline = _deadline.get()
    if deadline is None or deadline.task is not asyncio.current_task():
        return None
    return deadline


@contextmanager
def quick(seconds: float) -> Iterator[None]:
    """Storage calls inside end within ``seconds`` (or the command's deadline, if sooner) and do not
    run its ``before_wait``: for a read with a fallback (the guild settings, which every control
    command checks) made by a command that otherwise answers at once."""
    outer = current()
    at = asyncio.get_running_loop().time() + seconds
    token = _deadline.set(Deadline(asyncio.current_task(), min(at, outer.at) if outer is not None else at))
    try:
        yield
    finally:
        _deadline.reset(token)
