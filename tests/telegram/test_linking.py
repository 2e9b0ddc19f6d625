"""Linking a Discord server to a Telegram chat: a server manager gets a one-time code in Discord, an
admin of the chat sends it there. A wrong, expired or someone else's code, a member who is not an admin,
a chat the bot is not in: each refused with a message that says what to do."""

from __future__ import annotations

import asyncio

from musicbot.storage import AuditLog
from tests.bot.answers import command, refused
from tests.bot.world import ADMIN, ALICE, GUILD, World
from tests.harness.fake_telegram import FakeTelegram
from tests.telegram.helpers import CHAT, MIA, TOM, as_admin, bridge_of, code_in, connected, fresh, make_chat, say


async def test_link_with_the_confirmation_code(tg_world: World, fake_telegram: FakeTelegram) -> None:
    world, fake = tg_world, fake_telegram
    make_chat(fake)
    await connected(world)
    assert refused(await command(world, "telegram link", {"chat_id": CHAT}, user=ALICE), "Manage Server")
    answer = await as_admin(world, "telegram link", {"chat_id": CHAT})
    assert answer.ephemeral and answer.error is None
    assert "Music <club> & co" in answer.content and "/confirm" in answer.content  # Discord shows it as text
    code = code_in(answer.content)
    # Unlinked, the chat is told how to link; /id answers at once.
    assert "-1001000000001" in await say(fake, MIA, "/id", expect="This chat's id")
    assert "not linked" in await say(fake, MIA, "/np", expect="not linked")
    # A member who is not an admin cannot confirm; a wrong code is refused; the code stays good for the admin.
    assert "Only an admin" in await say(fake, MIA, f"/confirm {code}", expect="Only an admin")
    assert "wrong or has expired" in await say(fake, TOM, "/confirm ABCDEFGH", expect="wrong or has expired")
    assert "linked to the Discord server" in await say(fake, TOM, f"/confirm {code.lower()}", expect="linked")
    link = await fresh(bridge_of(world).links().for_guild(GUILD))
    assert link is not None and (link.chat_id, link.linked_by, link.confirmed_by) == (CHAT, int(ADMIN["id"]), TOM)
    assert link.chat_title == "Music <club> & co"
    # Good once.
    assert "wrong or has expired" in await say(fake, TOM, f"/confirm {code}", expect="wrong or has expired")
    [audited] = await fresh(AuditLog(world.bot.db).recent(GUILD))
    assert (audited.action, audited.actor_id, audited.details["chat_id"]) == ("telegram.link", int(ADMIN["id"]), CHAT)


async def test_an_expired_code_is_refused_and_a_chat_without_the_bot_cannot_be_linked(
        tg_world: World, fake_telegram: FakeTelegram) -> None:
    world, fake = tg_world, fake_telegram
    make_chat(fake)
    bridge = await connected(world)
    answer = await as_admin(world, "telegram link", {"chat_id": -1009999})
    assert refused(answer, "is not in the chat -1009999")
    fake.add_chat(-1008888, "Left", bot_status="left")
    assert refused(await as_admin(world, "telegram link", {"chat_id": -1008888}), "is not in the chat")
    bridge.pending.ttl_s = 0.2
    code = code_in((await as_admin(world, "telegram link", {"chat_id": CHAT})).content)
    await asyncio.sleep(0.3)
    assert "wrong or has expired" in await say(fake, TOM, f"/confirm {code}", expect="wrong or has expired")
    assert await fresh(bridge.links().for_guild(GUILD)) is None
    # A code made for one chat does not link another.
    bridge.pending.ttl_s = 600
    code = code_in((await as_admin(world, "telegram link", {"chat_id": CHAT})).content)
    fake.add_chat(-1007777, "Other", members={TOM: "creator"})
    assert "wrong or has expired" in await say(fake, TOM, f"/confirm {code}", chat=-1007777,
                                               expect="wrong or has expired")
    assert await fresh(bridge.links().for_guild(GUILD)) is None
