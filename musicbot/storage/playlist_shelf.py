"""What a member may load in a server: their own playlists, the server's, and other members'
playlists shared with the server (``/playlist share``); sharing itself.

What the member typed is looked for in that order: their own playlist of that name, then ``#42``
(the reference the commands' suggestions give, for a playlist of another owner or a name taken
twice), then the server's, then one shared here. A shared playlist stays its owner's: it is read
where it is shared, never changed there, and it follows its owner's edits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncSession

from musicbot.storage.audit import audit_op
from musicbot.storage.columns import utcnow
from musicbot.storage.database import Database
from musicbot.storage.errors import AmbiguousPlaylistError, NoPlaylistHereError, NotYourPlaylistError
from musicbot.storage.models import PlaylistRow, PlaylistShareRow
from musicbot.storage.playlists import (
    MAX_NAME_LENGTH,
    REFERENCE,
    PlaylistOwner,
    PlaylistScope,
    PlaylistSummary,
    find_row,
    normalize_name,
    summary_of,
)


@dataclass(frozen=True)
class Shelf:
    """The playlists a member may load in one server, each list by name (case-insensitive)."""

    mine: tuple[PlaylistSummary, ...]
    server: tuple[PlaylistSummary, ...]
    shared: tuple[PlaylistSummary, ...]  # other members' playlists shared with this server
    mine_shared_here: frozenset[int]  # ids of ``mine`` shared with this server
    shared_by: Mapping[int, str] = field(default_factory=dict)  # id of one of ``shared`` → its owner's name

    @property
    def empty(self) -> bool:
        return not (self.mine or self.server or self.shared)


def reference(playlist: PlaylistSummary) -> str:
    """How the commands' suggestions name ``playlist`` when its name alone could mean another one."""
    return f"#{playlist.id}"


