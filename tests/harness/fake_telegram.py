"""A fake Telegram Bot API server on 127.0.0.1 (aiohttp) for the Telegram bridge's tests: what a bot
reaches under ``/bot<token>/<method>`` with ``TELEGRAM_API_BASE=fake.base_url``.

Methods: getMe, getUpdates (long polling with offset and timeout), sendMessage, editMessageText,
editMessageReplyMarkup, answerCallbackQuery, getChat, getChatMember, deleteMessage, setMyCommands,
deleteWebhook. Every call is recorded (``calls``), with its parameters as sent (aiogram sends form
fields; JSON values such as ``reply_markup`` are decoded).

A test plays the chat's people: ``add_chat`` (the bot is a member unless told otherwise), ``user``,
then ``send`` (a message from a user whose status in the chat is given to ``add_chat``) and ``press``
(an inline button of a message the bot sent). ``down()`` closes the port (connection refused, the
long polls in progress cut) and ``up()`` opens it again on the same port; another token than the
bot's is answered 401, as Telegram does; ``kick_bot(chat)`` makes the chat answer 403.

What the bot sends is checked as Telegram checks it, and a violation is answered 400 and kept in
``problems`` (the ``fake_telegram`` fixture fails the test on any): ``chat_id`` and ``text`` present,
the text at most 4096 characters once its HTML is parsed (UTF-16 units, as Telegram counts), HTML
only of Telegram's tags with every ``<``, ``>`` and ``&`` escaped, buttons with text and a
``callback_data`` of 1–64 bytes (or an http(s) ``url``) (``telegram_rules.py``), callback answers of at
most 200 characters. Telegram's flood limit for groups is enforced too: more than 20 messages a minute in one group is
answered 429 with ``retry_after`` and kept in ``problems``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .telegram_rules import Refused, check_markup, utf16_len, visible_text

Json = dict[str, Any]

TOKEN = "123456789:AAFakeTokenForTheTelegramBridgeTests0"
BOT_ID = 123456789
BOT_USERNAME = "musicbot_test_bot"
MAX_POLL_S = 50
GROUP_PER_MINUTE = 20
STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")


@dataclass
class Call:
    method: str
    params: Json
    token_ok: bool
    at: float  # time.monotonic()


@dataclass
class SentMessage:
    chat_id: int
    message_id: int
    text: str  # as sent (HTML)
    visible: str  # the text a user reads
    reply_markup: Json | None
    edits: list[str] = field(default_factory=list)  # earlier texts, oldest first

    def buttons(self) -> list[Json]:
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]


@dataclass
class FakeChat:
    id: int
    type: str
    title: str
    members: dict[int, str] = field(default_factory=dict)  # user id → status
    bot_status: str = "member"
    sent_at: deque[float] = field(default_factory=deque)  # the bot's messages, for the flood limit


class FakeTelegram:
    def __init__(self, token: str = TOKEN, *, bot_id: int = BOT_ID, username: str = BOT_USERNAME) -> None:
        self.token = token
        self.bot = {"id": bot_id, "is_bot": True, "first_name": "Music", "username": username,
                    "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
        self.calls: list[Call] = []
        self.problems: list[str] = []
        self.chats: dict[int, FakeChat] = {}
        self.users: dict[int, Json] = {}
        self.messages: dict[tuple[int, int], SentMessage] = {}
        self.commands: list[Json] = []
        self.callback_answers: dict[str, Json] = {}
        self._updates: list[Json] = []
        self._next_update = 1
        self._next_message = 1000
        self._next_callback = 1
        self._new_update = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._port = 0
        self.is_up = False

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        await self.up()

    async def up(self) -> None:
        """Listen (again, on the same port once it had one)."""
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port, reuse_address=True)
        await site.start()
        sockets = getattr(site._server, "sockets", None)
        if sockets:
            self._port = sockets[0].getsockname()[1]
        self.is_up = True

    async def down(self) -> None:
        """Close the port: connections refused, long polls in progress cut (Telegram unreachable)."""
        self.is_up = False
        async with self._new_update:
            self._new_update.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def stop(self) -> None:
        await self.down()

    @property
    def base_url(self) -> str:
        """For ``TELEGRAM_API_BASE``."""
        return f"http://127.0.0.1:{self._port}"

    # ------------------------------------------------------------------ the people and chats
    def user(self, user_id: int, first_name: str, *, username: str | None = None, last_name: str | None = None,
             is_bot: bool = False) -> Json:
        user: Json = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
        if username:
            user["username"] = username
        if last_name:
            user["last_name"] = last_name
        self.users[user_id] = user
        return user

    def add_chat(self, chat_id: int, title: str = "Music club", *, kind: str = "supergroup",
                 members: dict[int, str] | None = None, bot_status: str = "member") -> FakeChat:
        chat = FakeChat(chat_id, kind, title, dict(members or {}), bot_status)
        self.chats[chat_id] = chat
        return chat

    def kick_bot(self, chat_id: int) -> None:
        self.chats[chat_id].bot_status = "kicked"

    def _chat_json(self, chat: FakeChat) -> Json:
        data: Json = {"id": chat.id, "type": chat.type}
        if chat.type == "private":
            user = self.users.get(chat.id, {})
            data["first_name"] = user.get("first_name", "someone")
        else:
            data["title"] = chat.title
        return data

    async def _push(self, kind: str, payload: Json) -> int:
        async with self._new_update:
            update_id = self._next_update
            self._next_update += 1
            self._updates.append({"update_id": update_id, kind: payload})
            self._new_update.notify_all()
        return update_id

    async def send(self, chat_id: int, user_id: int, text: str, *, as_chat: bool = False) -> int:
        """A message from ``user_id`` in ``chat_id`` (``as_chat``: an anonymous admin, sent as the group)."""
        chat = self.chats[chat_id]
        message: Json = {"message_id": self._new_message_id(), "date": int(time.time()),
                         "chat": self._chat_json(chat), "text": text}
        if as_chat:
            message["from"] = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
            message["sender_chat"] = self._chat_json(chat)
        else:
            message["from"] = self.users[user_id]
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        return await self._push("message", message)

    async def press(self, chat_id: int, user_id: int, message_id: int, data: str) -> str:
        """``user_id`` presses a button with ``data`` under the bot's message ``message_id``; the query's id."""
        sent = self.messages[(chat_id, message_id)]
        if data not in [b.get("callback_data") for b in sent.buttons()]:
            raise AssertionError(f"no button {data!r} under message {message_id}: {sent.buttons()}")
        query_id = f"cq{self._next_callback}"
        self._next_callback += 1
        message = {"message_id": message_id, "date": int(time.time()), "chat": self._chat_json(self.chats[chat_id]),
                   "from": self.bot, "text": sent.visible}
        if sent.reply_markup:
            message["reply_markup"] = sent.reply_markup
        await self._push("callback_query", {"id": query_id, "from": self.users[user_id], "message": message,
                                            "chat_instance": f"ci{chat_id}", "data": data})
        return query_id

    async def bot_removed(self, chat_id: int, by_user: int) -> None:
        """The bot is kicked out of the chat (and told so with a ``my_chat_member`` update)."""
        self.kick_bot(chat_id)
        chat = self.chats[chat_id]
        await self._push("my_chat_member", {
            "chat": self._chat_json(chat), "from": self.users[by_user], "date": int(time.time()),
            "old_chat_member": {"status": "member", "user": self.bot},
            "new_chat_member": {"status": "kicked", "user": self.bot, "until_date": 0}})

    def _new_message_id(self) -> int:
        self._next_message += 1
        return self._next_message

    # ------------------------------------------------------------------ what the bot sent
    def sent_to(self, chat_id: int) -> list[SentMessage]:
        return sorted((m for (c, _), m in self.messages.items() if c == chat_id), key=lambda m: m.message_id)

    def texts(self, chat_id: int) -> list[str]:
        return [m.visible for m in self.sent_to(chat_id)]

    def calls_of(self, method: str, chat_id: int | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == method
                and (chat_id is None or str(c.params.get("chat_id")) == str(chat_id))]

    async def wait_for_text(self, chat_id: int, needle: str, *, timeout: float = 20.0,
                            after: int = 0) -> SentMessage:
        """The first message to ``chat_id`` whose visible text (as last edited) has ``needle``, with a
        message id above ``after``."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.sent_to(chat_id):
                if message.message_id > after and needle in message.visible:
                    return message
            if time.monotonic() > deadline:
                raise TimeoutError(f"no message with {needle!r} in chat {chat_id}; got {self.texts(chat_id)!r}")
            await asyncio.sleep(0.05)

    def last_message_id(self, chat_id: int) -> int:
        sent = self.sent_to(chat_id)
        return sent[-1].message_id if sent else 0

    # ------------------------------------------------------------------ the API
    async def _handle(self, request: web.Request) -> web.Response:
        params: Json = dict(request.query)
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        elif request.can_read_body:
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        for key in ("reply_markup", "allowed_updates", "commands", "reply_parameters", "link_preview_options"):
            if isinstance(params.get(key), str):
                try:
                    params[key] = json.loads(params[key])
                except ValueError:
                    return self._problem(f"{key} is not JSON: {params[key]!r}")
        method = request.match_info["method"]
        token_ok = request.match_info["token"] == self.token
        self.calls.append(Call(method, params, token_ok, time.monotonic()))
        if not token_ok:
            return _error(401, "Unauthorized")
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _error(404, "Not Found")
        result: web.Response = await handler(params)
        return result

    def _problem(self, description: str, status: int = 400) -> web.Response:
        self.problems.append(description)
        return _error(status, f"Bad Request: {description}")

    def _chat(self, params: Json) -> FakeChat | web.Response:
        if "chat_id" not in params:
            return self._problem("chat_id is required")
        chat = self.chats.get(int(params["chat_id"]))
        if chat is None:
            return _error(400, "Bad Request: chat not found")
        if chat.bot_status in ("left", "kicked"):
            return _error(403, f"Forbidden: bot was kicked from the {chat.type} chat")
        return chat

    def _check_text(self, params: Json) -> str | web.Response:
        try:
            return visible_text(params.get("text"), params.get("parse_mode"))
        except Refused as refused:
            return self._problem(str(refused))

    def _check_markup(self, params: Json) -> Json | web.Response | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        try:
            check_markup(markup)
        except Refused as refused:
            return self._problem(str(refused))
        return dict(markup)

    def _flood(self, chat: FakeChat) -> web.Response | None:
        if chat.type == "private":
            return None
        now = time.monotonic()
        while chat.sent_at and chat.sent_at[0] < now - 60:
            chat.sent_at.popleft()
        if len(chat.sent_at) >= GROUP_PER_MINUTE:
            self.problems.append(f"flood: more than {GROUP_PER_MINUTE} messages a minute to chat {chat.id}")
            wait = max(1, round(chat.sent_at[0] + 60 - now))
            return _json({"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {wait}",
                          "parameters": {"retry_after": wait}}, 429)
        chat.sent_at.append(now)
        return None

    def _message_json(self, sent: SentMessage) -> Json:
        data: Json = {"message_id": sent.message_id, "date": int(time.time()),
                      "chat": self._chat_json(self.chats[sent.chat_id]), "from": self.bot, "text": sent.visible}
        if sent.reply_markup:
            data["reply_markup"] = sent.reply_markup
        return data

    async def _m_getMe(self, params: Json) -> web.Response:
        return _ok(self.bot)

    async def _m_deleteWebhook(self, params: Json) -> web.Response:
        return _ok(True)

    async def _m_setMyCommands(self, params: Json) -> web.Response:
        commands = params.get("commands")
        if not isinstance(commands, list) or not all(
                isinstance(c, dict) and 1 <= len(c.get("command", "")) <= 32 and 1 <= len(c.get("description", ""))
                <= 256 for c in commands):
            return self._problem(f"bad commands {commands!r}")
        self.commands = commands
        return _ok(True)

    async def _m_getUpdates(self, params: Json) -> web.Response:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), MAX_POLL_S)
        deadline = time.monotonic() + timeout
        async with self._new_update:
            while True:
                if offset:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                if self._updates or not self.is_up:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    await asyncio.wait_for(self._new_update.wait(), left)
                except TimeoutError:
                    break
            return _ok(list(self._updates[: int(params.get("limit") or 100)]))

    async def _m_sendMessage(self, params: Json) -> web.Response:
        chat = self._chat(params)
        if isinstance(chat, web.Response):
            return chat
        visible = self._check_text(params)
        if isinstance(visible, web.Response):
            return visible
        markup = self._check_markup(params)
        if isinstance(markup, web.Response):
            return markup
        flood = self._flood(chat)
        if flood is not None:
            return flood
        sent = SentMessage(chat.id, self._new_message_id(), str(params["text"]), visible, markup)
        self.messages[(chat.id, sent.message_id)] = sent
        return _ok(self._message_json(sent))

    def _edited(self, params: Json) -> SentMessage | web.Response:
        chat = self._chat(params)
        if isinstance(chat, web.Response):
            return chat
        sent = self.messages.get((chat.id, int(params.get("message_id") or 0)))
        if sent is None:
            return _error(400, "Bad Request: message to edit not found")
        return sent

    async def _m_editMessageText(self, params: Json) -> web.Response:
        sent = self._edited(params)
        if isinstance(sent, web.Response):
            return sent
        visible = self._check_text(params)
        if isinstance(visible, web.Response):
            return visible
        markup = self._check_markup(params)
        if isinstance(markup, web.Response):
            return markup
        if (params["text"], markup) == (sent.text, sent.reply_markup):
            return _error(400, "Bad Request: message is not modified: specified new message content and reply "
                               "markup are exactly the same as a current content and reply markup of the message")
        sent.edits.append(sent.visible)
        sent.text, sent.visible, sent.reply_markup = str(params["text"]), visible, markup
        return _ok(self._message_json(sent))

    async def _m_editMessageReplyMarkup(self, params: Json) -> web.Response:
        sent = self._edited(params)
        if isinstance(sent, web.Response):
            return sent
        markup = self._check_markup(params)
        if isinstance(markup, web.Response):
            return markup
        sent.reply_markup = markup
        return _ok(self._message_json(sent))

    async def _m_deleteMessage(self, params: Json) -> web.Response:
        sent = self._edited(params)
        if isinstance(sent, web.Response):
            return sent
        del self.messages[(sent.chat_id, sent.message_id)]
        return _ok(True)

    async def _m_answerCallbackQuery(self, params: Json) -> web.Response:
        query_id = params.get("callback_query_id")
        if not query_id:
            return self._problem("callback_query_id is required")
        if len(str(params.get("text") or "")) > 200:
            return self._problem(f"callback answer too long: {params['text']!r}")
        self.callback_answers[str(query_id)] = params
        return _ok(True)

    async def _m_getChat(self, params: Json) -> web.Response:
        chat = self._chat(params)
        if isinstance(chat, web.Response):
            return chat
        full = {**self._chat_json(chat), "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": {"unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                                        "premium_subscription": False, "gifts_from_channels": False}}
        return _ok(full)

    async def _m_getChatMember(self, params: Json) -> web.Response:
        chat = self.chats.get(int(params.get("chat_id") or 0))
        if chat is None:
            return _error(400, "Bad Request: chat not found")
        user_id = int(params.get("user_id") or 0)
        if user_id == self.bot["id"]:
            status, user = chat.bot_status, self.bot
        else:
            if chat.bot_status in ("left", "kicked"):
                return _error(403, f"Forbidden: bot was kicked from the {chat.type} chat")
            user = self.users.get(user_id)
            if user is None:
                return _error(400, "Bad Request: user not found")
            status = "creator" if chat.type == "private" and user_id == chat.id else chat.members.get(user_id, "left")
        return _ok(_member(status, user))


def _member(status: str, user: Json) -> Json:
    if status == "creator":
        return {"status": "creator", "user": user, "is_anonymous": False}
    if status == "administrator":
        rights = ("can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages", "can_manage_video_chats",
                  "can_restrict_members", "can_promote_members", "can_change_info", "can_invite_users",
                  "can_post_stories", "can_edit_stories", "can_delete_stories", "can_send_welcome_messages")
        return {"status": "administrator", "user": user, **dict.fromkeys(rights, False), "can_manage_chat": True}
    if status == "kicked":
        return {"status": "kicked", "user": user, "until_date": 0}
    return {"status": status if status in ("member", "left") else "member", "user": user}


def _json(obj: Any, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(obj).encode(), status=status, headers={"Content-Type": "application/json"})


def _ok(result: Any) -> web.Response:
    return _json({"ok": True, "result": result})


def _error(status: int, description: str) -> web.Response:
    return _json({"ok": False, "error_code": status, "description": description}, status)


__all__ = ["BOT_ID", "BOT_USERNAME", "TOKEN", "Call", "FakeChat", "FakeTelegram", "SentMessage"]
