"""Fixtures that run every storage test against SQLite and against the real Postgres.

Postgres: one fresh database per test session (``musicbot_test_<hex>``) migrated once, its
tables truncated before each test; tests that need an empty schema get a database of their
own. All are dropped at the end. When Postgres is unreachable the Postgres cases are skipped,
except under ``CI=true``, where they fail: CI must run them.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import event, exc
from sqlalchemy.engine import make_url

from musicbot.storage import Database
from musicbot.storage.migrate import upgrade
from musicbot.storage.models import Base

PG_ADMIN_DSN = os.environ.get("MUSICBOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ["sqlite", "postgres"]
FAST_OUTBOX = {"outbox_interval_s": 0.05, "retry_initial_s": 0.02, "retry_max_s": 0.2}


def _asyncpg_url(dsn: str, database: str) -> str:
    url = make_url(dsn).set(drivername="postgresql+asyncpg", database=database)
    return url.render_as_string(hide_password=False)


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_factory() -> Iterator[Callable[[], str]]:
    """Makes fresh, empty Postgres databases; drops them all when the session ends."""
    try:
        asyncio.run(_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as err:
        message = f"PostgreSQL at {PG_ADMIN_DSN} is not reachable: {err}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true: the Postgres tests must run)")
        pytest.skip(message)
    created: list[str] = []

    def make() -> str:
        name = f"musicbot_test_{secrets.token_hex(6)}"
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return _asyncpg_url(PG_ADMIN_DSN, name)

    yield make
    for name in created:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_shared_url(pg_factory: Callable[[], str]) -> str:
    url = pg_factory()
    asyncio.run(upgrade(url))
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "musicbot.db"
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


async def _truncate(url: str) -> None:
    conn = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        await conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "data" / "musicbot.db"
        path.parent.mkdir()
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("pg_shared_url")
    asyncio.run(_truncate(url))
    return url


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database of each backend with no schema at all."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'musicbot.db'}"
    factory: Callable[[], str] = request.getfixturevalue("pg_factory")
    return factory()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = await Database.open(database_url, **FAST_OUTBOX)
    yield database
    await database.close()


class Outage:
    """Makes every statement on an engine fail like an unreachable server while ``active``."""

    def __init__(self, database: Database) -> None:
        self.active = False
        self.failures = 0
        event.listen(database.engine.sync_engine, "before_cursor_execute", self._hook)

    def _hook(self, _conn: object, _cursor: object, statement: str, parameters: object, *_args: object) -> None:
        if self.active:
            self.failures += 1
            raise exc.OperationalError(statement, parameters, ConnectionRefusedError("simulated outage"))


@pytest.fixture
def outage(db: Database) -> Outage:
    return Outage(db)
