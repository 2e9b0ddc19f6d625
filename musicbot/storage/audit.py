"""The audit log: who changed what in a guild's settings, and other admin actions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from musicbot.storage.columns import utcnow
from musicbot.storage.database import Database
from musicbot.storage.models import AuditRow
from musicbot.storage.outbox import WriteOp

MAX_ACTION_LENGTH = 64
MAX_LIMIT = 200


@dataclass(frozen=True)
class AuditEntry:
    """One admin action. ``action`` is a dotted name such as ``"settings.update"``;
    ``details`` is JSON (for a settings change: ``{setting: [old, new]}``). Treat it as read-only."""

    id: int
    guild_id: int
    actor_id: int
    action: str
    details: dict[str, Any]
    created_at: datetime


def audit_op(guild_id: int, actor_id: int, action: str, details: Mapping[str, Any] | None = None,
             created_at: datetime | None = None) -> WriteOp:
    """The insert as a write op, for use inside another transaction or the outbox."""
    if not action or len(action) > MAX_ACTION_LENGTH:
        raise ValueError(f"audit action must be 1–{MAX_ACTION_LENGTH} characters, got {action!r}")
    # Round-trip now: a value JSON can't hold fails here, in the caller, not later in the outbox.
    payload = json.loads(json.dumps(dict(details or {})))
    when = created_at or utcnow()

    async def op(session: AsyncSession) -> None:
        session.add(AuditRow(guild_id=guild_id, actor_id=actor_id, action=action, details=payload,
                             created_at=when))
        await session.flush()

    return op


class AuditLog:
    """Records and lists admin actions. Event-loop thread."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, guild_id: int, actor_id: int, action: str,
                     details: Mapping[str, Any] | None = None) -> None:
        op = audit_op(guild_id, actor_id, action, details)
        async with self._db.transaction() as session:
            await op(session)

    def record_later(self, guild_id: int, actor_id: int, action: str,
                     details: Mapping[str, Any] | None = None) -> None:
        """Queue the record in the outbox instead of waiting for the database."""
        self._db.outbox.put(audit_op(guild_id, actor_id, action, details))

    async def recent(self, guild_id: int, *, limit: int = 50, before: datetime | None = None) -> list[AuditEntry]:
        """Newest first; ``before`` pages back (entries strictly older)."""
        query = sa.select(AuditRow).where(AuditRow.guild_id == guild_id)
        if before is not None:
            query = query.where(AuditRow.created_at < before)
        query = query.order_by(AuditRow.created_at.desc(), AuditRow.id.desc()).limit(max(1, min(limit, MAX_LIMIT)))
        async with self._db.transaction() as session:
            rows = (await session.scalars(query)).all()
        return [
            AuditEntry(id=r.id, guild_id=r.guild_id, actor_id=r.actor_id, action=r.action,
                       details=dict(r.details), created_at=r.created_at)
            for r in rows
        ]
