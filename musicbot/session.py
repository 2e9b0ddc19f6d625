"""``GuildSession``: one guild's queue + player + voice client, coordinated on the event loop.

Everything here runs on the event loop except the callbacks marked otherwise. The player
thread reports through ``PlayerEvent``s posted with ``call_soon_threadsafe``; the session
answers by asking the queue what comes next and handing the player an open source.

Tokens: every source handed to the player gets a fresh token. ``_current_token`` is the one the
session believes is playing; a TRACK_START for any other token means the player moved on to the
pre-opened next track by itself (gapless), so the queue is advanced then.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import discord

from musicbot.dsp.params import FilterSettings
from musicbot.dsp.settings import parse_filters, settings_to_json
from musicbot.queue import AutoplayEngine, LoopMode, MusicQueue, QueueEntry, autoplay_into
from musicbot.sources.models import Resolved, ResolvedKind
from musicbot.storage.history import PlayOutcome
from musicbot.storage.snapshots import SessionSnapshot, SnapshotEntry
from musicbot.track import Track
from musicbot.voice.client import VoiceClient
from musicbot.voice.player import EndReason, Engine, EventKind, Player, PlayerEvent, TrackStream

log = logging.getLogger(__name__)

KICK_WINDOW_S = 0.5


class TrackResolver(Protocol):
    async def resolve(self, query: str) -> Resolved: ...


class TrackOpener(Protocol):
    """Opens a track for playing; the returned stream is open (``packet_mode`` is known)."""

    async def open(self, track: Track, *, start_s: float = 0.0) -> TrackStream: ...


class StreamTrackOpener:
    """The production ``TrackOpener``: ``sources.stream.StreamOpener`` plus a wait until audio is buffered."""

    def __init__(self, opener: Any, *, ready_timeout_s: float = 15.0) -> None:
        self._opener = opener  # a StreamOpener; Any keeps the import graph of tests light
        self._timeout = ready_timeout_s

    async def open(self, track: Track, *, start_s: float = 0.0) -> TrackStream:
        stream = await self._opener.open(track, start_s=start_s)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        # packet_mode is only known once the first chunk is decoded; the player needs it at start.
        while stream.buffered_frames == 0 and loop.time() < deadline:
            await asyncio.sleep(0.01)
        result: TrackStream = stream
        return result


@dataclass
class SessionSettings:
    """Per-guild voice behaviour. ``idle_leave_s``: seconds alone before leaving; ``always_on``: 24/7 mode;
    ``crossfade_s``: overlap of consecutive tracks, 0–12 s (0 = gapless)."""

    idle_leave_s: float = 120.0
    always_on: bool = False
    connect_timeout_s: float = 10.0
    crossfade_s: float = 0.0


class GuildSession:
    """Create on the event loop. ``announce(text)`` posts a short user-facing line (errors, skips)."""

    def __init__(
        self,
        guild: discord.Guild,
        *,
        resolver: TrackResolver,
        opener: TrackOpener,
        announce: Callable[[str], None] = lambda text: None,
        on_change: Callable[[], None] = lambda: None,
        on_play_end: Callable[[QueueEntry, PlayOutcome, str | None], None] = lambda entry, outcome, reason: None,
        settings: SessionSettings | None = None,
        queue: MusicQueue | None = None,
        engine: Engine | None = None,
    ) -> None:
        self.guild = guild
        self.resolver = resolver
        self.opener = opener
        self.announce = announce
        # Called whenever what a now-playing panel shows may have changed (track start/end, queue, pause).
        self.on_change = on_change
        # Called once when a play ends, with how (the history records it): finished or failed as
        # the player reports it; skipped or stopped when a command ends it (a seek does not).
        self.on_play_end = on_play_end
        self.settings = settings or SessionSettings()
        self.queue = queue or MusicQueue()
        self.player = Player(engine, on_event=self._post_event)
        if self.settings.crossfade_s:
            self.player.set_crossfade(self.settings.crossfade_s)
        # The filters last asked for; the audio thread applies them on its next frame, so commands
        # that merge into the current filters read this, never a possibly stale engine state.
        self._filters = self.player.engine.filters
        self._volume = self.player.engine.volume  # likewise: the volume last asked for (linear)
        # Set by /autoplay (or the guild's autoplay default): asked for tracks when the queue runs out.
        self.autoplay: AutoplayEngine | None = None
        self.voice: discord.VoiceClient | None = None
        self._loop = asyncio.get_running_loop()
        self._tokens = itertools.count(1)
        self._entries: dict[int, QueueEntry] = {}
        self._current_token: int | None = None
        self._preopened: tuple[int, QueueEntry] | None = None
        self._preopen_task: asyncio.Task[None] | None = None
        self._generation = 0  # bumped whenever a pre-open in flight becomes stale
        self._last_end_error = False
        self._player_running = False
        self._voice_removed = False  # the bot was disconnected by someone else: do not rejoin
        self._rejoining = False
        # Resumed paused after a restart: the track is open at its position, and discord.py's
        # player starts only at /resume (starting it paused would send a packet or two first).
        self._held = False
        self._idle_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # ---------------------------------------------------------------- commands
    async def play(self, query: str, requester: discord.Member, *, play_next: bool = False) -> list[QueueEntry]:
        """Resolve, queue, join the requester's channel if needed and start playing."""
        resolved = await self.resolver.resolve(query)
        tracks = resolved.tracks if resolved.kind is ResolvedKind.PLAYLIST else resolved.tracks[:1]
        return await self.enqueue(tracks, requester, play_next=play_next)

    async def enqueue(
        self, tracks: Sequence[Track], requester: discord.Member, *, play_next: bool = False
    ) -> list[QueueEntry]:
        """Queue tracks already resolved (a search pick, a saved playlist) and start playing."""
        if len(tracks) == 1:
            entries = [self.queue.add(tracks[0], requester.id, play_next=play_next)]
        else:
            entries = list(self.queue.add_many(tracks, requester.id, play_next=play_next).added)
        if self.autoplay is not None:
            self.autoplay.reset()  # new material to seed from: try again after earlier misses
        await self.connect(requester)
        if self._current_token is None and self.queue.current is None:
            entry = self.queue.advance()
            if entry is not None:
                await self._start(entry)
        else:
            self.queue_changed()
        return entries

    async def previous(self) -> QueueEntry:
        """Go back to the track that played before this one (raises ``NoPreviousTrackError``)."""
        return await self._jump(self.queue.previous)

    async def replay(self) -> QueueEntry:
        """Restart the current track from the beginning."""
        return await self._jump(self.queue.replay)

    async def skip_to(self, index: int) -> QueueEntry:
        """Jump to the upcoming entry at 1-based ``index``."""
        return await self._jump(lambda: self.queue.skip_to(index))

    async def _jump(self, move: Callable[[], QueueEntry]) -> QueueEntry:
        """Move the queue (which raises when it cannot: then nothing ended) and play where it is;
        what played until now counts as skipped."""
        current = self.queue.current
        entry = move()
        self._end_play(PlayOutcome.SKIPPED, current)
        await self._start(entry)
        return entry

    async def connect(self, requester: discord.Member) -> None:
        """Join the requester's voice channel unless already connected."""
        if self.voice is not None and self.voice.is_connected():
            return
        existing = self.guild.voice_client
        if isinstance(existing, discord.VoiceClient) and existing.is_connected():
            self.voice = existing  # connected before this session existed (or by another path)
            return
        if requester.voice is None or requester.voice.channel is None:
            raise ValueError("the requester is not in a voice channel")
        self.voice = await requester.voice.channel.connect(timeout=self.settings.connect_timeout_s, cls=VoiceClient)
        self._voice_removed = False
        self._check_alone()

    def pause(self) -> None:
        """discord.py sends five silence frames, then stops calling ``read`` until ``resume``."""
        if self.voice is not None:
            self.voice.pause()
        self._notify()

    def resume(self) -> None:
        if self._held:
            self._held = False
            self._ensure_playing()
        elif self.voice is not None:
            self.voice.resume()
        self._notify()

    @property
    def paused(self) -> bool:
        return self.voice is not None and (self._held or self.voice.is_paused())

    async def skip(self) -> QueueEntry | None:
        """The next entry (now playing), or None when the queue ran out."""
        self._end_play(PlayOutcome.SKIPPED)
        entry = self.queue.skip()
        if entry is None:
            self._halt()
            await self.continue_with_autoplay()
            return self.queue.current
        if self._preopened is not None and self._preopened[1].entry_id == entry.entry_id:
            self._current_token, self._preopened = self._preopened[0], None
            self.player.skip()
            self._ensure_playing()
        else:
            await self._start(entry)
        return entry

    async def continue_with_autoplay(self) -> None:
        """The queue ran out: queue what autoplay picks (requester None) and play it.

        Nothing happens when autoplay is off or finds nothing. Picks that arrive after /stop or
        /leave are dropped; picks that arrive after a user's track started stay queued behind it.
        """
        engine = self.autoplay
        if engine is None or self.queue.current is not None:
            return
        generation = self._generation
        added = await autoplay_into(self.queue, engine)
        if generation != self._generation:
            for stale in added:
                position = self.queue.position_of(stale.entry_id)
                if position is not None:
                    self.queue.remove(position)
        elif added and self._current_token is None and self.queue.current is None:
            await self._start(self.queue.advance())
        elif added:
            self.queue_changed()
        if self.queue.current is None:
            self._notify()  # autoplay found nothing (or came too late): nothing plays now

    async def seek(self, seconds: float) -> None:
        """Reopen the current track at ``seconds`` and replace the playing source with it."""
        entry = self.queue.current
        if entry is None:
            raise ValueError("nothing is playing")
        stream = await self.opener.open(entry.track, start_s=max(0.0, seconds))
        self._hand_over(entry, stream, max(0.0, seconds))

    def stop(self) -> None:
        """Clear the queue and end the current track; stay connected."""
        self._end_play(PlayOutcome.STOPPED)
        self.queue.stop()
        self._halt()
        if self.voice is not None and self.voice.is_paused():
            # discord.py's player would stay paused with nothing to play, and the next /play would
            # queue its track behind a player that never reads again (issue 14, item 2).
            self.voice.resume()

    # ---------------------------------------------------------------- snapshots (restart)
    def snapshot(self) -> SessionSnapshot | None:
        """What a restart needs to carry on, or None when there is nothing to carry on (not in
        voice). Text channel and panel are the bot's to fill in."""
        channel = self.voice.channel if self.voice is not None and self.voice.is_connected() else None
        if channel is None:
            return None
        current = self.queue.current
        return SessionSnapshot(
            guild_id=self.guild.id,
            voice_channel_id=channel.id,
            queue=tuple(_snapshot_entry(e) for e in self.queue.upcoming),
            current=None if current is None else _snapshot_entry(current),
            position_s=self.position_s if current is not None else 0.0,
            history=tuple(_snapshot_entry(e) for e in self.queue.history),
            filters=settings_to_json(self._filters),
            loop_mode=self.queue.loop,
            volume=round(self._volume * 100),
            autoplay=self.autoplay is not None,
            autoplay_mode=self.autoplay.mode.value if self.autoplay is not None else None,
            paused=self.paused,
            crossfade_s=self.settings.crossfade_s,
        )

    async def restore(self, snapshot: SessionSnapshot, channel: discord.abc.Connectable) -> None:
        """Carry on where ``snapshot`` left off: queue, history, loop, filters, volume and
        crossfade as they were, then join ``channel`` and play the current track from its
        position (held, not playing, if it was paused). A track that no longer opens is skipped
        with a message, like any other. Autoplay is the caller's (it needs a recommender)."""
        self.queue.loop = snapshot.loop_mode
        self.queue.restore(
            None if snapshot.current is None else _queued(snapshot.current),
            [_queued(e) for e in snapshot.queue],
            [_queued(e) for e in snapshot.history],
        )
        self.set_filters(parse_filters(snapshot.filters))
        self.set_volume(snapshot.volume / 100)
        if snapshot.crossfade_s != self.settings.crossfade_s:
            self.set_crossfade(snapshot.crossfade_s)
        self.voice = await channel.connect(timeout=self.settings.connect_timeout_s, cls=VoiceClient)
        self._voice_removed = False
        self._check_alone()
        self._held = snapshot.paused
        if self.queue.current is not None:
            await self._start(self.queue.current, start_s=snapshot.position_s)
        else:
            self._notify()

    def set_filters(self, settings: FilterSettings) -> None:
        self._filters = settings
        self.player.set_filters(settings)
        self._notify()  # the now-playing panel shows the active filters

    @property
    def filters(self) -> FilterSettings:
        """The filters last set (heard from the next frame on)."""
        return self._filters

    def set_volume(self, volume: float) -> None:
        self.player.set_volume(volume)
        self._volume = volume
        self._notify()  # the now-playing panel shows the volume

    @property
    def volume(self) -> float:
        """The player volume last set, linear 0.0–2.0 (heard from the next frame on)."""
        return self._volume

    def set_normalization(self, enabled: bool, target_lufs: float | None = None) -> None:
        self.player.set_normalization(enabled, target_lufs)

    def set_crossfade(self, seconds: float) -> None:
        """Overlap of consecutive tracks, 0–12 s (``ValueError`` outside); 0 is gapless. The next
        track is pre-opened when the current one starts, so any length up to 12 s has it ready."""
        self.player.set_crossfade(seconds)
        self.settings.crossfade_s = seconds

    @property
    def position_s(self) -> float:
        return self.player.position_s

    def queue_changed(self) -> None:
        """Call after editing the queue: a pre-opened next track that is no longer next is dropped."""
        self._notify()
        want = self._peek_next()
        if self._preopened is not None:
            if want is not None and self._preopened[1].entry_id == want.entry_id:
                return
            self.player.queue_next(None)
            self._preopened = None
        if self._preopen_task is not None and not self._preopen_task.done():
            self._generation += 1
        if self._current_token is not None:
            self._spawn_preopen()

    async def disconnect(self) -> None:
        """Stop and leave the voice channel (the queue is cleared)."""
        self._end_play(PlayOutcome.STOPPED)
        self.queue.stop()
        self._halt()
        if self._idle_task is not None:
            self._idle_task.cancel()
            self._idle_task = None
        if self.voice is not None:
            voice, self.voice = self.voice, None
            await voice.disconnect(force=True)
        self._player_running = False
        self.player.discard_pending()
        self._notify()  # out of voice now: nothing to resume

    # ---------------------------------------------------------------- listeners (event loop)
    def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        """Wire to the client's ``on_voice_state_update``; starts or cancels the idle-leave timer."""
        if member.guild.id == self.guild.id:
            me = self.guild.me
            if me is not None and member.id == me.id and before.channel is not None and after.channel is None:
                # Out of the channel while audio was still flowing (or paused): someone disconnected
                # the bot, which must not rejoin. After a voice server crash that discord.py could
                # not resume, nothing has been sent for its whole connect timeout (_on_player_stopped).
                self._voice_removed = self.paused or self.player.seconds_since_read < KICK_WINDOW_S
            self._check_alone()

    def _check_alone(self) -> None:
        channel = self.voice.channel if self.voice is not None else None
        me = self.guild.me.id if self.guild.me is not None else None
        alone = channel is not None and not any(not m.bot and m.id != me for m in channel.members)
        if not alone or self.settings.always_on:
            if self._idle_task is not None:
                self._idle_task.cancel()
                self._idle_task = None
        elif self._idle_task is None:
            self._idle_task = asyncio.create_task(self._leave_when_idle())

    async def _leave_when_idle(self) -> None:
        await asyncio.sleep(self.settings.idle_leave_s)
        self._idle_task = None
        self.announce("Left the voice channel: nobody is listening.")
        await self.disconnect()

    # ---------------------------------------------------------------- playback plumbing
    async def _start(self, entry: QueueEntry | None, start_s: float = 0.0) -> None:
        """Open ``entry`` and play it now; entries that fail to open are skipped with a message."""
        while entry is not None:
            try:
                stream = await self.opener.open(entry.track, start_s=start_s)
            except Exception as error:
                self.announce(f"Skipped {entry.track.display_name}: {error}")
                entry = self.queue.skip()
                start_s = 0.0
                continue
            if self.queue.current is None or self.queue.current.entry_id != entry.entry_id:
                stream.close()  # the queue moved on while this one opened
                return
            self._hand_over(entry, stream, start_s)
            return
        self._halt()

    def _hand_over(self, entry: QueueEntry, stream: TrackStream, start_s: float) -> None:
        token = next(self._tokens)
        self._entries[token] = entry
        self._current_token = token
        self.player.play(stream, token, start_s)
        self._ensure_playing()

    def _halt(self) -> None:
        self._held = False
        self._current_token = None
        self._preopened = None
        self._generation += 1
        self.player.stop()
        self._notify()

    def _ensure_playing(self) -> None:
        voice = self.voice
        if voice is None or not voice.is_connected() or self._player_running or voice.is_playing() or self._held:
            return  # a player that is still finishing restarts from _on_player_stopped
        self._player_running = True
        voice.play(self.player, after=self._after_player)

    def _after_player(self, error: Exception | None) -> None:
        """Player thread: discord.py's player stopped (nothing left, stop(), or disconnect)."""
        if error is not None:
            log.error("voice player failed: %r", error, exc_info=error)
        self._loop.call_soon_threadsafe(self._on_player_stopped)

    def _on_player_stopped(self) -> None:
        self._player_running = False
        voice = self.voice
        if voice is not None and not voice.is_connected() and self.queue.current is not None:
            if not self._voice_removed and not self._rejoining:
                self._spawn(self._rejoin())
        elif self.player.has_pending:
            self._ensure_playing()

    async def _rejoin(self) -> None:
        """discord.py gave up on a voice connection nobody closed (it could not resume after the
        voice server crashed, close code 4015): join the channel again and go on from the position
        the track was at. (A region move or a resume that works never gets here: discord.py keeps
        its player waiting and carries on by itself.)"""
        voice, entry = self.voice, self.queue.current
        if voice is None or entry is None:
            return
        channel, position = voice.channel, self.player.position_s
        self._rejoining = True
        try:
            with contextlib.suppress(Exception):
                await voice.disconnect(force=True)
            self.voice = await channel.connect(timeout=self.settings.connect_timeout_s, cls=VoiceClient)
        except Exception as error:
            self.voice = None
            self.announce(f"Lost the voice connection and could not rejoin: {error}")
            return
        finally:
            self._rejoining = False
        self._preopened = None  # the player closed its sources when discord.py's player stopped
        self._generation += 1
        await self._start(entry, start_s=position)

    def _peek_next(self) -> QueueEntry | None:
        current, upcoming = self.queue.current, self.queue.upcoming
        if current is not None and self.queue.loop is LoopMode.TRACK:
            return current
        if upcoming:
            return upcoming[0]
        return current if self.queue.loop is LoopMode.QUEUE else None

    async def _preopen_next(self) -> None:
        entry = self._peek_next()
        if entry is None or self._preopened is not None:
            return
        generation = self._generation
        try:
            stream = await self.opener.open(entry.track)
        except Exception as error:
            if generation != self._generation:
                return
            position = self.queue.position_of(entry.entry_id)
            if position is not None:
                # Drop it now, so the track after it can still follow the current one gaplessly.
                self.queue.remove(position)
                self.announce(f"Skipped {entry.track.display_name}: {error}")
            if self._current_token is None:
                await self._start(self.queue.skip() if self._last_end_error else self.queue.advance())
            elif position is not None:
                await self._preopen_next()
            return
        if generation != self._generation or self._preopened is not None:
            stream.close()
            return
        token = next(self._tokens)
        self._entries[token] = entry
        self._preopened = (token, entry)
        self.player.queue_next(stream, token)
        self._ensure_playing()

    def _end_play(self, outcome: PlayOutcome, entry: QueueEntry | None = None) -> None:
        """A command ends what plays now (``entry``: the queue's current one unless given). Its
        source's own end (REPLACED, STOPPED) comes later and is not reported again."""
        entry = entry or self.queue.current
        if entry is not None and self._current_token is not None:
            self._report_end(entry, outcome)

    def _report_end(self, entry: QueueEntry, outcome: PlayOutcome, reason: str | None = None) -> None:
        try:
            self.on_play_end(entry, outcome, reason)
        except Exception:  # the history must never stop playback
            log.exception("play end listener failed")

    def _notify(self) -> None:
        try:
            self.on_change()
        except Exception:  # a broken panel must never stop playback
            log.exception("session change listener failed")

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)  # keep a reference: the loop holds tasks only weakly
        task.add_done_callback(self._tasks.discard)
        return task

    def _spawn_preopen(self) -> None:
        self._preopen_task = self._spawn(self._preopen_next())

    # ---------------------------------------------------------------- player events
    def _post_event(self, event: PlayerEvent) -> None:
        """Player thread."""
        self._loop.call_soon_threadsafe(self._on_event, event)

    def _on_event(self, event: PlayerEvent) -> None:
        entry = self._entries.get(event.token)
        if event.kind is EventKind.TRACK_ERROR:
            name = entry.track.display_name if entry is not None else "the track"
            self.announce(f"Skipped {name}: {event.message}")
        elif event.kind is EventKind.TRACK_START:
            self._on_track_start(event.token)
        elif event.kind is EventKind.TRACK_END:
            self._entries.pop(event.token, None)
            if entry is not None and event.reason is EndReason.FINISHED:
                self._report_end(entry, PlayOutcome.FINISHED)
            elif entry is not None and event.reason is EndReason.ERROR:
                self._report_end(entry, PlayOutcome.FAILED, event.message)
            if self._preopened is not None and event.token == self._preopened[0]:
                # The player dropped the pre-opened track half faded in (play/seek/stop during a
                # crossfade): it cannot restart from its beginning, so open it again.
                self._preopened = None
                if self._current_token is not None:
                    self._spawn_preopen()
            if event.token == self._current_token and event.reason in (EndReason.FINISHED, EndReason.ERROR):
                self._on_track_finished(event.reason is EndReason.ERROR)

    def _on_track_start(self, token: int) -> None:
        self._notify()
        if self._current_token is not None and token < self._current_token:
            return  # a source a later command already replaced (skip, then previous at once): stale
        if token == self._current_token:
            self._spawn_preopen()
            return
        # The player promoted a pre-opened source by itself: the last track ended.
        expected = self._entries.get(token)
        if self._preopened is not None and self._preopened[0] == token:
            self._preopened = None
        self._current_token = token
        entry = self.queue.skip() if self._last_end_error else self.queue.advance()
        self._last_end_error = False
        if entry is None:
            self._halt()
        elif expected is None or expected.entry_id != entry.entry_id:
            self._spawn(self._start(entry))  # the queue changed after the pre-open
        else:
            self._spawn_preopen()

    def _on_track_finished(self, error: bool) -> None:
        self._current_token = None
        self._last_end_error = error
        if self._preopened is not None or (self._preopen_task is not None and not self._preopen_task.done()):
            return  # the pre-opened track takes over (TRACK_START follows)
        entry = self.queue.skip() if error else self.queue.advance()
        self._last_end_error = False
        if entry is not None:
            self._spawn(self._start(entry))
        elif self.autoplay is not None:
            self._spawn(self.continue_with_autoplay())
        else:
            self._notify()  # the queue ran out: nothing plays now


def _snapshot_entry(entry: QueueEntry) -> SnapshotEntry:
    return SnapshotEntry(entry.track, entry.requester_id, entry.autoplay)


def _queued(entry: SnapshotEntry) -> tuple[Track, int | None, bool]:
    return entry.track, entry.requester_id, entry.autoplay