class PlaylistShelf:
    """Event-loop thread. Refusals are ``PlaylistError``s with a user-facing message."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def shelf(self, user_id: int, guild_id: int) -> Shelf:
        async with self._db.transaction() as session:
            mine = await _rows(session, _owned(PlaylistOwner.user(user_id)))
            server = await _rows(session, _owned(PlaylistOwner.guild(guild_id)))
            shared = await _rows(session, PlaylistRow.id.in_(_shared_ids(guild_id)),
                                 PlaylistRow.owner_id != user_id)
            owners = {playlist_id: name for playlist_id, name in (await session.execute(
                sa.select(PlaylistShareRow.playlist_id, PlaylistShareRow.owner_name).where(
                    PlaylistShareRow.guild_id == guild_id, PlaylistShareRow.playlist_id.in_([p.id for p in shared]))
            )).all()} if shared else {}
            mine_shared = (await session.scalars(
                sa.select(PlaylistShareRow.playlist_id).where(
                    PlaylistShareRow.guild_id == guild_id,
                    PlaylistShareRow.playlist_id.in_([p.id for p in mine]))
            )).all() if mine else []
        return Shelf(tuple(mine), tuple(server), tuple(shared), frozenset(mine_shared), owners)

    async def find(self, user_id: int, guild_id: int, text: str, *, to_change: bool = False) -> PlaylistSummary:
        """The playlist ``text`` names for this member in this server (the order is the module's).

        ``to_change``: only the member's own and the server's (a shared one is its owner's to change:
        ``NotYourPlaylistError``). The caller decides who may change the server's."""
        name = normalize_name(text)
        async with self._db.transaction() as session:
            row = await find_row(session, PlaylistOwner.user(user_id), name)
            if row is None and (ref := REFERENCE.fullmatch(name)):
                row = await _reachable(session, int(ref[1]), user_id, guild_id)
            if row is None:
                row = await find_row(session, PlaylistOwner.guild(guild_id), name)
            if row is None:
                shared = await _shared_named(session, guild_id, user_id, name)
                if len(shared) > 1:
                    raise AmbiguousPlaylistError(name, len(shared))
                row = shared[0] if shared else None
        shown = name[:MAX_NAME_LENGTH] or text
        if row is None:
            raise NoPlaylistHereError(shown)
        found = summary_of(row)
        if to_change and found.owner not in (PlaylistOwner.user(user_id), PlaylistOwner.guild(guild_id)):
            raise NotYourPlaylistError(found.name)
        return found

    async def share(self, playlist: PlaylistSummary, guild_id: int, owner_name: str) -> bool:
        """Let the server's members load ``playlist`` (a member's own, ``owner_name`` as the server shows
        them); False if it already was."""
        if playlist.owner.scope is not PlaylistScope.USER:
            raise ValueError("only a member's own playlist is shared")
        try:
            async with self._db.transaction() as session:
                if await session.get(PlaylistShareRow, (playlist.id, guild_id)) is not None:
                    return False
                session.add(PlaylistShareRow(playlist_id=playlist.id, guild_id=guild_id, owner_name=owner_name[:100],
                                             shared_at=utcnow()))
                await audit_op(guild_id, playlist.owner_id, "playlist.share", {"name": playlist.name})(session)
        except exc.IntegrityError:
            return False  # shared by a second command at the same moment, or deleted meanwhile
        return True

    async def unshare(self, playlist: PlaylistSummary, guild_id: int, *, actor_id: int) -> bool:
        """Stop sharing ``playlist`` with the server (by its owner, or a server manager); False if it wasn't."""
        async with self._db.transaction() as session:
            done = await session.execute(sa.delete(PlaylistShareRow).where(
                PlaylistShareRow.playlist_id == playlist.id, PlaylistShareRow.guild_id == guild_id))
            if not done.rowcount:  # type: ignore[attr-defined]
                return False
            await audit_op(guild_id, actor_id, "playlist.unshare", {"name": playlist.name})(session)
        return True

    async def is_shared(self, playlist_id: int, guild_id: int) -> bool:
        return await self.shared_by(playlist_id, guild_id) is not None

    async def shared_by(self, playlist_id: int, guild_id: int) -> str | None:
        """The owner's name as they shared the playlist with the server; None when it is not shared there."""
        async with self._db.transaction() as session:
            share = await session.get(PlaylistShareRow, (playlist_id, guild_id))
            return None if share is None else share.owner_name


def _owned(owner: PlaylistOwner) -> sa.ColumnElement[bool]:
    return sa.and_(PlaylistRow.owner_id == owner.id, PlaylistRow.scope == owner.scope.value)


def _shared_ids(guild_id: int) -> sa.Select[int]:
    return sa.select(PlaylistShareRow.playlist_id).where(PlaylistShareRow.guild_id == guild_id)


async def _rows(session: AsyncSession, *where: sa.ColumnElement[bool]) -> list[PlaylistSummary]:
    rows = (await session.scalars(sa.select(PlaylistRow).where(*where).order_by(PlaylistRow.name_lower))).all()
    return [summary_of(r) for r in rows]


async def _reachable(session: AsyncSession, playlist_id: int, user_id: int, guild_id: int) -> PlaylistRow | None:
    """Playlist ``playlist_id`` if this member may load it in this server; None otherwise (never "it exists")."""
    row = await session.get(PlaylistRow, playlist_id)
    if row is None:
        return None
    if (row.scope, row.owner_id) in ((PlaylistScope.USER.value, user_id), (PlaylistScope.GUILD.value, guild_id)):
        return row
    shared = await session.get(PlaylistShareRow, (playlist_id, guild_id))
    return row if shared is not None else None


async def _shared_named(session: AsyncSession, guild_id: int, user_id: int, name: str) -> list[PlaylistRow]:
    return list((await session.scalars(
        sa.select(PlaylistRow).where(PlaylistRow.id.in_(_shared_ids(guild_id)), PlaylistRow.owner_id != user_id,
                                     PlaylistRow.name_lower == name.casefold())
    )).all())
