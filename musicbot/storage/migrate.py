"""Schema migrations with Alembic, driven from code (``musicbot db upgrade`` and every start).

The scripts live in the ``musicbot.storage.migrations`` package, so they ship inside the wheel;
no ``alembic.ini`` is read. Upgrades run in one transaction (Postgres and SQLite both have
transactional DDL), so a failed upgrade leaves the previous revision intact. On Postgres an
advisory lock makes shard processes that start together migrate one after the other.
"""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from musicbot.storage.engine import create_engine, parse_url, redact

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any constant works; it only has to be the same in every process of this bot.
_PG_LOCK_KEY = 0x6D75_7369_6362_6F74 & 0x7FFF_FFFF_FFFF_FFFF  # "musicbot"


def alembic_config() -> Config:
    """An Alembic ``Config`` pointing at the packaged scripts (no ini file)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest revision this version of the bot knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def migrate_engine(engine: AsyncEngine, revision: str = "head") -> str | None:
    """Upgrade the database behind ``engine`` to ``revision``; returns the revision it is at.

    Called on the event loop; Alembic itself runs synchronously inside ``run_sync``.
    """
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        before = await conn.run_sync(_current)
        await conn.run_sync(_upgrade, revision)
        after = await conn.run_sync(_current)
    if before != after:
        log.info("database schema upgraded from %s to %s", before or "empty", after)
    return after


async def upgrade(url: str, revision: str = "head") -> str:
    """``musicbot db upgrade``: bring the database at ``url`` to ``revision`` (default the newest).

    Returns the revision the database is at afterwards. Raises ``ConfigError`` for an
    unsupported URL; connection errors propagate (the CLI reports them).
    """
    engine = create_engine(parse_url(url))
    try:
        current = await migrate_engine(engine, revision)
    finally:
        await engine.dispose()
    if current is None:
        raise RuntimeError(f"upgrade of {redact(url)} left no revision")
    return current


async def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at, or None when it has no schema yet."""
    engine = create_engine(parse_url(url))
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_current)
    finally:
        await engine.dispose()


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
