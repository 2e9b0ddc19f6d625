"""``VoiceLink``: one guild's voice connection, for its ``GuildSession`` (event loop).

It joins and leaves (one at a time per guild: two ``/play`` within a few milliseconds used to
both pass an "already connected?" check and then both connect), starts, pauses and ends
discord.py's player, rejoins when a connection ended without anyone closing it, and keeps the
idle timers: leave when nobody listens for ``idle_leave_s``, leave when the queue ended and
nothing played for ``ended_leave_s`` (neither in 24/7), and tell the session when the channel
empties and fills again (``on_alone``: it pauses and resumes when the guild asks for that).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import discord

from musicbot.errors import MusicBotError
from musicbot.i18n import lazy
from musicbot.voice.client import VoiceClient
from musicbot.voice.player import Player

log = logging.getLogger(__name__)

# Out of the channel while audio flowed until this recently: someone disconnected the bot.
KICK_WINDOW_S = 0.5


@dataclass
class SessionSettings:
    """Per-guild voice behaviour. ``idle_leave_s``: seconds alone before leaving; ``ended_leave_s``:
    seconds after the queue ended (nothing playing) before leaving; ``always_on``: 24/7 mode, which
    never leaves by itself; ``pause_when_alone``: pause when the last listener leaves and resume
    when one comes back; ``crossfade_s``: overlap of consecutive tracks, 0–12 s (0 = gapless)."""

    idle_leave_s: float = 120.0
    always_on: bool = False
    connect_timeout_s: float = 10.0
    crossfade_s: float = 0.0
    ended_leave_s: float = 300.0
    pause_when_alone: bool = False


class _PlayerRun(discord.AudioSource):
    """One playing of the ``Player`` by discord.py. discord.py cleans up its source when its
    thread finishes, which under load comes after the session ended that run (/stop while paused)
    and handed the next track over: that cleanup would close the new track and nothing would be
    heard. A run the session ended itself is ``detached`` first; its cleanup is then a no-op (the
    session's own stop command closes the old sources)."""

    def __init__(self, player: Player) -> None:
        self.player = player
        self.detached = False

    def read(self) -> bytes:
        return self.player.read()

    def poll_packet(self, timeout: float) -> bytes | None:  # voice/sender.py's PollingSource
        return self.player.poll_packet(timeout)

    def is_opus(self) -> bool:
        return self.player.is_opus()

    def after_send(self) -> None:  # voice/client.py's SendListener
        self.player.after_send()

    def cleanup(self) -> None:
        if not self.detached:
            self.player.cleanup()


class JoinAbortedError(MusicBotError):
    """A join or rejoin still in flight when the session left voice (``/leave``, shutdown)."""

    def __init__(self) -> None:
        super().__init__(lazy("I left the voice channel while joining it. Run the command again to bring me back."))


LEFT_ALONE = lazy("Left the voice channel: nobody is listening.")
LEFT_ENDED = lazy("Left the voice channel: the queue ended and nothing played for a while.")


class VoiceLink:
    """Create on the event loop. ``on_player_stopped`` runs on the loop when discord.py's player
    ended; ``on_timeout(text)`` when an idle timer ran out (the session leaves and says ``text``);
    ``on_alone(alone)`` when the listeners went or came back."""

    def __init__(
        self,
        guild: discord.Guild,
        settings: SessionSettings,
        player: Player,
        *,
        on_player_stopped: Callable[[], None],
        on_timeout: Callable[[str], Awaitable[None]],
        on_alone: Callable[[bool], None],
    ) -> None:
        self.guild = guild
        self.settings = settings
        self.player = player
        self.voice: discord.VoiceClient | None = None
        # Disconnected by someone else (a moderator, the channel deleted): never rejoin then.
        self.removed = False
        self._on_player_stopped = on_player_stopped
        self._on_timeout = on_timeout
        self._on_alone = on_alone
        self._loop = asyncio.get_running_loop()
        self._lock = asyncio.Lock()  # join, leave and rejoin one at a time
        # The connect in flight: leaving cancels it rather than waiting out its timeout behind the lock.
        self._connecting: asyncio.Future[VoiceClient] | None = None
        self._running = False  # discord.py's player runs (until its after-callback reached the loop)
        self._run: _PlayerRun | None = None
        self._rejoining = False
        self._left = False  # left on purpose (leave()): a connection that ends now is not lost
        self._alone = False
        self._alone_timer: asyncio.Task[None] | None = None
        self._ended_timer: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self.voice is not None and self.voice.is_connected()

    @property
    def channel(self) -> discord.abc.Connectable | None:
        return self.voice.channel if self.voice is not None else None

    # ---------------------------------------------------------------- joining and leaving
    async def join(self, channel: discord.abc.Connectable) -> None:
        """Connect to ``channel`` unless already connected (then nothing changes)."""
        async with self._lock:
            if self.connected:
                return
            existing = self.guild.voice_client
            if isinstance(existing, discord.VoiceClient) and existing.is_connected():
                self.voice = existing  # connected before this session existed (or by another path)
            else:
                self.voice = await self._connect(channel)
            self.removed = False
            self._left = False
        self.check_alone()

    async def _connect(self, channel: discord.abc.Connectable) -> VoiceClient:
        """``channel.connect``, cancellable by ``leave`` (then ``JoinAbortedError``)."""
        connecting = asyncio.ensure_future(channel.connect(timeout=self.settings.connect_timeout_s, cls=VoiceClient))
        self._connecting = connecting
        try:
            return await connecting
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if connecting.cancelled() and (current is None or not current.cancelling()):
                raise JoinAbortedError() from None  # leave() cut it short, not our caller
            raise
        finally:
            self._connecting = None

    async def leave(self) -> None:
        """Disconnect and end discord.py's player; the timers stop. A join in flight is abandoned."""
        self._cancel_timers()
        self._left = True
        if self._connecting is not None:
            self._connecting.cancel()
        async with self._lock:
            voice, self.voice = self.voice, None
            # Disconnected by someone else: discord.py ends that connection by itself. Disconnecting
            # it again would wait its whole timeout for a confirmation that is routed to no one.
            if voice is not None and not self.removed and self.guild.voice_client is voice:
                await voice.disconnect(force=True)
        self._running = False
        self.player.discard_pending()

    async def rejoin(self) -> bool:
        """Join the same channel again after discord.py gave up on the connection; False (and out
        of voice) when that failed."""
        voice = self.voice
        if voice is None or self._rejoining or self._left:
            return False
        channel = voice.channel
        self._rejoining = True
        try:
            async with self._lock:
                if self._left or self.removed or self.voice is not voice:
                    return False  # left, removed or joined afresh while waiting for the lock
                with contextlib.suppress(Exception):
                    await voice.disconnect(force=True)
                self.voice = await self._connect(channel)
            return True
        except Exception:
            self.voice = None
            raise
        finally:
            self._rejoining = False

    @property
    def lost(self) -> bool:
        """discord.py's player ended with the connection, and nobody closed it: rejoin."""
        voice = self.voice
        return (voice is not None and not voice.is_connected() and not self.removed and not self._rejoining
                and not self._left)

    # ---------------------------------------------------------------- discord.py's player
    def start_player(self) -> None:
        """Have discord.py read the ``Player`` (no-op while it already does, or out of voice). A
        player still finishing restarts from ``on_player_stopped``, which sees commands pending."""
        voice = self.voice
        if voice is None or not voice.is_connected() or self._running or voice.is_playing():
            return
        self._running = True
        self._run = _PlayerRun(self.player)
        voice.play(self._run, after=self._after_player)

    def pause_player(self) -> None:
        """discord.py sends five silence frames, then stops calling ``read`` until resumed."""
        if self.voice is not None:
            self.voice.pause()

    def resume_player(self) -> None:
        if self.voice is not None:
            self.voice.resume()

    def end_player(self) -> None:
        """End discord.py's player (paused or not): the next track starts a fresh one."""
        if self.voice is not None and self._running:
            if self._run is not None:
                self._run.detached = True
            self.voice.stop()

    def _after_player(self, error: Exception | None) -> None:
        """discord.py's player thread: its player ended (source done, stop(), or disconnect)."""
        if error is not None:
            log.error("voice player failed: %r", error, exc_info=error)
        self._loop.call_soon_threadsafe(self._player_stopped)

    def _player_stopped(self) -> None:
        self._running = False
        self._on_player_stopped()

    # ---------------------------------------------------------------- listeners and timers
    def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState, *, quiet: bool
    ) -> None:
        """``quiet``: nothing is meant to be sent now (idle, paused, held)."""
        me = self.guild.me
        if me is not None and member.id == me.id and before.channel is not None and after.channel is None:
            voice = self.voice
            lost = isinstance(voice, VoiceClient) and voice.lost
            # Out of the channel while quiet or while audio was still flowing, with no failed
            # resume reported: someone disconnected the bot, which must not rejoin.
            self.removed = not lost and (quiet or self.player.seconds_since_read < KICK_WINDOW_S)
        self.check_alone()

    def check_alone(self) -> None:
        channel = self.channel
        me = self.guild.me.id if self.guild.me is not None else None
        alone = channel is not None and not any(
            not m.bot and m.id != me for m in getattr(channel, "members", ()))
        if alone != self._alone:
            self._alone = alone
            self._on_alone(alone)
        if not alone or self.settings.always_on:
            self._alone_timer = _cancel(self._alone_timer)
        elif self._alone_timer is None:
            self._alone_timer = asyncio.create_task(self._leave_after(self.settings.idle_leave_s, LEFT_ALONE, "alone"))

    @property
    def alone(self) -> bool:
        return self._alone

    def set_ended(self, ended: bool) -> None:
        """The queue ended and nothing plays (True), or something plays again (False)."""
        if not ended or self.settings.always_on or not self.connected:
            self._ended_timer = _cancel(self._ended_timer)
        elif self._ended_timer is None:
            self._ended_timer = asyncio.create_task(
                self._leave_after(self.settings.ended_leave_s, LEFT_ENDED, "ended"))

    def restart_timers(self, *, ended: bool) -> None:
        """The settings changed: both timers start again under them (24/7 turned on stops them)."""
        self._alone_timer = _cancel(self._alone_timer)
        self._ended_timer = _cancel(self._ended_timer)
        self.check_alone()
        self.set_ended(ended)

    async def _leave_after(self, seconds: float, text: str, which: str) -> None:
        await asyncio.sleep(seconds)
        # Forget this timer before leaving: leaving cancels the timers, and must not cancel itself.
        if which == "alone":
            self._alone_timer = None
        else:
            self._ended_timer = None
        await self._on_timeout(text)

    def _cancel_timers(self) -> None:
        self._alone_timer = _cancel(self._alone_timer)
        self._ended_timer = _cancel(self._ended_timer)
        self._alone = False


def _cancel(task: asyncio.Task[None] | None) -> asyncio.Task[None] | None:
    """Cancel ``task`` (unless it is the caller: a timer that runs out leaves); no timer after."""
    if task is not None and task is not asyncio.current_task():
        task.cancel()
    return None
