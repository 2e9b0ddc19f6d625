"""Alembic's environment script: runs the migrations on the connection it is handed.

``musicbot.storage.migrate`` opens an async engine, and inside ``AsyncConnection.run_sync``
puts the sync-facing connection in ``config.attributes["connection"]`` and calls Alembic's
command; this script then migrates on that connection, in its transaction. Run by hand
(``alembic -x url=...`` with an ini) it opens its own engine from ``sqlalchemy.url`` instead.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

config = context.config


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=None,
        # SQLite can't ALTER most things; batch mode copies the table when a revision needs it.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _migrate_from_url(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_migrate)
    finally:
        await engine.dispose()


def _main() -> None:
    if context.is_offline_mode():
        context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        _migrate(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection given and no sqlalchemy.url set; use `musicbot db upgrade`")
    asyncio.run(_migrate_from_url(url))


_main()
