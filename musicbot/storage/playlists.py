"""Playlists (SPEC §1 ``/playlist``): a member's own, and a server's (edited by its DJs).

Names are unique per owner regardless of case ("Chill" and "chill" are the same playlist) and
keep the case the user typed. Tracks keep their order. A server's playlists are stored like a
member's with the guild as their owner (``PlaylistOwner.guild``): Discord never gives a user and a
guild the same id, so the one ``(owner_id, name_lower)`` key keeps both kinds unique. Changes to a
server's playlists are written to its audit log in the same transaction. Sharing a member's
playlist with a server, and finding what a member may load there, is ``playlist_shelf.py``.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncSession

from musicbot.i18n import lazy
from musicbot.storage.audit import audit_op
from musicbot.storage.codec import track_from_json, track_to_json
from musicbot.storage.columns import utcnow
from musicbot.storage.database import Database
from musicbot.storage.errors import (
    EmptyPlaylistError,
    PlaylistExistsError,
    PlaylistLimitError,
    PlaylistNameError,
    PlaylistNotFoundError,
    PlaylistTooLargeError,
)
from musicbot.storage.models import PlaylistRow, PlaylistShareRow, PlaylistTrackRow
from musicbot.track import Track

MAX_NAME_LENGTH = 50
MAX_TRACKS = 1000
MAX_PLAYLISTS_PER_USER = 100  # and per server
# "#42" names playlist 42 in the commands' suggestions (``playlist_shelf.py``): not a name anyone may give.
REFERENCE = re.compile(r"#(\d{1,19})")


class PlaylistScope(enum.Enum):
    USER = "user"  # a member's own: ``owner_id`` is the member's
    GUILD = "guild"  # a server's: ``owner_id`` is the guild's; its DJs and managers edit it


@dataclass(frozen=True)
class PlaylistOwner:
    """Whose playlists: a member's (``PlaylistOwner.user(id)``) or a server's (``PlaylistOwner.guild(id)``)."""

    scope: PlaylistScope
    id: int

    @classmethod
    def user(cls, user_id: int) -> PlaylistOwner:
        return cls(PlaylistScope.USER, user_id)

    @classmethod
    def guild(cls, guild_id: int) -> PlaylistOwner:
        return cls(PlaylistScope.GUILD, guild_id)

    @property
    def is_guild(self) -> bool:
        return self.scope is PlaylistScope.GUILD


Owner = PlaylistOwner | int
"""A ``PlaylistOwner``, or a member's id as every caller said before servers had playlists."""


def owner_of(owner: Owner) -> PlaylistOwner:
    return owner if isinstance(owner, PlaylistOwner) else PlaylistOwner.user(owner)


@dataclass(frozen=True)
class PlaylistSummary:
    """A playlist without its tracks. ``duration_s`` sums the tracks of known length."""

    id: int
    owner: PlaylistOwner
    name: str
    track_count: int
    duration_s: float
    created_at: datetime
    updated_at: datetime

    @property
    def owner_id(self) -> int:
        return self.owner.id


@dataclass(frozen=True)
class Playlist:
    id: int
    owner: PlaylistOwner
    name: str
    tracks: tuple[Track, ...]
    created_at: datetime
    updated_at: datetime

    @property
    def owner_id(self) -> int:
        return self.owner.id

    @property
    def duration_s(self) -> float:
        return sum(t.duration_s or 0.0 for t in self.tracks)


def normalize_name(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).split())


def clean_playlist_name(name: str) -> str:
    """The name as stored: trimmed, spaces collapsed; ``PlaylistNameError`` if it can't be one."""
    cleaned = normalize_name(name)
    if not cleaned:
        raise PlaylistNameError(lazy("Give the playlist a name (1 to 50 characters)."))
    if len(cleaned) > MAX_NAME_LENGTH:
        raise PlaylistNameError(lazy("A playlist name is at most {max} characters; this one has {length}.",
                                     max=MAX_NAME_LENGTH, length=len(cleaned)))
    if any(unicodedata.category(ch).startswith("C") for ch in cleaned):
        raise PlaylistNameError(lazy("A playlist name can't contain control or invisible characters."))
    if REFERENCE.fullmatch(cleaned):
        raise PlaylistNameError(lazy("A playlist can't be named “{name}”: # and a number pick a playlist from the "
                                     "suggestions. Add a word to the name.", name=cleaned))
    return cleaned


