"""pytest fixtures for offline Discord tests (pytest-asyncio, function scope).

Use them from a test module with ``from tests.harness.fixtures import *`` (names in ``__all__``) or from a
conftest with ``pytest_plugins = ["tests.harness.fixtures"]`` (only allowed in the rootdir conftest) or by
importing the names into a sub-package ``conftest.py``.

- ``fake_discord``        a started :class:`FakeDiscord` (``Route.BASE`` restored at teardown)
- ``offline_bot_factory`` ``await offline_bot_factory(cls_or_instance, guilds=[...])`` → a logged-in client
- ``voice_receiver``      a :class:`VoiceReceiver` on ``fake_discord``
- ``fast_playback``       ``AudioPlayer.DELAY = 0.002`` for the test (restored); real-time pacing otherwise
- ``bot_processes``       ``bot_processes.start(fake, bot_env(fake, ...))`` → a ``musicbot run`` subprocess
                          (:mod:`tests.harness.bot_process`); all killed at teardown, their logs' tails printed
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar, overload

import discord
import pytest
import pytest_asyncio
from discord.ext import commands

from .bot_process import BotProcesses
from .fake_discord import FakeDiscord
from .gateway import ensure_opus, fast_audio_player, make_offline
from .payloads import OWNER_USER, Payload, guild_payload
from .voice_analysis import VoiceReceiver

C = TypeVar("C", bound=discord.Client)

_log = logging.getLogger(__name__)


class OfflineBotFactory:
    """Builds logged-in discord.py clients against a :class:`FakeDiscord`; closes them all in :meth:`close_all`.

    ``await factory(client=discord.Client, *, guilds=(), intents=None, ready=True, token='x', **kwargs)``:

    - ``client``: a ``discord.Client`` subclass (``commands.Bot`` gets ``command_prefix='!'`` unless given) built
      with ``intents`` (default ``Intents.default()``) and ``kwargs``, or an already-built instance.
    - ``await client.login(token)`` hits the fake (GET /users/@me, /oauth2/applications/@me) and runs
      ``setup_hook`` (a ``tree.sync()`` there lands in ``fake.commands``).
    - then :func:`make_offline` (``client.ws`` becomes a :class:`FakeGateway`), each guild payload is added with
      ``_add_guild_from_data``, and with ``ready`` the client's ready event is set (``on_ready`` is NOT
      dispatched; call ``client.dispatch('ready')`` if the test needs it).
    """

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.clients: list[discord.Client] = []

    @overload
    async def __call__(
        self,
        client: type[C],
        /,
        *,
        guilds: Sequence[Payload] = ...,
        intents: discord.Intents | None = ...,
        ready: bool = ...,
        token: str = ...,
        **kwargs: Any,
    ) -> C: ...

    @overload
    async def __call__(
        self,
        client: C,
        /,
        *,
        guilds: Sequence[Payload] = ...,
        intents: discord.Intents | None = ...,
        ready: bool = ...,
        token: str = ...,
        **kwargs: Any,
    ) -> C: ...

    @overload
    async def __call__(
        self,
        /,
        *,
        guilds: Sequence[Payload] = ...,
        intents: discord.Intents | None = ...,
        ready: bool = ...,
        token: str = ...,
        **kwargs: Any,
    ) -> discord.Client: ...

    async def __call__(
        self,
        client: Any = discord.Client,
        /,
        *,
        guilds: Sequence[Payload] = (),
        intents: discord.Intents | None = None,
        ready: bool = True,
        token: str = "x",
        **kwargs: Any,
    ) -> Any:
        ensure_opus()
        if isinstance(client, type):
            if issubclass(client, commands.bot.BotBase) and "command_prefix" not in kwargs:
                kwargs["command_prefix"] = "!"
            bot = client(intents=intents or discord.Intents.default(), **kwargs)
        else:
            bot = client
        self.clients.append(bot)
        await bot.login(token)
        make_offline(bot, self.fake)
        for g in guilds:
            bot._connection._add_guild_from_data(g)  # type: ignore[arg-type]
        if ready:
            bot._ready.set()
        return bot

    async def in_voice(
        self, guild_id: int, *, cls: type[discord.VoiceClient] = discord.VoiceClient
    ) -> tuple[discord.Client, discord.VoiceClient]:
        """A client in one guild its owner (``OWNER_USER``) is in, connected to the guild's voice
        channel (id ``guild_id + 2``; the text channel is ``guild_id + 1``) with ``cls``."""
        bot = await self(guilds=[guild_payload(guild_id, text_id=guild_id + 1, voice_id=guild_id + 2,
                                               members=[OWNER_USER])])
        channel = bot.get_channel(guild_id + 2)
        assert isinstance(channel, discord.VoiceChannel)
        vc = await channel.connect(timeout=5, cls=cls)
        assert isinstance(vc, cls)
        return bot, vc

    async def close_all(self) -> None:
        # Each step is bounded: a teardown that hangs fails the test naming what it waited on
        # (the pending tasks and their stacks), instead of stalling the whole suite.
        # First the loop catches up: a leave the bot made just before the test ended may still wait
        # for its confirmation (FakeGateway delivers it 10 ms later, overdue if the test's last steps
        # held the loop). Disconnected again here, discord.py would wait 10 s for a second one.
        if any(bot.voice_clients for bot in self.clients):
            await asyncio.sleep(0.02)
        for bot in reversed(self.clients):
            players = []
            for vc in list(bot.voice_clients):
                player = getattr(vc, "_player", None)
                if player is not None:
                    players.append(player)
                try:
                    await _bounded(vc.disconnect(force=True), "voice disconnect")
                except TeardownHangError:
                    raise
                except Exception:
                    _log.exception("voice disconnect at teardown failed")
            try:
                await _bounded(bot.close(), "client close")
            except TeardownHangError:
                raise
            except Exception:
                _log.exception("client close at teardown failed")
            for player in players:
                await asyncio.to_thread(player.join, 2.0)
        self.clients.clear()


TEARDOWN_STEP_S = 30.0


class TeardownHangError(AssertionError):
    pass


async def _bounded(step: Any, what: str) -> None:
    try:
        await asyncio.wait_for(step, TEARDOWN_STEP_S)
    except TimeoutError:
        stacks = []
        for task in asyncio.all_tasks():
            if task is asyncio.current_task():
                continue
            frames = "".join(f"    {f.f_code.co_filename}:{f.f_lineno} {f.f_code.co_name}\n" for f in task.get_stack())
            stacks.append(f"  {task.get_name()} {task.get_coro()!r}\n{frames}")
        raise TeardownHangError(f"{what} at teardown did not finish in {TEARDOWN_STEP_S:.0f} s; "
                                "pending tasks:\n" + "".join(stacks)) from None


@pytest_asyncio.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest_asyncio.fixture
async def offline_bot_factory(fake_discord: FakeDiscord) -> AsyncIterator[OfflineBotFactory]:
    factory = OfflineBotFactory(fake_discord)
    try:
        yield factory
    finally:
        await factory.close_all()


@pytest.fixture
def voice_receiver(fake_discord: FakeDiscord) -> VoiceReceiver:
    return VoiceReceiver(fake_discord)


@pytest.fixture
def fast_playback() -> Iterator[float]:
    """Packets every 2 ms instead of 20 ms (``AudioPlayer.DELAY``) for tests that don't measure timing."""
    with fast_audio_player(0.002) as delay:
        yield delay


@pytest.fixture
def bot_processes(tmp_path: Path) -> Iterator[BotProcesses]:
    """Start ``musicbot run`` subprocesses; each is killed (its process group too) at teardown."""
    processes = BotProcesses(tmp_path / "bot-logs")
    try:
        yield processes
    finally:
        processes.close_all()


__all__ = [
    "OfflineBotFactory",
    "bot_processes",
    "fake_discord",
    "fast_playback",
    "offline_bot_factory",
    "voice_receiver",
]
