"""What each Telegram command and button does: the chat's link looked up, the sender's rights and
rate limit, the question put to the guild's process over the bus (``ops.py``), the answer sent
through the chat's outbox. Every refusal, from here or from the guild's process, is answered in its
own words; nothing a user sends raises out of here.

Members of a linked chat are remembered as they write (for ``/all``), and forgotten as they leave.
Admins are asked of Telegram (``getChatMember``) and remembered for ``ADMIN_CACHE_S``; confirming a
link asks afresh. In a private chat the user is its admin; an anonymous group admin (writing as the
group) is one too. Event loop only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message
from cachetools import TTLCache

from musicbot.bot.ratelimit import RateLimiter
from musicbot.cluster import Bus
from musicbot.errors import MusicBotError
from musicbot.storage.telegram import ChatLinkedElsewhereError, ChatMember, TelegramLink, TelegramLinks
from musicbot.telegram import commands as cmd
from musicbot.telegram import text
from musicbot.telegram.linking import PendingLinks
from musicbot.telegram.ops import ACT, PLAY, STATE, AskState, ChatAction, ChatPlay, ChatPlayer, ChatUser
from musicbot.telegram.outbox import Outboxes
from musicbot.telegram.text import Post, esc, refusal

log = logging.getLogger(__name__)

ADMIN_CACHE_S = 60.0
LINK_CACHE_S = 5.0
MEMBER_REFRESH_S = 3600.0  # a member seen again within this is not written again
STALE_S = 120.0  # commands older than this (sent while the bot was away) are not carried out
PLAY_TIMEOUT_S = 45.0  # resolving a link or a search can take a while
ACT_TIMEOUT_S = 15.0  # a skip opens the next track
ADMIN_STATUSES = ("creator", "administrator")
# The rate limiter's command names for Telegram's commands (the same buckets and rates as Discord's).
RATE_NAMES: dict[type, str] = {cmd.Play: "play", cmd.Filter: "filter"}
ACTION_OF: dict[type, str] = {cmd.Pause: "pause", cmd.Resume: "resume", cmd.Skip: "skip", cmd.Stop: "stop"}
DONE: dict[str, str] = {"pause": "⏸ Paused.", "resume": "▶️ Resumed.", "stop": "⏹ Stopped; the queue is cleared."}


class ChatCommands:
    def __init__(self, bot: Bot, bus: Bus, *, links: Callable[[], TelegramLinks], outboxes: Outboxes,
                 pending: PendingLinks, on_linked: Callable[[int, int], None], rate_limiter: RateLimiter) -> None:
        self._bot = bot
        self._bus = bus
        self._links = links
        self._outboxes = outboxes
        self._pending = pending
        self._on_linked = on_linked
        self.rate_limiter = rate_limiter
        self.username = ""  # the bot's, once known (getMe): "/cmd@username" is for us
        self._admins: TTLCache[tuple[int, int], bool] = TTLCache(10_000, ttl=ADMIN_CACHE_S)
        self._link_cache: TTLCache[int, TelegramLink | None] = TTLCache(10_000, ttl=LINK_CACHE_S)
        self._members_seen: TTLCache[tuple[int, int, str, str | None, str | None], bool] = TTLCache(
            50_000, ttl=MEMBER_REFRESH_S)

    # ---------------------------------------------------------------- messages
    async def on_message(self, message: Message) -> None:
        chat_id = message.chat.id
        self._outboxes.problems.clear(chat_id)  # a message from the chat: the bot is in it
        command = cmd.parse(message.text, self.username)
        if command is not None and time.time() - message.date.timestamp() > STALE_S:
            command = None
        answer: Post | str
        try:
            link = await self._link(chat_id, fresh=command is not None)
            if link is not None:
                await self._remember(message)
            if command is None:
                return
            answer = await self._answer(message, command, link)
        except MusicBotError as err:  # a refusal, the guild's process or the database unavailable
            if command is None:
                return
            answer = refusal(str(err))
        self._outboxes(chat_id).reply(answer, reply_to=message.message_id)

    async def _answer(self, message: Message, command: cmd.Command | cmd.BadInput,
                      link: TelegramLink | None) -> Post | str:
        chat_id = message.chat.id
        if isinstance(command, cmd.BadInput):
            return refusal(command.message)
        if isinstance(command, cmd.ChatId):
            return (f"This chat's id: <code>{chat_id}</code>\nA Discord server manager links it with "
                    f"<code>/telegram link {chat_id}</code>.")
        if isinstance(command, cmd.Help):
            return text.help_text(linked=link is not None)
        if isinstance(command, cmd.Confirm):
            return await self._confirm(message, command.code)
        if link is None:
            return text.not_linked(chat_id)
        actor = await self._actor(message)
        self._check_rate(actor.user_id, RATE_NAMES.get(type(command), "control"))
        return await self._carry_out(link.guild_id, actor, command)

    async def _carry_out(self, guild_id: int, actor: ChatUser, command: cmd.Command) -> Post | str:
        if isinstance(command, cmd.NowPlaying | cmd.ShowQueue | cmd.Listeners):
            state = await self._bus.call(guild_id, STATE, AskState(actor))
            if isinstance(command, cmd.NowPlaying):
                return text.now_playing(state)
            if isinstance(command, cmd.ShowQueue):
                return text.queue_page(state, command.page)
            return text.listeners(state.player)
        if isinstance(command, cmd.Play):
            queued = await self._bus.call(guild_id, PLAY, ChatPlay(actor, command.query), timeout_s=PLAY_TIMEOUT_S)
            return text.queued(queued.entries, queued.state)
        if isinstance(command, cmd.Volume):
            state = await self._act(guild_id, actor, "volume", command.percent)
            return f"🔊 Volume: {state.player.volume} %."
        if isinstance(command, cmd.Filter):
            await self._act(guild_id, actor, "preset", command.preset)
            return "🎛 Filters off." if command.preset == cmd.FILTERS_OFF else f"🎛 Preset: {esc(command.preset)}."
        if isinstance(command, cmd.Skip):
            state = await self._act(guild_id, actor, "skip", None)
            current = state.player.current
            return "⏭ Skipped." + (f" Now playing {text.title_link(current, 80)}." if current else "")
        kind = ACTION_OF[type(command)]
        await self._act(guild_id, actor, kind, None)
        return DONE[kind]

    async def _act(self, guild_id: int, actor: ChatUser, kind: str, value: int | str | None) -> ChatPlayer:
        return await self._bus.call(guild_id, ACT, ChatAction(actor, kind, value), timeout_s=ACT_TIMEOUT_S)

    async def _confirm(self, message: Message, code: str) -> str:
        chat = message.chat
        pending = self._pending.peek(chat.id, code)
        if pending is None:
            return refusal("That code is wrong or has expired: run /telegram link again in Discord for a new one.")
        if not await self._is_admin_now(message):
            return refusal("Only an admin of this chat can confirm the link.")
        sender = message.from_user
        confirmed_by = message.sender_chat.id if message.sender_chat is not None else sender.id if sender else 0
        try:
            await self._links().link(pending.guild_id, chat.id, chat_title=chat.title or pending.chat_title,
                                     linked_by=pending.user_id, confirmed_by=confirmed_by)
        except ChatLinkedElsewhereError as err:
            self._pending.take(pending)
            return refusal(str(err))
        self._pending.take(pending)
        self._link_cache.pop(chat.id, None)
        await self._remember(message)  # the admin who linked it is the chat's first known member
        self._on_linked(pending.guild_id, chat.id)
        log.info("Telegram chat %d linked to guild %d", chat.id, pending.guild_id)
        return (f"✅ This chat is linked to the Discord server <b>{esc(pending.guild_name, 100)}</b>. What plays "
                "there shows here; /help says what you can do.")

    # ---------------------------------------------------------------- buttons
    async def on_button(self, query: CallbackQuery) -> None:
        button = cmd.parse_button(query.data)
        message = query.message
        if button is None or message is None:
            await self._answer_button(query, "This button no longer works.", alert=False)
            return
        chat_id = message.chat.id
        try:
            link = await self._link(chat_id, fresh=True)
            if link is None:
                raise MusicBotError("This chat is not linked to a Discord server any more.")
            actor = await self._actor_of(chat_id, message.chat.type, query.from_user.id, query.from_user.full_name)
            self._check_rate(actor.user_id, "control")
            answer = await self._press(link.guild_id, actor, button, chat_id, message.message_id)
        except MusicBotError as err:
            await self._answer_button(query, str(err), alert=True)
            return
        await self._answer_button(query, answer, alert=False)

    async def _press(self, guild_id: int, actor: ChatUser, button: cmd.Button, chat_id: int,
                     message_id: int) -> str:
        if isinstance(button, cmd.QueuePage):
            state = await self._bus.call(guild_id, STATE, AskState(actor))
            self._outboxes(chat_id).edit(message_id, text.queue_page(state, button.page))
            return ""
        if isinstance(button, cmd.TogglePause):
            state = await self._act(guild_id, actor, "toggle", None)
            return "⏸ Paused" if state.player.paused else "▶️ Resumed"
        if isinstance(button, cmd.SkipTrack):
            await self._act(guild_id, actor, "skip", button.entry_id)
            return "⏭ Skipped"
        await self._act(guild_id, actor, "stop", None)
        return "⏹ Stopped"

    async def _answer_button(self, query: CallbackQuery, answer: str, *, alert: bool) -> None:
        # Not a chat message: outside the chat's limits, and it stops the button's spinner at once.
        try:
            await self._bot.answer_callback_query(query.id, text=answer[:200] or None, show_alert=alert)
        except TelegramAPIError as err:
            log.debug("could not answer a button: %s", err)

    # ---------------------------------------------------------------- the bot's membership
    async def on_membership(self, update: ChatMemberUpdated) -> None:
        status = update.new_chat_member.status
        if status in ("left", "kicked"):
            self._outboxes.problems.note(update.chat.id, "the bot was removed from the chat")
        else:
            self._outboxes.problems.clear(update.chat.id)

    # ---------------------------------------------------------------- helpers
    def _check_rate(self, user_id: int, command: str) -> None:
        wait = self.rate_limiter.retry_after(user_id, command)
        if wait:
            raise MusicBotError(f"You're sending commands too fast. Try again in {max(1, round(wait))} s.")

    async def _link(self, chat_id: int, *, fresh: bool = False) -> TelegramLink | None:
        """The chat's link; ``fresh`` for a command (an unlink made in Discord counts at once), else
        remembered for ``LINK_CACHE_S`` (plain messages, only to remember who writes)."""
        if not fresh and chat_id in self._link_cache:
            return self._link_cache[chat_id]
        link = await self._links().for_chat(chat_id)
        self._link_cache[chat_id] = link
        return link

    async def _actor(self, message: Message) -> ChatUser:
        chat = message.chat
        if message.sender_chat is not None:
            if message.sender_chat.id == chat.id:  # an anonymous admin of the group
                return ChatUser(chat.id, chat.title or "an admin", True)
            raise MusicBotError("Write as yourself (not as a channel) to use the music commands.")
        user = message.from_user
        if user is None:
            raise MusicBotError("Write as yourself to use the music commands.")
        return await self._actor_of(chat.id, chat.type, user.id, user.full_name)

    async def _actor_of(self, chat_id: int, chat_type: str, user_id: int, name: str) -> ChatUser:
        if chat_type == "private":
            return ChatUser(user_id, name, True)
        admin = self._admins.get((chat_id, user_id))
        if admin is None:
            admin = self._admins[(chat_id, user_id)] = await self._ask_admin(chat_id, user_id)
        return ChatUser(user_id, name, admin)

    async def _is_admin_now(self, message: Message) -> bool:
        """Asked of Telegram afresh (not the cache): confirming a link is worth the call."""
        chat = message.chat
        if chat.type == "private" or (message.sender_chat is not None and message.sender_chat.id == chat.id):
            return True
        if message.from_user is None:
            return False
        return await self._ask_admin(chat.id, message.from_user.id)

    async def _ask_admin(self, chat_id: int, user_id: int) -> bool:
        try:
            member = await self._bot.get_chat_member(chat_id, user_id)
        except TelegramAPIError as err:
            raise MusicBotError("Telegram did not say who administers this chat; try again in a moment.") from err
        return member.status in ADMIN_STATUSES

    async def _remember(self, message: Message) -> None:
        chat_id = message.chat.id
        try:
            if message.left_chat_member is not None:
                await self._links().forget(chat_id, message.left_chat_member.id)
                return
            user = message.from_user
            if user is None or user.is_bot or message.sender_chat is not None:
                return
            key = (chat_id, user.id, user.first_name, user.last_name, user.username)
            if key in self._members_seen:
                return
            await self._links().remember(chat_id, ChatMember(user.id, user.first_name, user.last_name, user.username))
            self._members_seen[key] = True
        except MusicBotError as err:  # the database is down: /all knows fewer people for a while
            log.debug("chat member not remembered: %s", err)