def _key(name: str) -> str:
    return name.casefold()


class PlaylistRepo:
    """Event-loop thread. Every method raises a ``PlaylistError`` with a user-facing message.

    ``actor_id``: who changes a server's playlist (written to its audit log); ignored for a member's own.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, owner: Owner, name: str, tracks: Sequence[Track], *,
                   overwrite: bool = False, actor_id: int | None = None) -> PlaylistSummary:
        """Save ``tracks`` in order under ``name``, all or nothing. With ``overwrite`` an existing
        playlist of that name gets these tracks instead; without, it is ``PlaylistExistsError``."""
        whose = owner_of(owner)
        name = clean_playlist_name(name)
        if not tracks:
            raise EmptyPlaylistError()
        if len(tracks) > MAX_TRACKS:
            raise PlaylistTooLargeError(len(tracks), MAX_TRACKS)
        now = utcnow()
        duration = sum(t.duration_s or 0.0 for t in tracks)
        try:
            async with self._db.transaction() as session:
                row = await find_row(session, whose, name)
                if row is not None and not overwrite:
                    raise PlaylistExistsError(row.name, server=whose.is_guild)
                if row is None:
                    count = await session.scalar(
                        sa.select(sa.func.count()).select_from(PlaylistRow).where(*_owned_by(whose))
                    )
                    if (count or 0) >= MAX_PLAYLISTS_PER_USER:
                        raise PlaylistLimitError(MAX_PLAYLISTS_PER_USER, server=whose.is_guild)
                    row = PlaylistRow(owner_id=whose.id, scope=whose.scope.value, name=name, name_lower=_key(name),
                                      created_at=now, updated_at=now, track_count=len(tracks), duration_s=duration)
                    session.add(row)
                    await session.flush()
                else:
                    row.name, row.updated_at, row.track_count, row.duration_s = name, now, len(tracks), duration
                    await session.execute(sa.delete(PlaylistTrackRow).where(PlaylistTrackRow.playlist_id == row.id))
                await _insert_tracks(session, row.id, tracks)
                await _audit(session, whose, actor_id, "playlist.save", {"name": name, "tracks": len(tracks)})
                summary = summary_of(row)
        except exc.IntegrityError:
            # Another save of the same name won the race between our check and our insert.
            raise PlaylistExistsError(name, server=whose.is_guild) from None
        return summary

    async def load(self, owner: Owner, name: str) -> Playlist:
        whose = owner_of(owner)
        async with self._db.transaction() as session:
            row = await _get(session, whose, name)
            return await _with_tracks(session, row)

    async def load_by_id(self, playlist_id: int) -> Playlist:
        """A playlist found before (``playlist_shelf.py`` decides who may reach it)."""
        async with self._db.transaction() as session:
            row = await session.get(PlaylistRow, playlist_id)
            if row is None:
                raise PlaylistNotFoundError(f"#{playlist_id}")
            return await _with_tracks(session, row)

    async def list_for(self, owner: Owner) -> list[PlaylistSummary]:
        """The owner's playlists, by name (case-insensitive)."""
        whose = owner_of(owner)
        async with self._db.transaction() as session:
            rows = (await session.scalars(
                sa.select(PlaylistRow).where(*_owned_by(whose)).order_by(PlaylistRow.name_lower)
            )).all()
        return [summary_of(r) for r in rows]

    async def show(self, owner: Owner, name: str) -> PlaylistSummary:
        """One playlist's summary (``load`` for its tracks)."""
        async with self._db.transaction() as session:
            return summary_of(await _get(session, owner_of(owner), name))

    async def rename(self, owner: Owner, old_name: str, new_name: str, *,
                     actor_id: int | None = None) -> PlaylistSummary:
        whose = owner_of(owner)
        new_name = clean_playlist_name(new_name)
        try:
            async with self._db.transaction() as session:
                row = await _get(session, whose, old_name)
                other = await find_row(session, whose, new_name)
                if other is not None and other.id != row.id:
                    raise PlaylistExistsError(other.name, server=whose.is_guild)
                old = row.name
                row.name, row.name_lower, row.updated_at = new_name, _key(new_name), utcnow()
                await _audit(session, whose, actor_id, "playlist.rename", {"name": [old, new_name]})
                summary = summary_of(row)
        except exc.IntegrityError:
            raise PlaylistExistsError(new_name, server=whose.is_guild) from None
        return summary

    async def delete(self, owner: Owner, name: str, *, actor_id: int | None = None) -> None:
        whose = owner_of(owner)
        async with self._db.transaction() as session:
            row = await _get(session, whose, name)
            # Explicit, not only ON DELETE CASCADE: an old SQLite file may lack foreign_keys=ON.
            await session.execute(sa.delete(PlaylistTrackRow).where(PlaylistTrackRow.playlist_id == row.id))
            await session.execute(sa.delete(PlaylistShareRow).where(PlaylistShareRow.playlist_id == row.id))
            await _audit(session, whose, actor_id, "playlist.delete", {"name": row.name})
            await session.delete(row)


