"""User playlists (SPEC §1 ``/playlist``): save from the queue, load, list, show, rename, delete.

Names are unique per user regardless of case ("Chill" and "chill" are the same playlist) and
keep the case the user typed. Tracks keep their order.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncSession

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
from musicbot.storage.models import PlaylistRow, PlaylistTrackRow
from musicbot.track import Track

MAX_NAME_LENGTH = 50
MAX_TRACKS = 1000
MAX_PLAYLISTS_PER_USER = 100


@dataclass(frozen=True)
class PlaylistSummary:
    """A playlist without its tracks. ``duration_s`` sums the tracks of known length."""

    owner_id: int
    name: str
    track_count: int
    duration_s: float
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Playlist:
    owner_id: int
    name: str
    tracks: tuple[Track, ...]
    created_at: datetime
    updated_at: datetime

    @property
    def duration_s(self) -> float:
        return sum(t.duration_s or 0.0 for t in self.tracks)


def _normalize(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).split())


def clean_playlist_name(name: str) -> str:
    """The name as stored: trimmed, spaces collapsed; ``PlaylistNameError`` if it can't be one."""
    cleaned = _normalize(name)
    if not cleaned:
        raise PlaylistNameError("Give the playlist a name (1 to 50 characters).")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise PlaylistNameError(
            f"A playlist name is at most {MAX_NAME_LENGTH} characters; this one has {len(cleaned)}."
        )
    if any(unicodedata.category(ch).startswith("C") for ch in cleaned):
        raise PlaylistNameError("A playlist name can't contain control or invisible characters.")
    return cleaned


def _key(name: str) -> str:
    return name.casefold()


class PlaylistRepo:
    """Event-loop thread. Every method raises a ``PlaylistError`` with a user-facing message."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, owner_id: int, name: str, tracks: Sequence[Track], *,
                   overwrite: bool = False) -> PlaylistSummary:
        """Save ``tracks`` in order under ``name``. With ``overwrite`` an existing playlist of
        that name gets these tracks instead; without, it is ``PlaylistExistsError``."""
        name = clean_playlist_name(name)
        if not tracks:
            raise EmptyPlaylistError()
        if len(tracks) > MAX_TRACKS:
            raise PlaylistTooLargeError(len(tracks), MAX_TRACKS)
        now = utcnow()
        duration = sum(t.duration_s or 0.0 for t in tracks)
        try:
            async with self._db.transaction() as session:
                row = await self._find(session, owner_id, name)
                if row is not None and not overwrite:
                    raise PlaylistExistsError(row.name)
                if row is None:
                    count = await session.scalar(
                        sa.select(sa.func.count()).select_from(PlaylistRow).where(PlaylistRow.owner_id == owner_id)
                    )
                    if (count or 0) >= MAX_PLAYLISTS_PER_USER:
                        raise PlaylistLimitError(MAX_PLAYLISTS_PER_USER)
                    row = PlaylistRow(owner_id=owner_id, name=name, name_lower=_key(name), created_at=now,
                                      updated_at=now, track_count=len(tracks), duration_s=duration)
                    session.add(row)
                    await session.flush()
                else:
                    row.name, row.updated_at, row.track_count, row.duration_s = name, now, len(tracks), duration
                    await session.execute(sa.delete(PlaylistTrackRow).where(PlaylistTrackRow.playlist_id == row.id))
                await _insert_tracks(session, row.id, tracks)
                created_at = row.created_at
        except exc.IntegrityError:
            # Another save of the same name won the race between our check and our insert.
            raise PlaylistExistsError(name) from None
        return PlaylistSummary(owner_id, name, len(tracks), duration, created_at, now)

    async def load(self, owner_id: int, name: str) -> Playlist:
        async with self._db.transaction() as session:
            row = await self._get(session, owner_id, name)
            track_rows = (await session.scalars(
                sa.select(PlaylistTrackRow.track).where(PlaylistTrackRow.playlist_id == row.id)
                .order_by(PlaylistTrackRow.position)
            )).all()
        return Playlist(owner_id, row.name, tuple(track_from_json(t) for t in track_rows), row.created_at,
                        row.updated_at)

    async def list_for(self, owner_id: int) -> list[PlaylistSummary]:
        """The user's playlists, by name (case-insensitive)."""
        async with self._db.transaction() as session:
            rows = (await session.scalars(
                sa.select(PlaylistRow).where(PlaylistRow.owner_id == owner_id).order_by(PlaylistRow.name_lower)
            )).all()
        return [_summary(r) for r in rows]

    async def show(self, owner_id: int, name: str) -> PlaylistSummary:
        """One playlist's summary (``load`` for its tracks)."""
        async with self._db.transaction() as session:
            return _summary(await self._get(session, owner_id, name))

    async def rename(self, owner_id: int, old_name: str, new_name: str) -> PlaylistSummary:
        new_name = clean_playlist_name(new_name)
        try:
            async with self._db.transaction() as session:
                row = await self._get(session, owner_id, old_name)
                other = await self._find(session, owner_id, new_name)
                if other is not None and other.id != row.id:
                    raise PlaylistExistsError(other.name)
                row.name, row.name_lower, row.updated_at = new_name, _key(new_name), utcnow()
                summary = _summary(row)
        except exc.IntegrityError:
            raise PlaylistExistsError(new_name) from None
        return summary

    async def delete(self, owner_id: int, name: str) -> None:
        async with self._db.transaction() as session:
            row = await self._get(session, owner_id, name)
            # Explicit, not only ON DELETE CASCADE: an old SQLite file may lack foreign_keys=ON.
            await session.execute(sa.delete(PlaylistTrackRow).where(PlaylistTrackRow.playlist_id == row.id))
            await session.delete(row)

    async def _find(self, session: AsyncSession, owner_id: int, name: str) -> PlaylistRow | None:
        key = _key(_normalize(name))
        row: PlaylistRow | None = await session.scalar(
            sa.select(PlaylistRow).where(PlaylistRow.owner_id == owner_id, PlaylistRow.name_lower == key)
        )
        return row

    async def _get(self, session: AsyncSession, owner_id: int, name: str) -> PlaylistRow:
        row = await self._find(session, owner_id, name)
        if row is None:
            raise PlaylistNotFoundError(_normalize(name)[:MAX_NAME_LENGTH] or name)
        return row


def _summary(row: PlaylistRow) -> PlaylistSummary:
    return PlaylistSummary(row.owner_id, row.name, row.track_count, row.duration_s, row.created_at, row.updated_at)


async def _insert_tracks(session: AsyncSession, playlist_id: int, tracks: Sequence[Track]) -> None:
    await session.execute(
        sa.insert(PlaylistTrackRow),
        [{"playlist_id": playlist_id, "position": i, "track": track_to_json(t)} for i, t in enumerate(tracks)],
    )
