"""The Telegram side of the tests: a chat with an admin (Tom) and a member (Mia), linking it as people do."""

from __future__ import annotations

import asyncio
import contextvars
import re
from collections.abc import Coroutine
from typing import Any, TypeVar

from musicbot.telegram.bridge import TelegramBridge
from tests.bot.answers import Answer, command
from tests.bot.world import ADMIN, ADMIN_ROLE, GUILD, World, wait_for
from tests.harness.fake_telegram import FakeTelegram

T = TypeVar("T")

CHAT = -1001000000001
TOM, MIA = 7001, 7002


async def fresh(work: Coroutine[Any, Any, T]) -> T:
    """``work`` outside the storage deadline the last command left in the test's task (``invoke`` runs
    commands there): what the bot itself does outside a command."""
    return await asyncio.get_running_loop().create_task(work, context=contextvars.Context())


def bridge_of(world: World) -> TelegramBridge:
    bridge = world.bot.telegram_bridge
    assert bridge is not None
    return bridge


def make_chat(fake: FakeTelegram) -> None:
    fake.user(TOM, "Tom", username="tom")
    fake.user(MIA, "Mia", last_name="Lind")
    fake.add_chat(CHAT, "Music <club> & co", members={TOM: "administrator", MIA: "member"})


async def connected(world: World) -> TelegramBridge:
    bridge = bridge_of(world)
    await wait_for(lambda: bridge.state.value == "connected", timeout=20)
    return bridge


async def say(fake: FakeTelegram, user: int, text: str, *, expect: str, chat: int = CHAT) -> str:
    """``user`` writes ``text`` in the chat; the bot's next message there with ``expect`` in it."""
    after = fake.last_message_id(chat)
    await fake.send(chat, user, text)
    return (await fake.wait_for_text(chat, expect, after=after)).visible


async def link(world: World, fake: FakeTelegram) -> None:
    """A server manager asks for a code in Discord; Tom, the chat's admin, sends it back in Telegram."""
    make_chat(fake)
    await connected(world)
    answer = await as_admin(world, "telegram link", {"chat_id": CHAT})
    code = code_in(answer.content)
    await say(fake, TOM, f"/confirm {code}", expect="linked")
    links = await fresh(bridge_of(world).links().for_guild(GUILD))
    assert links is not None and links.chat_id == CHAT


async def as_admin(world: World, name: str, options: dict[str, Any] | None = None) -> Answer:
    """``/name`` run by the server's manager (Manage Server through the admin role)."""
    return await command(world, name, options, user=ADMIN, roles=[ADMIN_ROLE])


def code_in(content: str) -> str:
    found = re.search(r"/confirm ([A-Z0-9]{8})", content)
    assert found is not None, content
    return found.group(1)
