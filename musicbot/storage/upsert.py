"""``INSERT … ON CONFLICT DO UPDATE`` for both backends (their dialects spell it the same way)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase


async def upsert(session: AsyncSession, model: type[DeclarativeBase], values: Mapping[str, Any],
                 keys: Sequence[str], update: Sequence[str] | None = None) -> None:
    """Insert ``values``; when a row with the same ``keys`` exists, set the ``update`` columns.

    ``update`` defaults to every non-key column in ``values``. Atomic on both backends, so two
    concurrent writers never lose each other's columns.
    """
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(model).values(**values)
    columns = [c for c in values if c not in keys] if update is None else list(update)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in columns})
    )
