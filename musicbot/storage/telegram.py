"""The Telegram bridge's records (issue 18): which chat each guild is linked to, and the members of a
linked chat the bot has seen write (so ``/all`` can mention them: Telegram has no call that lists a
group's members to a bot).

A guild links to at most one chat and a chat to at most one guild (the table's key and unique
index). Linking and unlinking are recorded in the guild's audit log, in the same transaction.
Unlinking forgets the chat's members: the bot keeps names only for chats it serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from musicbot.storage.audit import audit_op
from musicbot.storage.columns import utcnow
from musicbot.storage.database import Database
from musicbot.storage.errors import StorageError
from musicbot.storage.models import TelegramLinkRow, TelegramMemberRow
from musicbot.storage.upsert import upsert

MAX_TITLE_CHARS = 255
MAX_NAME_CHARS = 255
MAX_USERNAME_CHARS = 64
MAX_MEMBERS_LISTED = 500


class ChatLinkedElsewhereError(StorageError):
    """The chat is already linked to another Discord server."""

    def __init__(self) -> None:
        super().__init__("This Telegram chat is already linked to another Discord server: "
                         "unlink it there first (/telegram unlink).")


@dataclass(frozen=True)
class TelegramLink:
    guild_id: int
    chat_id: int
    chat_title: str | None
    linked_by: int  # Discord user id
    confirmed_by: int  # Telegram user id of the chat admin who sent the code
    linked_at: datetime


@dataclass(frozen=True)
class ChatMember:
    """A Telegram user as their message showed them (text they chose: escape it wherever it is shown)."""

    user_id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    is_bot: bool = False

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name


class TelegramLinks:
    """Links and known members. Event-loop thread."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def link(self, guild_id: int, chat_id: int, *, chat_title: str | None, linked_by: int,
                   confirmed_by: int) -> TelegramLink:
        """Link ``guild_id`` to ``chat_id`` (replacing the guild's previous chat, if any), audited as the
        Discord user ``linked_by``. ``ChatLinkedElsewhereError`` when another guild has the chat."""
        now = utcnow()
        title = None if chat_title is None else chat_title[:MAX_TITLE_CHARS]
        async with self._db.transaction() as session:
            other = await session.scalar(sa.select(TelegramLinkRow).where(TelegramLinkRow.chat_id == chat_id))
            if other is not None and other.guild_id != guild_id:
                raise ChatLinkedElsewhereError()
            before = await session.get(TelegramLinkRow, guild_id)
            previous = None if before is None else before.chat_id
            if previous is not None and previous != chat_id:
                await session.execute(sa.delete(TelegramMemberRow).where(TelegramMemberRow.chat_id == previous))
            await upsert(session, TelegramLinkRow,
                         {"guild_id": guild_id, "chat_id": chat_id, "chat_title": title, "linked_by": linked_by,
                          "confirmed_by": confirmed_by, "linked_at": now}, ["guild_id"])
            await audit_op(guild_id, linked_by, "telegram.link",
                           {"chat_id": chat_id, "chat_title": title, "confirmed_by_telegram_user": confirmed_by,
                            "previous_chat_id": previous})(session)
        return TelegramLink(guild_id, chat_id, title, linked_by, confirmed_by, now)

    async def unlink(self, guild_id: int, *, actor_id: int) -> TelegramLink | None:
        """Unlink the guild (audited as ``actor_id``) and forget its chat's members; the link it had."""
        async with self._db.transaction() as session:
            row = await session.get(TelegramLinkRow, guild_id)
            if row is None:
                return None
            link = _link(row)
            await session.delete(row)
            await session.execute(sa.delete(TelegramMemberRow).where(TelegramMemberRow.chat_id == link.chat_id))
            await audit_op(guild_id, actor_id, "telegram.unlink",
                           {"chat_id": link.chat_id, "chat_title": link.chat_title})(session)
        return link

    async def for_guild(self, guild_id: int) -> TelegramLink | None:
        async with self._db.transaction() as session:
            row = await session.get(TelegramLinkRow, guild_id)
            return None if row is None else _link(row)

    async def for_chat(self, chat_id: int) -> TelegramLink | None:
        async with self._db.transaction() as session:
            row = await session.scalar(sa.select(TelegramLinkRow).where(TelegramLinkRow.chat_id == chat_id))
            return None if row is None else _link(row)

    async def all(self) -> list[TelegramLink]:
        async with self._db.transaction() as session:
            rows = (await session.scalars(sa.select(TelegramLinkRow).order_by(TelegramLinkRow.guild_id))).all()
        return [_link(r) for r in rows]

    async def remember(self, chat_id: int, member: ChatMember) -> None:
        """Record (or refresh) a member of a linked chat, as their latest message showed them."""
        values = {"chat_id": chat_id, "user_id": member.user_id,
                  "username": None if member.username is None else member.username[:MAX_USERNAME_CHARS],
                  "first_name": member.first_name[:MAX_NAME_CHARS],
                  "last_name": None if member.last_name is None else member.last_name[:MAX_NAME_CHARS],
                  "is_bot": member.is_bot, "last_seen_at": utcnow()}
        async with self._db.transaction() as session:
            await upsert(session, TelegramMemberRow, values, ["chat_id", "user_id"])

    async def forget(self, chat_id: int, user_id: int) -> None:
        """A member left the chat (or was removed): ``/all`` no longer mentions them."""
        async with self._db.transaction() as session:
            await session.execute(sa.delete(TelegramMemberRow).where(
                TelegramMemberRow.chat_id == chat_id, TelegramMemberRow.user_id == user_id))

    async def members(self, chat_id: int, *, humans_only: bool = True) -> list[ChatMember]:
        """The chat's known members, most recently seen first (at most ``MAX_MEMBERS_LISTED``)."""
        query = sa.select(TelegramMemberRow).where(TelegramMemberRow.chat_id == chat_id)
        if humans_only:
            query = query.where(TelegramMemberRow.is_bot.is_(False))
        query = query.order_by(TelegramMemberRow.last_seen_at.desc(), TelegramMemberRow.user_id).limit(
            MAX_MEMBERS_LISTED)
        async with self._db.transaction() as session:
            rows = (await session.scalars(query)).all()
        return [ChatMember(r.user_id, r.first_name, r.last_name, r.username, r.is_bot) for r in rows]


def _link(row: TelegramLinkRow) -> TelegramLink:
    return TelegramLink(row.guild_id, row.chat_id, row.chat_title, row.linked_by, row.confirmed_by, row.linked_at)
