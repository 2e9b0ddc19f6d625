"""The audit log: entries newest first, per guild, JSON details kept."""

from __future__ import annotations

import pytest

from musicbot.storage import AuditLog, Database

GUILD = 600000000000000001


async def test_record_and_list(db: Database) -> None:
    log = AuditLog(db)
    await log.record(GUILD, 1, "playlist.delete", {"name": "x"})
    await log.record(GUILD, 2, "queue.clear", {"tracks": 12, "nested": {"a": [1, 2.5, None, "é"]}})
    await log.record(GUILD + 1, 3, "queue.clear")
    entries = await log.recent(GUILD)
    assert [(e.actor_id, e.action) for e in entries] == [(2, "queue.clear"), (1, "playlist.delete")]
    assert entries[0].details == {"tracks": 12, "nested": {"a": [1, 2.5, None, "é"]}}
    assert entries[0].created_at >= entries[1].created_at and entries[0].created_at.tzinfo is not None
    assert [e.action for e in await log.recent(GUILD, limit=1)] == ["queue.clear"]
    assert [e.actor_id for e in await log.recent(GUILD + 1)] == [3]


async def test_record_later_goes_through_the_outbox(db: Database) -> None:
    log = AuditLog(db)
    log.record_later(GUILD, 9, "settings.reset")
    assert await db.outbox.flush()
    assert [e.action for e in await log.recent(GUILD)] == ["settings.reset"]


async def test_bad_details_fail_at_the_caller(db: Database) -> None:
    with pytest.raises(TypeError):
        AuditLog(db).record_later(GUILD, 9, "x", {"obj": object()})
    with pytest.raises(ValueError, match="1–64 characters"):
        await AuditLog(db).record(GUILD, 9, "")
