"""A database that accepts connections and never answers: every command that waits on it has deferred its
answer first (Discord's 3 s never depend on the database) and ends with a clear sentence, not a hang."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event

from musicbot.storage import Database
from musicbot.storage.deadline import NOT_ANSWERING
from tests.bot.answers import command
from tests.bot.world import ADMIN, ALICE, World

ADMIN_ROLE = 1501


class HangingServer:
    """Accepts TCP connections and reads, never writes.

    ``connecting`` holds, per connection the bot's database engine opens to it, the task that opened it (a
    command runs in the task that delivered it) and the interaction callbacks the fake Discord had recorded by
    then. Background writers (snapshots, history) connect too, from their own tasks.
    """

    def __init__(self, world: World) -> None:
        self.world = world
        self.connecting: list[tuple[asyncio.Task[Any] | None, set[str]]] = []
        self._server: asyncio.Server | None = None
        self._held: list[asyncio.StreamWriter] = []

    def watch(self, database: Database) -> None:
        def connecting(*_args: object) -> None:
            answered = {r.path for r in self.world.fake.requests if r.path.endswith("/callback")}
            self.connecting.append((asyncio.current_task(), answered))

        event.listen(database.engine.sync_engine, "do_connect", connecting)

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._held.append(writer)
        with contextlib.suppress(ConnectionError):
            while await reader.read(4096):
                pass

    async def stop(self) -> None:
        for writer in self._held:
            writer.close()
        if self._server is not None:
            self._server.close()


@pytest.fixture
async def hanging(world: World) -> AsyncIterator[HangingServer]:
    """The world's bot, with music already playing, now on a Postgres address that never answers."""
    await world.join(ALICE)
    assert (await command(world, "play", {"query": "long440"})).error is None
    server = HangingServer(world)
    port = await server.start()
    healthy = world.bot.database
    hung = await Database.open(f"postgresql+asyncpg://musicbot:x@127.0.0.1:{port}/musicbot", migrate=False)
    server.watch(hung)
    world.bot.database = hung
    world.bot.tree.storage_deadline_s = 0.3  # the production deadline is seconds; the behaviour is the same
    try:
        yield server
    finally:
        world.bot.database = healthy
        await hung.close(flush_timeout_s=0.5)
        await server.stop()


@pytest.mark.parametrize(("name", "options", "who"), [
    ("playlist save", {"name": "Mix"}, ALICE),
    ("playlist list", {}, ALICE),
    ("history", {}, ALICE),
    ("me volume", {"percent": 50}, ALICE),
    ("settings volume", {"percent": 50}, ADMIN),
])
async def test_a_hanging_database_is_waited_on_only_after_deferring(world: World, hanging: HangingServer, name: str,
                                                                     options: dict[str, Any],
                                                                     who: dict[str, Any]) -> None:
    answer = await command(world, name, options, user=who, roles=[ADMIN_ROLE] if who is ADMIN else [])
    assert answer.type == 5, "answered without deferring while the database hangs"
    assert NOT_ANSWERING in answer.content and answer.ephemeral
    mine = [answered for task, answered in hanging.connecting if task is asyncio.current_task()]
    assert mine, "the command never reached the database"
    # The command's own "thinking…" was recorded before it first connected to the database.
    callback = next(r.path for r in reversed(world.fake.requests) if r.path.endswith("/callback"))
    assert callback in mine[0]


async def test_control_commands_answer_at_once_with_the_default_settings(world: World, hanging: HangingServer) -> None:
    """Every control command reads the guild's settings (the DJ role); with the database hanging that read is
    bounded and falls back to the defaults, so /pause still answers in its first response."""
    world.bot._settings_cache.clear()
    answer = await command(world, "pause")
    assert answer.type == 4 and "Paused" in answer.content
