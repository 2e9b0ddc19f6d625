"""The Telegram bridge: one aiogram ``Bot`` reading the bot's updates (long polling) and answering
them, the mirror of linked guilds, and the bridge's own bus operations (begin a link, status,
mention everyone), in the one process that runs shard 0 (``MusicBotClient``).

It must never disturb the Discord side: it runs in tasks of its own, and every failure is caught,
logged once (when the state changes, not at each retry) and retried with backoff. Its state is one
value (``BridgeState``), shown by ``/telegram status`` and in ``/ready``'s details (never making
``/ready`` fail: readiness is about Discord). Errors are told without the token (aiogram's include
the request's address, which holds it). Event loop only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramUnauthorizedError,
)
from aiogram.types import BotCommand, Update

from musicbot.bot.ratelimit import RateLimiter
from musicbot.cluster import Bus, Handlers
from musicbot.storage import Database, StorageUnavailableError
from musicbot.storage.telegram import ChatLinkedElsewhereError, TelegramLinks
from musicbot.telegram.commands import MENU
from musicbot.telegram.handlers import ChatCommands
from musicbot.telegram.limiter import SendLimiter, TelegramLimits
from musicbot.telegram.linking import PendingLinks
from musicbot.telegram.mirror import Mirror
from musicbot.telegram.ops import (
    BEGIN_LINK,
    MENTION_ALL,
    STATUS,
    BridgeRefusal,
    BridgeStatus,
    LinkCode,
    LinkRequest,
    Mentioned,
    MentionRequest,
    StatusRequest,
)
from musicbot.telegram.outbox import ChatProblems, Outboxes
from musicbot.telegram.text import mention_posts

log = logging.getLogger(__name__)

POLL_S = 25  # long polling: Telegram holds the request this long when there is nothing new
UPDATES = ["message", "callback_query", "my_chat_member"]
RETRY_FIRST_S, RETRY_MAX_S = 1.0, 30.0
REJECTED_FIRST_S, REJECTED_MAX_S = 60.0, 600.0


class BridgeState(Enum):
    STARTING = "starting"
    CONNECTED = "connected"
    TOKEN_REJECTED = "token rejected"
    UNREACHABLE = "unreachable"
    CONFLICT = "conflict"  # another program reads this bot's updates (a webhook, a second bridge)
    STOPPED = "stopped"


class TelegramBridge:
    def __init__(self, *, token: str, api_base: str, bus: Bus, database: Callable[[], Database | None],
                 limits: TelegramLimits | None = None, poll_s: int = POLL_S) -> None:
        self._token = token
        session = AiohttpSession(api=TelegramAPIServer.from_base(api_base))
        self.bot = Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
        self._bus = bus
        self._database = database
        self.poll_s = poll_s
        self.outboxes = Outboxes(self.bot, SendLimiter(limits), ChatProblems())
        self.pending = PendingLinks()
        self.mirror = Mirror(bus, self.links, self.outboxes)
        self.commands = ChatCommands(self.bot, bus, links=self.links, outboxes=self.outboxes, pending=self.pending,
                                     on_linked=self.mirror.linked, rate_limiter=RateLimiter())
        self.state = BridgeState.STARTING
        self.since = datetime.now(UTC)
        self.last_error: str | None = None
        self.username: str | None = None
        self._bot_id: int | None = None
        self._offset = 0
        self._task: asyncio.Task[None] | None = None
        self._handling: set[asyncio.Task[None]] = set()

    def links(self) -> TelegramLinks:
        database = self._database()
        if database is None:
            raise StorageUnavailableError("the database is not open yet")
        return TelegramLinks(database)

    # ---------------------------------------------------------------- life
    async def start(self) -> None:
        if self._task is None:
            await self.mirror.start()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="telegram-bridge")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.mirror.stop()
        for task in list(self._handling):
            task.cancel()
        await asyncio.gather(*self._handling, return_exceptions=True)
        await self.outboxes.close()
        await self.bot.session.close()
        self._become(BridgeState.STOPPED)

    async def _run(self) -> None:
        wait_s = 0.0
        while True:
            try:
                if self.username is None:
                    await self._introduce()
                # Until a poll succeeds, one that answers at once: the state says "connected" as soon as it is.
                poll_s = self.poll_s if self.state is BridgeState.CONNECTED else 0
                updates = await self.bot.get_updates(offset=self._offset or None, timeout=poll_s,
                                                     allowed_updates=UPDATES, request_timeout=poll_s + 15)
            except TelegramUnauthorizedError as err:
                wait_s = min(max(wait_s * 2, REJECTED_FIRST_S), REJECTED_MAX_S)
                self._become(BridgeState.TOKEN_REJECTED, "Telegram rejected TELEGRAM_TOKEN (401 Unauthorized): copy "
                             f"it again from @BotFather (/mybots → API Token): {self._told(err)}")
            except TelegramConflictError as err:
                wait_s = min(max(wait_s * 2, RETRY_MAX_S), REJECTED_MAX_S)
                self._become(BridgeState.CONFLICT, "another program reads this bot's updates (a webhook, or a "
                             f"second musicbot running shard 0 with this token): {self._told(err)}")
            except (TelegramAPIError, OSError, TimeoutError) as err:
                wait_s = min(max(wait_s * 2, RETRY_FIRST_S), RETRY_MAX_S)
                self._become(BridgeState.UNREACHABLE, f"Telegram cannot be reached: {self._told(err)}")
            except Exception as err:  # a bug: logged, and the bridge goes on
                wait_s = min(max(wait_s * 2, RETRY_FIRST_S), RETRY_MAX_S)
                log.exception("the Telegram bridge failed; trying again in %.0f s", wait_s)
                self.last_error = self._told(err)
            else:
                wait_s = 0.0
                self._become(BridgeState.CONNECTED)
                for update in updates:
                    self._offset = update.update_id + 1
                    self._handle_soon(update)
                continue
            await asyncio.sleep(wait_s)

    async def _introduce(self) -> None:
        me = await self.bot.get_me()
        self.username, self._bot_id = me.username or "", me.id
        self.commands.username = self.username
        try:  # the menu Telegram shows under "/": nice to have, never a reason to stop
            await self.bot.set_my_commands([BotCommand(command=name, description=what) for name, what in MENU])
        except TelegramAPIError as err:
            log.debug("Telegram's command menu not set: %s", err)
        log.info("Telegram bridge running as @%s", self.username)

    def _become(self, state: BridgeState, error: str | None = None) -> None:
        if error is not None:
            self.last_error = error
        if state is self.state:
            log.debug("Telegram bridge still %s: %s", state.value, error)
            return
        self.state, self.since = state, datetime.now(UTC)
        if state is BridgeState.CONNECTED:
            log.info("Telegram bridge connected")
        elif state is not BridgeState.STOPPED:
            log.warning("Telegram bridge %s: %s (retrying with backoff; Discord is not affected)", state.value, error)

    def _told(self, err: BaseException) -> str:
        return str(err).replace(self._token, "<TELEGRAM_TOKEN>")[:300]

    def _handle_soon(self, update: Update) -> None:
        task = asyncio.get_running_loop().create_task(self._handle(update), name=f"telegram-update:{update.update_id}")
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def _handle(self, update: Update) -> None:
        try:
            if update.message is not None:
                await self.commands.on_message(update.message)
            elif update.callback_query is not None:
                await self.commands.on_button(update.callback_query)
            elif update.my_chat_member is not None:
                await self.commands.on_membership(update.my_chat_member)
        except Exception:  # one update must never stop the others
            log.exception("a Telegram update could not be handled")

    # ---------------------------------------------------------------- status
    def status(self, chat_id: int | None = None) -> BridgeStatus:
        return BridgeStatus(self.state.value, self.since.isoformat(timespec="seconds"), self.last_error,
                            self.username, None if chat_id is None else self.outboxes.problems.of(chat_id))

    def readiness(self) -> dict[str, Any]:
        """``/ready``'s ``telegram`` details (never a reason to be unready)."""
        return {"state": self.state.value, "since": self.since.isoformat(timespec="seconds"),
                "bot": None if self.username is None else f"@{self.username}", "last_error": self.last_error}

    # ---------------------------------------------------------------- the bridge's bus operations
    def serve(self, handlers: Handlers) -> Handlers:
        async def begin_link(guild_id: int | None, args: LinkRequest) -> LinkCode:
            return await self.begin_link(args)

        async def status(guild_id: int | None, args: StatusRequest) -> BridgeStatus:
            return self.status(args.chat_id)

        async def mention_all(guild_id: int | None, args: MentionRequest) -> Mentioned:
            return await self.mention_all(args)

        return handlers.on(BEGIN_LINK, begin_link).on(STATUS, status).on(MENTION_ALL, mention_all)

    async def begin_link(self, request: LinkRequest) -> LinkCode:
        """Check that the bot is in the chat, then make the code its admin must send back."""
        if self.username is None or self._bot_id is None:
            raise BridgeRefusal(f"The Telegram bridge is not connected ({self.state.value}): see /telegram status.")
        not_there = (f"The Telegram bot @{self.username} is not in the chat {request.chat_id} (or that is not a chat "
                     "id): add it to the chat, send /id there and use the number it answers.")
        try:
            chat = await self.bot.get_chat(request.chat_id)
            member = await self.bot.get_chat_member(request.chat_id, self._bot_id)
        except (TelegramBadRequest, TelegramForbiddenError) as err:
            raise BridgeRefusal(not_there) from err
        except (TelegramAPIError, OSError) as err:
            raise BridgeRefusal("Telegram cannot be reached right now; try again in a minute.") from err
        if member.status in ("left", "kicked"):
            raise BridgeRefusal(not_there)
        existing = await self.links().for_chat(request.chat_id)
        if existing is not None and existing.guild_id != request.guild_id:
            raise ChatLinkedElsewhereError()
        title = chat.title or " ".join(filter(None, [chat.first_name, chat.last_name])) or str(chat.id)
        pending = self.pending.new(request.guild_id, request.guild_name, request.chat_id, title, request.user_id)
        return LinkCode(pending.code, title, self.pending.ttl_s, self.username)

    async def mention_all(self, request: MentionRequest) -> Mentioned:
        link = await self.links().for_guild(request.guild_id)
        if link is None:
            raise BridgeRefusal("This server is not linked to a Telegram chat: use /telegram link first.")
        problem = self.outboxes.problems.of(link.chat_id)
        if problem is not None:
            raise BridgeRefusal(f"The linked Telegram chat does not accept the bot: {problem}.")
        members = await self.links().members(link.chat_id)
        posts = mention_posts(request.by, request.reason, [(m.user_id, m.full_name) for m in members])
        box = self.outboxes(link.chat_id)
        for post in posts:
            box.reply(post)
        return Mentioned(len(members), len(posts))
