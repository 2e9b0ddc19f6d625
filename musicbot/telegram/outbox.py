"""Everything the bridge sends to a chat goes through that chat's ``ChatOutbox``: one task per chat
sends one thing at a time, each when the ``SendLimiter`` allows, the most useful first: answers to
commands, then the mirror's events (several pending become one message), then the now-playing
message (posted for a new track, else edited; only its newest content is kept, so a burst of changes
is one edit), then old now-playing messages turned into "played" lines.

Failures never reach the caller (the mirror, a command handler): Telegram's "retry after" is waited
out; a chat that removed the bot (403) is noted once (``ChatProblems``, shown by /telegram status),
its pending messages dropped, and tried again after a growing pause; a network failure keeps what is
pending and tries again with backoff (answers to commands older than ``REPLY_MAX_AGE_S`` are dropped:
late, they would only confuse). Event loop only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, ReplyParameters

from musicbot.telegram.limiter import SendLimiter
from musicbot.telegram.text import MAX_TEXT, Post

log = logging.getLogger(__name__)

REPLY_MAX_AGE_S = 60.0
RETRY_FIRST_S, RETRY_MAX_S = 1.0, 30.0
FORBIDDEN_FIRST_S, FORBIDDEN_MAX_S = 60.0, 3600.0
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class ChatProblems:
    """Chats that refuse the bot (removed from the group, blocked in private), since when; logged once."""

    def __init__(self) -> None:
        self._problems: dict[int, tuple[str, datetime]] = {}

    def note(self, chat_id: int, what: str) -> None:
        if chat_id not in self._problems:
            log.warning("Telegram chat %d refuses the bot: %s", chat_id, what)
            self._problems[chat_id] = (what, datetime.now(UTC))

    def clear(self, chat_id: int) -> None:
        if self._problems.pop(chat_id, None) is not None:
            log.info("Telegram chat %d accepts the bot again", chat_id)

    def of(self, chat_id: int) -> str | None:
        problem = self._problems.get(chat_id)
        if problem is None:
            return None
        what, since = problem
        return f"{what} (since {since.isoformat(timespec='seconds')})"


@dataclass
class _Reply:
    text: str
    buttons: tuple[tuple[tuple[str, str], ...], ...]
    reply_to: int | None
    made_at: float


def markup(post: Post) -> InlineKeyboardMarkup | None:
    if not post.buttons:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=label, callback_data=data)
                                                  for label, data in row] for row in post.buttons])


def _fit(text: str) -> str:
    # The texts are built within the limit; this guards the rest (a page of very long titles).
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


class ChatOutbox:
    def __init__(self, chat_id: int, bot: Bot, limiter: SendLimiter, problems: ChatProblems) -> None:
        self.chat_id = chat_id
        self._bot = bot
        self._limiter = limiter
        self._problems = problems
        self._replies: deque[_Reply] = deque()
        self._edits: dict[int, Post] = {}  # a message the bot sent → its new content (queue pages)
        self._events: list[tuple[str | None, str]] = []  # (what it is about, its line)
        self._np_id: int | None = None  # the now-playing message
        self._np_key: int | None = None  # the entry it is about
        self._np_shown: Post | None = None
        self._np_want: Post | None = None
        self._retired: dict[int, Post] = {}  # earlier now-playing messages → their "played" line
        self._wake = asyncio.Event()
        self._hold_until = 0.0  # monotonic: nothing is sent before (retry after, backoff)
        self._backoff_s = 0.0
        self._task: asyncio.Task[None] | None = None

    # ---------------------------------------------------------------- what callers ask for
    def reply(self, post: Post | str, *, reply_to: int | None = None) -> None:
        post = Post(post) if isinstance(post, str) else post
        self._replies.append(_Reply(post.text, post.buttons, reply_to, time.monotonic()))
        self._kick()

    def edit(self, message_id: int, post: Post) -> None:
        self._edits[message_id] = post
        self._kick()

    def event(self, line: str, *, about: str | None = None) -> None:
        """A line for the chat; one still pending ``about`` the same thing (the volume) is replaced."""
        if about is not None:
            self._events = [(a, text) for a, text in self._events if a != about]
        self._events.append((about, line))
        self._kick()

    def now_playing(self, key: int | None, post: Post | None, retire_as: Post | None = None) -> None:
        """The now-playing message should be ``post`` about entry ``key`` (None, None: nothing plays).
        A new ``key`` posts a new message, and the previous one becomes ``retire_as``."""
        if key != self._np_key:
            if self._np_id is not None and retire_as is not None:
                self._retired[self._np_id] = retire_as
            self._np_id, self._np_shown = None, None
            self._np_key = key
        self._np_want = post
        self._kick()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    # ---------------------------------------------------------------- the sender
    def _kick(self) -> None:
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"telegram-outbox:{self.chat_id}")

    def _next(self) -> tuple[int | None, Callable[[], Awaitable[None]]] | None:
        """The most useful thing to send now: (the message it edits or None, how to send it)."""
        now = time.monotonic()
        while self._replies and now - self._replies[0].made_at > REPLY_MAX_AGE_S:
            self._replies.popleft()
        if self._replies:
            return None, self._send_reply
        if self._edits:
            return next(iter(self._edits)), self._send_edit
        if self._events:
            return None, self._send_events
        if self._np_want is not None and self._np_id is None:
            return None, self._post_now_playing
        if self._np_want is not None and self._np_want != self._np_shown:
            return self._np_id, self._edit_now_playing
        if self._retired:
            return next(iter(self._retired)), self._send_retired
        return None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            job = self._next()
            wait = max(self._hold_until - time.monotonic(), 0.0)
            if job is not None and not wait:
                wait = self._limiter.delay_s(self.chat_id, edit_of=job[0])
            if job is None or wait > 0:
                # Something more useful may arrive meanwhile (an answer while an edit waits its turn).
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), None if job is None else wait)
                continue
            edit_of, send = job
            self._limiter.sent(self.chat_id, edit_of=edit_of)
            await self._attempt(send)

    async def _attempt(self, send: Callable[[], Awaitable[None]]) -> None:
        try:
            await send()
        except TelegramRetryAfter as err:
            log.warning("Telegram asks to wait %d s before sending to chat %d", err.retry_after, self.chat_id)
            self._hold_until = time.monotonic() + err.retry_after
            return
        except TelegramForbiddenError as err:
            self._problems.note(self.chat_id, "the bot was removed from the chat, or blocked")
            log.debug("chat %d: %s", self.chat_id, err.message)
            self._drop_pending()
            self._backoff_s = min(max(self._backoff_s * 2, FORBIDDEN_FIRST_S), FORBIDDEN_MAX_S)
            self._hold_until = time.monotonic() + self._backoff_s
            return
        except TelegramBadRequest as err:
            self._bad_request(err)
        except (TelegramAPIError, OSError) as err:  # unreachable, a server error: try again later
            self._backoff_s = min(max(self._backoff_s * 2, RETRY_FIRST_S), RETRY_MAX_S)
            self._hold_until = time.monotonic() + self._backoff_s
            log.debug("sending to Telegram chat %d failed (%s); again in %.0f s", self.chat_id, err, self._backoff_s)
            return
        self._backoff_s = 0.0
        self._problems.clear(self.chat_id)

    def _bad_request(self, err: TelegramBadRequest) -> None:
        """Telegram refused this one message: it is dropped (sending it again would be refused again)."""
        text = err.message.lower()
        if "not modified" in text:
            return
        if "message to edit not found" in text:
            return  # deleted by someone: the next now-playing content is posted anew (see _edit_now_playing)
        log.warning("Telegram refused a message to chat %d: %s", self.chat_id, err.message)

    def _drop_pending(self) -> None:
        self._replies.clear()
        self._edits.clear()
        self._events.clear()
        self._retired.clear()
        self._np_id, self._np_shown, self._np_want = None, None, None

    async def _send_reply(self) -> None:
        reply = self._replies[0]
        post = Post(reply.text, reply.buttons)
        target = None if reply.reply_to is None else ReplyParameters(message_id=reply.reply_to,
                                                                     allow_sending_without_reply=True)
        try:
            await self._bot.send_message(self.chat_id, _fit(reply.text), reply_markup=markup(post),
                                         reply_parameters=target, link_preview_options=NO_PREVIEW)
        except TelegramBadRequest:
            self._replies.popleft()
            raise
        self._replies.popleft()

    async def _send_edit(self) -> None:
        message_id = next(iter(self._edits))
        post = self._edits.pop(message_id)
        await self._bot.edit_message_text(_fit(post.text), chat_id=self.chat_id, message_id=message_id,
                                          reply_markup=markup(post), link_preview_options=NO_PREVIEW)

    async def _send_events(self) -> None:
        lines, self._events = self._events, []
        try:
            await self._bot.send_message(self.chat_id, _fit("\n".join(text for _, text in lines)),
                                         link_preview_options=NO_PREVIEW, disable_notification=True)
        except TelegramBadRequest:
            raise
        except BaseException:
            self._events = lines + self._events  # not sent: they go with the next attempt
            raise

    async def _post_now_playing(self) -> None:
        post = self._np_want
        assert post is not None
        key = self._np_key
        sent = await self._bot.send_message(self.chat_id, _fit(post.text), reply_markup=markup(post),
                                            link_preview_options=NO_PREVIEW, disable_notification=True)
        if key == self._np_key:  # still the track playing
            self._np_id, self._np_shown = sent.message_id, post
        else:
            self._retired[sent.message_id] = Post(post.text)

    async def _edit_now_playing(self) -> None:
        post, message_id = self._np_want, self._np_id
        assert post is not None and message_id is not None
        try:
            await self._bot.edit_message_text(_fit(post.text), chat_id=self.chat_id, message_id=message_id,
                                              reply_markup=markup(post), link_preview_options=NO_PREVIEW)
        except TelegramBadRequest as err:
            if "message to edit not found" in err.message.lower() and self._np_id == message_id:
                self._np_id, self._np_shown = None, None  # deleted in the chat: post it again
            elif self._np_want == post:
                self._np_shown = post  # "not modified", or refused: not asked again until it changes
            raise
        if self._np_id == message_id and self._np_want == post:
            self._np_shown = post

    async def _send_retired(self) -> None:
        message_id = next(iter(self._retired))
        post = self._retired.pop(message_id)
        await self._bot.edit_message_text(_fit(post.text), chat_id=self.chat_id, message_id=message_id,
                                          link_preview_options=NO_PREVIEW)


class Outboxes:
    """One ``ChatOutbox`` per chat, made on first use."""

    def __init__(self, bot: Bot, limiter: SendLimiter, problems: ChatProblems) -> None:
        self._bot = bot
        self.limiter = limiter
        self.problems = problems
        self._boxes: dict[int, ChatOutbox] = {}

    def __call__(self, chat_id: int) -> ChatOutbox:
        box = self._boxes.get(chat_id)
        if box is None:
            box = self._boxes[chat_id] = ChatOutbox(chat_id, self._bot, self.limiter, self.problems)
        return box

    async def close(self) -> None:
        for box in self._boxes.values():
            await box.close()
