"""The Telegram bridge's records: one chat per guild and one guild per chat, audited links, the
members seen in a linked chat (forgotten with the link), the control setting's values."""

from __future__ import annotations

import pytest

from musicbot.storage import AuditLog, Database, GuildSettingsRepo, InvalidSettingError
from musicbot.storage.guild_settings import TelegramControl
from musicbot.storage.telegram import ChatLinkedElsewhereError, ChatMember, TelegramLinks

GUILD, OTHER = 600000000000000001, 600000000000000002
CHAT, CHAT2 = -1001234567890, -1009876543210
ADMIN_DISCORD, ADMIN_TELEGRAM = 700000000000000001, 42


async def test_a_link_is_audited_and_found_both_ways_and_a_chat_serves_one_guild(db: Database) -> None:
    links = TelegramLinks(db)
    link = await links.link(GUILD, CHAT, chat_title="Music <club>", linked_by=ADMIN_DISCORD,
                            confirmed_by=ADMIN_TELEGRAM)
    assert (await links.for_guild(GUILD)) == (await links.for_chat(CHAT)) == link
    assert link.chat_title == "Music <club>" and link.linked_at.tzinfo is not None
    with pytest.raises(ChatLinkedElsewhereError, match="another Discord server"):
        await links.link(OTHER, CHAT, chat_title=None, linked_by=1, confirmed_by=2)
    assert await links.for_guild(OTHER) is None
    [entry] = await AuditLog(db).recent(GUILD)
    assert (entry.actor_id, entry.action) == (ADMIN_DISCORD, "telegram.link")
    assert entry.details == {"chat_id": CHAT, "chat_title": "Music <club>",
                             "confirmed_by_telegram_user": ADMIN_TELEGRAM, "previous_chat_id": None}
    # Linking the guild to another chat replaces its link (a guild has at most one chat).
    await links.remember(CHAT, ChatMember(7, "Ann"))
    await links.link(GUILD, CHAT2, chat_title="New", linked_by=ADMIN_DISCORD, confirmed_by=ADMIN_TELEGRAM)
    assert await links.for_chat(CHAT) is None and (await links.for_guild(GUILD) or None) is not None
    assert await links.members(CHAT) == []  # the old chat's members are forgotten with it


async def test_unlink_is_audited_and_forgets_the_members(db: Database) -> None:
    links = TelegramLinks(db)
    assert await links.unlink(GUILD, actor_id=ADMIN_DISCORD) is None
    await links.link(GUILD, CHAT, chat_title=None, linked_by=ADMIN_DISCORD, confirmed_by=ADMIN_TELEGRAM)
    await links.remember(CHAT, ChatMember(7, "Ann", "Lee", "ann"))
    unlinked = await links.unlink(GUILD, actor_id=ADMIN_DISCORD + 1)
    assert unlinked is not None and unlinked.chat_id == CHAT
    assert await links.for_guild(GUILD) is None and await links.members(CHAT) == []
    assert [e.action for e in await AuditLog(db).recent(GUILD)] == ["telegram.unlink", "telegram.link"]
    assert (await AuditLog(db).recent(GUILD))[0].actor_id == ADMIN_DISCORD + 1


async def test_members_are_refreshed_by_their_latest_message_and_bots_left_out(db: Database) -> None:
    links = TelegramLinks(db)
    await links.remember(CHAT, ChatMember(7, "Ann"))
    await links.remember(CHAT, ChatMember(8, "Helper", is_bot=True))
    await links.remember(CHAT, ChatMember(9, "Bo", None, "bo_" + "x" * 100))  # cut to the column
    await links.remember(CHAT, ChatMember(7, "Ann", "Lee", "ann"))
    await links.remember(CHAT2, ChatMember(10, "Elsewhere"))
    members = {m.user_id: m for m in await links.members(CHAT)}
    assert set(members) == {7, 9}
    assert members[7] == ChatMember(7, "Ann", "Lee", "ann") and members[7].full_name == "Ann Lee"
    assert len(members[9].username or "") == 64
    assert {m.user_id for m in await links.members(CHAT, humans_only=False)} == {7, 8, 9}
    await links.forget(CHAT, 7)
    assert [m.user_id for m in await links.members(CHAT)] == [9]


async def test_the_control_setting_defaults_to_admins_and_is_checked(db: Database) -> None:
    repo = GuildSettingsRepo(db)
    assert (await repo.get(GUILD)).telegram_control is TelegramControl.ADMINS
    assert (await repo.update(GUILD, telegram_control="everyone", actor_id=1)).telegram_control \
        is TelegramControl.EVERYONE
    assert (await GuildSettingsRepo(db).get(GUILD)).telegram_control is TelegramControl.EVERYONE
    [entry] = await AuditLog(db).recent(GUILD)
    assert entry.details == {"telegram_control": ["admins", "everyone"]}
    with pytest.raises(InvalidSettingError, match="telegram_control: must be one of everyone, read_only, admins"):
        await repo.update(GUILD, telegram_control="owners")
