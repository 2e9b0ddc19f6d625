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
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from musicbot.storage.engine import create_engine, is_transient, parse_url, redact
from musicbot.storage.errors import StorageError, StorageUnavailableError

log = logging.getLogger(__name__)
# Alembic logs its context set-up at INFO on every start; our own line says what changed.
for _name in ("alembic.runtime.migration", "alembic.runtime.plugins"):
    logging.getLogger(_name).setLevel(logging.WARNING)

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
    unsupported URL and ``StorageError`` (``StorageUnavailableError`` when unreachable) with a
    message for the user otherwise.
    """
    parsed = parse_url(url)
    engine = create_engine(parsed)
    try:
        current = await migrate_engine(engine, revision)
    except Exception as err:
        raise open_error(parsed, err) from err
    finally:
        await engine.dispose()
    if current is None:
        raise RuntimeError(f"upgrade of {redact(url)} left no revision")
    return current


async def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at, or None when it has no schema yet."""
    parsed = parse_url(url)
    engine = create_engine(parsed)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_current)
    except Exception as err:
        raise open_error(parsed, err) from err
    finally:
        await engine.dispose()


def open_error(url: URL, err: Exception) -> StorageError:
    """The user-facing error for a database that could not be opened or migrated."""
    first_line = f"{err}".splitlines()[0] if f"{err}" else type(err).__name__
    where = redact(url)
    if is_transient(err):
        return StorageUnavailableError(
            f"{where}: {first_line}",
            f"Cannot reach the database at {where} ({first_line}): check DATABASE_URL and that the server is up.",
        )
    return StorageError(f"Cannot open the database at {where}: {first_line}")


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
