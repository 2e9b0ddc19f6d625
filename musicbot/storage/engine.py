"""Engines for SQLite (aiosqlite, WAL) and Postgres (asyncpg), and which errors are transient."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from musicbot.errors import ConfigError

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 5000
PG_CONNECT_TIMEOUT_S = 5.0
# A query that takes longer is treated as an outage (the outbox retries it) rather than waited on.
PG_COMMAND_TIMEOUT_S = 15.0
# SQLSTATE classes that mean "the server is unreachable, restarting or out of resources".
_TRANSIENT_SQLSTATE_CLASSES = ("08", "53", "57")


def parse_url(url: str) -> URL:
    """Parse and check a ``DATABASE_URL``; only the two async drivers are supported."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        raise ConfigError(f"DATABASE_URL is not a valid database URL: {redact(url)}") from None
    if parsed.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise ConfigError(
            f"DATABASE_URL={redact(url)} is not supported: use sqlite+aiosqlite:///path/to/file.db "
            "or postgresql+asyncpg://user:password@host/dbname"
        )
    return parsed


def redact(url: str | URL) -> str:
    """The URL without its password, for logs and error messages."""
    try:
        return (make_url(url) if isinstance(url, str) else url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return "<unparseable URL>"


def is_sqlite_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and (
        not url.database or url.database == ":memory:" or url.query.get("mode") == "memory"
    )


def create_engine(url: str | URL) -> AsyncEngine:
    """An async engine tuned for the bot. Creates the folder of a SQLite file.

    SQLite gets one pooled connection: SQLite writes one transaction at a time anyway, and a
    single connection means asyncio tasks queue for it in order instead of failing with
    "database is locked". WAL lets readers in other processes (``musicbot db``) work meanwhile.
    """
    parsed = parse_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() == "sqlite":
        kwargs: dict[str, Any] = {}
        if not is_sqlite_memory(parsed):
            assert parsed.database is not None
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            kwargs = {"poolclass": AsyncAdaptedQueuePool, "pool_size": 1, "max_overflow": 0, "pool_timeout": 60}
        engine = create_async_engine(parsed, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
        return engine
    return create_async_engine(
        parsed,
        pool_size=5,
        max_overflow=5,
        pool_timeout=10,
        # After a Postgres restart the pooled connections are dead; test each on checkout.
        pool_pre_ping=True,
        connect_args={"timeout": PG_CONNECT_TIMEOUT_S, "command_timeout": PG_COMMAND_TIMEOUT_S},
    )


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # The sqlite3 module's own transaction handling only BEGINs before DML, so a SELECT-then-
    # INSERT or a migration's DDL would not be atomic; we emit BEGIN ourselves (see below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",  # durable across process crashes in WAL mode; fsync on checkpoint
        "PRAGMA foreign_keys=ON",
        f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    ):
        cursor.execute(pragma)
    cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    # IMMEDIATE takes the write lock up front, so two processes never deadlock upgrading a read
    # lock; busy_timeout makes the second one wait instead.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def is_transient(err: BaseException) -> bool:
    """True when ``err`` means the database is unreachable, restarting, locked or slow.

    Those are worth retrying; anything else (a constraint violation, a bug) is not.
    """
    if isinstance(err, exc.DBAPIError):
        if err.connection_invalidated or isinstance(err, exc.OperationalError | exc.InterfaceError):
            return True
        orig = err.orig
        sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        if isinstance(sqlstate, str) and sqlstate[:2] in _TRANSIENT_SQLSTATE_CLASSES:
            return True
        return isinstance(orig, OSError | TimeoutError)
    return isinstance(err, exc.TimeoutError | OSError | TimeoutError)