def _owned_by(owner: PlaylistOwner) -> tuple[sa.ColumnElement[bool], ...]:
    return PlaylistRow.owner_id == owner.id, PlaylistRow.scope == owner.scope.value


async def find_row(session: AsyncSession, owner: PlaylistOwner, name: str) -> PlaylistRow | None:
    row: PlaylistRow | None = await session.scalar(
        sa.select(PlaylistRow).where(*_owned_by(owner), PlaylistRow.name_lower == _key(normalize_name(name)))
    )
    return row


async def _get(session: AsyncSession, owner: PlaylistOwner, name: str) -> PlaylistRow:
    row = await find_row(session, owner, name)
    if row is None:
        raise PlaylistNotFoundError(normalize_name(name)[:MAX_NAME_LENGTH] or name, server=owner.is_guild)
    return row


async def _with_tracks(session: AsyncSession, row: PlaylistRow) -> Playlist:
    track_rows = (await session.scalars(
        sa.select(PlaylistTrackRow.track).where(PlaylistTrackRow.playlist_id == row.id)
        .order_by(PlaylistTrackRow.position)
    )).all()
    return Playlist(row.id, _owner(row), row.name, tuple(track_from_json(t) for t in track_rows), row.created_at,
                    row.updated_at)


async def _audit(session: AsyncSession, owner: PlaylistOwner, actor_id: int | None, action: str,
                 details: dict[str, object]) -> None:
    """A server's playlist changed: its audit log says who did it (a member's own are theirs alone)."""
    if owner.is_guild and actor_id is not None:
        await audit_op(owner.id, actor_id, action, details)(session)


def _owner(row: PlaylistRow) -> PlaylistOwner:
    return PlaylistOwner(PlaylistScope(row.scope), row.owner_id)


def summary_of(row: PlaylistRow) -> PlaylistSummary:
    """The summary of a row (for ``playlist_shelf.py``, which reads rows of several owners at once)."""
    return PlaylistSummary(row.id, _owner(row), row.name, row.track_count, row.duration_s, row.created_at,
                           row.updated_at)



async def _insert_tracks(session: AsyncSession, playlist_id: int, tracks: Sequence[Track]) -> None:
    await session.execute(
        sa.insert(PlaylistTrackRow),
        [{"playlist_id": playlist_id, "position": i, "track": track_to_json(t)} for i, t in enumerate(tracks)],
    )
