"""Schema migrations with Alembic, driven from code (``musicbot db upgrade`` and every start).

The scripts live in the ``musicbot.storage.migrations`` package, so they ship inside the wheel;
no ``alembic.ini`` is read. Upgrades run in one transaction (Postgres and SQLite both have
transactional DDL), so a failed upgrade leaves the previous revision intact. On Postgres an
advisory lock makes shard processes that start together migrate one after the other.

Alembic is imported only when a migration runs or a revision is asked for: with its templates and
their syntax highlighter (mako, pygments) it is about 11 MiB that a running bot would keep for
nothing. A start on a database already at the newest revision (every start but the first after an
upgrade) sees that with one query and the revision lines of the packaged scripts, and leaves
Alembic unimported.
"""

from __future__ import annotations

import ast
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from musicbot.storage.engine import create_engine, is_transient, parse_url, redact
from musicbot.storage.errors import StorageError, StorageUnavailableError

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)
# Alembic logs its context set-up at INFO on every start; our own line says what changed.
for _name in ("alembic.runtime.migration", "alembic.runtime.plugins"):
    logging.getLogger(_name).setLevel(logging.WARNING)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any constant works; it only has to be the same in every process of this bot.
_PG_LOCK_KEY = 0x6D75_7369_6362_6F74 & 0x7FFF_FFFF_FFFF_FFFF  # "musicbot"


def alembic_config() -> Config:
    """An Alembic ``Config`` pointing at the packaged scripts (no ini file)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest revision this version of the bot knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def migrate_engine(engine: AsyncEngine, revision: str = "head") -> str | None:
    """Upgrade the database behind ``engine`` to ``revision``; returns the revision it is at.

    Called on the event loop; Alembic itself runs synchronously inside ``run_sync``.
    """
    if revision == "head" and (head := packaged_head()) is not None and await _stamped(engine) == (head,):
        return head  # nothing to do, and nothing of Alembic imported to find that out
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


def packaged_head() -> str | None:
    """The newest revision of the packaged scripts, read from their ``revision`` and ``down_revision``
    lines as Alembic reads them, without importing Alembic. None when that reading is not plain (a
    file without them, several heads): Alembic then decides, as it always did."""
    revisions: dict[str, tuple[str, ...]] = {}
    # Alembic's own rule for which files of versions/ are revisions (ScriptDirectory skips __init__).
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        if path.name.startswith(("__init__", ".#")):
            continue
        constants = _module_constants(path)
        revision, down = constants.get("revision"), constants.get("down_revision")
        if not isinstance(revision, str):
            return None
        downs = (down,) if isinstance(down, str) else tuple(down) if isinstance(down, tuple | list) else ()
        revisions[revision] = tuple(str(d) for d in downs)
    heads = set(revisions) - {down for downs in revisions.values() for down in downs}
    return heads.pop() if len(heads) == 1 else None


def _module_constants(path: Path) -> dict[str, object]:
    """The module-level ``name = literal`` assignments of a script (annotated ones too)."""
    constants: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name):
            try:
                constants[target.id] = ast.literal_eval(value)
            except (ValueError, TypeError, SyntaxError):  # not a literal: not a revision line either
                continue
    return constants


async def _stamped(engine: AsyncEngine) -> tuple[str, ...]:
    """The revisions the database is stamped with (Alembic's ``alembic_version`` table), in plain SQL."""
    async with engine.connect() as conn:
        return await conn.run_sync(_stamped_revisions)


def _stamped_revisions(connection: Connection) -> tuple[str, ...]:
    if not sa.inspect(connection).has_table("alembic_version"):
        return ()
    return tuple(str(v) for v in connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())


def _current(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def _upgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
