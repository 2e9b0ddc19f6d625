"""Wiring a real discord.py client to :class:`~tests.harness.fake_discord.FakeDiscord` without a main gateway.

- :class:`FakeGateway` replaces ``bot.ws``; it answers voice-state changes like Discord does.
- :func:`make_offline` installs it and rewrites the hard-coded ``wss://`` voice URL to ``ws://``.
- :func:`join_voice` / :func:`leave_voice` move (fake) users in and out of voice channels.
- :func:`invoke` / :func:`dispatch_interaction` run INTERACTION_CREATE payloads through the real CommandTree/ViewStore.
- :func:`ensure_opus` loads the libopus bundled in the PyAV wheel; :func:`fast_audio_player` speeds up playback.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
from collections.abc import Iterator
from typing import Any

import aiohttp
import av
import discord
import discord.opus
from discord import app_commands
from discord.player import AudioPlayer

from musicbot.voice.sender import SharedPlayer

from .fake_discord import FakeDiscord
from .payloads import BOT_ID, BOT_USER, Payload, member, member_voice_state


class FakeGateway:
    """Stands in for ``bot.ws`` (DiscordWebSocket). Answers ``voice_state`` (op 4) like Discord would.

    ``sent`` records every op the bot sent on the main gateway (op 4 voice state, op 3 presence).
    """

    open = False  # Client.close() checks `self.ws.open` before closing the main gateway

    def __init__(self, bot: discord.Client, fake: FakeDiscord, *, delay: float = 0.01) -> None:
        self.bot = bot
        self.fake = fake
        self.delay = delay
        self.sent: list[Payload] = []
        self.respond = True  # set False to simulate Discord never answering a voice join (connect() times out)

    async def voice_state(
        self, guild_id: int, channel_id: int | None, self_mute: bool = False, self_deaf: bool = False
    ) -> None:
        self.sent.append(
            {
                "op": 4,
                "d": {"guild_id": guild_id, "channel_id": channel_id, "self_mute": self_mute, "self_deaf": self_deaf},
            }
        )
        if not self.respond:
            return
        # Deliver the two dispatch events *later*, like the real gateway. Delivering them synchronously races
        # VoiceConnectionState._wait_for_state(): its Event is set()+clear()ed before the waiter task starts,
        # and connect() hangs until its timeout.
        asyncio.get_running_loop().call_later(
            self.delay, self.deliver_bot_voice_state, guild_id, channel_id, self_mute, self_deaf
        )

    def deliver_bot_voice_state(
        self, guild_id: int, channel_id: int | None, self_mute: bool = False, self_deaf: bool = False
    ) -> None:
        """Feed VOICE_STATE_UPDATE (+ VOICE_SERVER_UPDATE when joining) for the bot itself.

        Call it directly to simulate Discord moving (``channel_id`` = another channel) or kicking
        (``channel_id=None``) the bot.
        """
        state = self.bot._connection
        payload: Any = member_voice_state(
            guild_id,
            channel_id,
            member(BOT_USER),
            session_id="fake-session",
            self_mute=self_mute,
            self_deaf=self_deaf,
        )
        state.parse_voice_state_update(payload)
        if channel_id is not None:
            state.parse_voice_server_update(
                {"token": "voice-token", "guild_id": str(guild_id), "endpoint": self.fake.voice_endpoint}
            )

    async def change_presence(self, **kw: Any) -> None:
        self.sent.append({"op": 3, "d": kw})

    async def request_chunks(self, *args: Any, **kw: Any) -> None:
        self.sent.append({"op": 8, "d": {"args": args, **kw}})

    async def close(self, code: int = 1000) -> None:
        return None

    @property
    def latency(self) -> float:
        return 0.0

    def is_ratelimited(self) -> bool:
        return False


class _OfflineShard:
    """What AutoShardedClient needs of a shard offline: its websocket."""

    def __init__(self, ws: FakeGateway) -> None:
        self.ws = ws
        self.id = 0

    def is_closed(self) -> bool:
        return False

    async def close(self) -> None:
        return None


def make_offline(bot: discord.Client, fake: FakeDiscord) -> FakeGateway:
    """Call after ``await bot.login(...)``: install a :class:`FakeGateway` and rewrite ``wss://`` → ``ws://``
    for the voice websocket (``DiscordVoiceWebSocket.from_connection_state`` hard-codes ``wss://``)."""
    gw = FakeGateway(bot, fake)
    bot.ws = gw  # type: ignore[assignment]
    if isinstance(bot, discord.AutoShardedClient):
        # One shard, whose websocket is the fake: AutoShardedClient looks sockets up per shard id.
        bot.shard_count = 1
        bot._connection.shard_count = 1
        bot._AutoShardedClient__shards[0] = _OfflineShard(gw)  # type: ignore[attr-defined]
    http = bot.http
    orig = http.ws_connect

    async def ws_connect(url: str, *, compress: int = 0) -> aiohttp.ClientWebSocketResponse:
        return await orig(url.replace("wss://", "ws://", 1), compress=compress)

    http.ws_connect = ws_connect  # type: ignore[method-assign]
    return gw


def fake_gateway(bot: discord.Client) -> FakeGateway:
    gw = bot.ws
    if not isinstance(gw, FakeGateway):
        raise TypeError("bot is not offline; call make_offline(bot, fake) first")
    return gw


# ---------------------------------------------------------------------------------------------- voice members


async def join_voice(
    bot: discord.Client,
    guild_id: int,
    channel_id: int,
    usr: Payload,
    *,
    roles: tuple[int, ...] = (),
    self_mute: bool = False,
    self_deaf: bool = False,
) -> discord.Member:
    """Make ``usr`` (USER or MEMBER payload) join/move to a voice channel via VOICE_STATE_UPDATE.

    Goes through ``ConnectionState.parse_voice_state_update``, so ``member.voice``/``channel.members`` update and
    ``on_voice_state_update`` listeners are dispatched (we yield once so they start).
    """
    payload: Any = member_voice_state(
        guild_id,
        channel_id,
        usr if "user" in usr else member(usr, roles=roles),
        self_mute=self_mute,
        self_deaf=self_deaf,
    )
    bot._connection.parse_voice_state_update(payload)
    await asyncio.sleep(0)
    guild = bot.get_guild(guild_id)
    assert guild is not None, f"guild {guild_id} not known to the bot"
    uid = int(usr["user"]["id"] if "user" in usr else usr["id"])
    m = guild.get_member(uid)
    assert m is not None
    return m


async def leave_voice(bot: discord.Client, guild_id: int, usr: Payload) -> None:
    """Make ``usr`` leave voice in that guild (VOICE_STATE_UPDATE with ``channel_id: null``)."""
    bot._connection.parse_voice_state_update(member_voice_state(guild_id, None, usr))  # type: ignore[arg-type]
    await asyncio.sleep(0)


async def play_to_end(
    bot: discord.Client, vc: discord.VoiceClient, source: discord.AudioSource, timeout: float = 10.0
) -> None:
    """``vc.play(source)`` and wait until discord.py's player finished it; it must end without an error."""
    done = asyncio.Event()
    errors: list[Exception | None] = []

    def after(err: Exception | None) -> None:
        errors.append(err)
        bot.loop.call_soon_threadsafe(done.set)

    vc.play(source, after=after)
    await asyncio.wait_for(done.wait(), timeout)
    assert errors == [None]


def bot_voice_channel_id(bot: discord.Client, guild_id: int) -> int | None:
    guild = bot.get_guild(guild_id)
    me = guild.me if guild else None
    return me.voice.channel.id if me and me.voice and me.voice.channel else None


# ---------------------------------------------------------------------------------------------- interactions


def _tree_of(client: discord.Client, tree: app_commands.CommandTree[Any] | None) -> app_commands.CommandTree[Any]:
    if tree is not None:
        return tree
    t = getattr(client, "tree", None) or getattr(client._connection, "_command_tree", None)
    if not isinstance(t, app_commands.CommandTree):
        raise TypeError("no CommandTree: pass tree=")
    return t


def _install_error_sink(tree: app_commands.CommandTree[Any]) -> dict[int, BaseException]:
    sink: dict[int, BaseException] | None = getattr(tree, "_harness_errors", None)
    if sink is not None:
        return sink
    new_sink: dict[int, BaseException] = {}
    original = tree.on_error

    async def on_error(interaction: discord.Interaction[Any], error: app_commands.AppCommandError) -> None:
        new_sink[interaction.id] = error
        await original(interaction, error)

    tree.on_error = on_error  # type: ignore[method-assign]
    tree._harness_errors = new_sink  # type: ignore[attr-defined]
    return new_sink


async def invoke(
    client: discord.Client,
    payload: Payload,
    *,
    tree: app_commands.CommandTree[Any] | None = None,
    fake: FakeDiscord | None = None,
    raise_errors: bool = False,
) -> BaseException | None:
    """Run a type 2 (slash) or type 4 (autocomplete) INTERACTION_CREATE through ``tree._call`` and await it.

    Returns the error that reached ``tree.on_error`` (after the tree's own ``on_error`` ran), or None;
    ``raise_errors=True`` raises it instead. Pass ``fake`` (or use ``FakeDiscord.register_interaction``) so the
    fake knows the interaction's channel for its callback/followup messages.
    """
    if fake is not None:
        fake.register_interaction(payload)
    t = _tree_of(client, tree)
    sink = _install_error_sink(t)
    inter: discord.Interaction[Any] = discord.Interaction(data=payload, state=client._connection)  # type: ignore[arg-type]
    await t._call(inter)
    err = sink.pop(inter.id, None)
    if err is not None and raise_errors:
        raise err
    return err


async def dispatch_interaction(
    client: discord.Client,
    payload: Payload,
    *,
    fake: FakeDiscord | None = None,
    wait: bool = True,
    timeout: float = 5.0,
) -> list[Payload]:
    """Feed any INTERACTION_CREATE through ``ConnectionState.parse_interaction_create`` (the real path: component
    clicks and modal submits go to the ViewStore, commands to the tree, in a spawned task).

    With ``fake`` and ``wait``: waits until the interaction's first callback is recorded and returns the callback
    bodies for it so far.
    """
    if fake is not None:
        fake.register_interaction(payload)
    client._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
    if fake is None or not wait:
        await asyncio.sleep(0)
        return []
    await fake.wait_for_request("POST", rf"^/interactions/{payload['id']}/[^/]+/callback$", timeout=timeout)
    return fake.callbacks(payload)


# ---------------------------------------------------------------------------------------------- audio plumbing


def ensure_opus() -> None:
    """Load libopus for discord.py from the PyAV wheel (``av.libs/libopus*.so*``) unless already loaded."""
    if discord.opus.is_loaded():
        return
    candidates = sorted(glob.glob(os.path.dirname(av.__file__) + ".libs/libopus*.so*"))
    candidates += sorted(glob.glob(os.path.join(os.path.dirname(av.__file__), ".dylibs", "libopus*.dylib")))
    if not candidates:
        raise RuntimeError("libopus not found in the PyAV wheel")
    discord.opus.load_opus(candidates[0])


@contextlib.contextmanager
def fast_audio_player(delay: float = 0.002) -> Iterator[float]:
    """Make the shared sender's players (and discord.py's ``AudioPlayer``) pace packets every ``delay`` s
    instead of 20 ms (class attributes, read on every slot, so it also affects players already running).
    Restored on exit. Not for timing tests."""
    old, old_shared = AudioPlayer.DELAY, SharedPlayer.DELAY
    AudioPlayer.DELAY = SharedPlayer.DELAY = delay
    try:
        yield delay
    finally:
        AudioPlayer.DELAY, SharedPlayer.DELAY = old, old_shared


__all__ = [
    "BOT_ID",
    "FakeGateway",
    "bot_voice_channel_id",
    "dispatch_interaction",
    "ensure_opus",
    "fake_gateway",
    "fast_audio_player",
    "invoke",
    "join_voice",
    "leave_voice",
    "make_offline",
    "play_to_end",
]
