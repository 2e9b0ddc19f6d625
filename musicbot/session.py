"""``GuildSession``: one guild's queue + player + voice link, coordinated on the event loop.

What the session does is one value, ``state`` (``session_state.PlayState``), changed only by
``_become``, which also moves discord.py's player along (pause, resume, end). The voice
connection, its idle timers and rejoining live in ``session_voice.VoiceLink``; following the
player (track starts and ends, opening the next track ahead) in ``session_playback.Playback``.
Every change of the queue from outside goes through a method here, so the track opened ahead is
always the one that plays next.

Listeners: ``on_change`` (anything a now-playing panel shows), ``on_play_start(entry)`` and
``on_play_end(entry, outcome, reason)``: once per play each (a seek or a rejoin continues a play;
a replay or a loop of the same track is a new one); ``on_lyric_line``: the synced lyric line sung
now changed (``session_lyrics.py``).

Outside services (``lookups``): a YouTube track's SponsorBlock segments are skipped inside the audio
path (``session_skips.py``), and users' positions and lengths (``played_s``, ``length_s``, ``seek``)
are on the clock of what is heard, skipped stretches not counted.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence

import discord

from musicbot.dsp.params import FilterSettings
from musicbot.dsp.settings import parse_filters
from musicbot.lookups import Lookups
from musicbot.queue import AutoplayEngine, LoopMode, MusicQueue, QueueEntry, autoplay_into
from musicbot.session_lyrics import LyricsFollower
from musicbot.session_playback import Playback
from musicbot.session_requester import NotInVoiceForOutsideError, OutsideRequester, Requester, credited
from musicbot.session_skips import SegmentSkipper
from musicbot.session_snapshot import queued, take_snapshot
from musicbot.session_sources import StreamTrackOpener, TrackOpener, TrackResolver
from musicbot.session_state import PlayState, TransitionError
from musicbot.session_voice import SessionSettings, VoiceLink
from musicbot.sources.models import ResolvedKind
from musicbot.storage.history import PlayOutcome
from musicbot.storage.snapshots import SessionSnapshot
from musicbot.track import Track
from musicbot.voice.player import Player
from musicbot.voice.render_client import RenderClient

__all__ = ["GuildSession", "PlayState", "SessionSettings", "StreamTrackOpener", "TrackOpener", "TrackResolver"]

log = logging.getLogger(__name__)


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
        on_play_start: Callable[[QueueEntry], None] = lambda entry: None,
        on_play_end: Callable[[QueueEntry, PlayOutcome, str | None], None] = lambda entry, outcome, reason: None,
        on_left: Callable[[], None] = lambda: None,
        settings: SessionSettings | None = None,
        queue: MusicQueue | None = None,
        engine: RenderClient | None = None,
        lookups: Lookups | None = None,
        on_lyric_line: Callable[[], None] = lambda: None,
    ) -> None:
        self.guild = guild
        self.resolver = resolver
        self.announce = announce
        self.on_change = on_change
        self.on_play_start = on_play_start
        self.on_play_end = on_play_end
        self.on_left = on_left  # out of voice for good (/leave, idle, kicked): the owner frees the session
        self.settings = settings or SessionSettings()
        self.queue = queue or MusicQueue()
        self.state = PlayState.IDLE
        self.playback = Playback(self, opener)
        self.player = Player(engine, on_event=self.playback.post_event)
        if self.settings.crossfade_s:
            self.player.set_crossfade(self.settings.crossfade_s)
        self.link = VoiceLink(guild, self.settings, self.player, on_player_stopped=self.playback.player_stopped,
                              on_timeout=self._leave_idle, on_alone=self._on_alone)
        # The filters and volume last asked for; the audio thread applies them on its next frame,
        # so commands that merge into them read these, never a possibly stale engine state.
        self._filters = self.player.engine.filters
        self._volume = self.player.engine.volume
        # Set by /autoplay (or the guild's autoplay default): asked for tracks when the queue runs out.
        self.autoplay: AutoplayEngine | None = None
        self._paused_for_alone = False
        lookups = lookups or Lookups()
        self.skips = SegmentSkipper(self, lookups.segments)
        self.lyrics = LyricsFollower(self, lookups.lyrics, on_lyric_line)

    @property
    def voice(self) -> discord.VoiceClient | None:
        return self.link.voice

    @property
    def opener(self) -> TrackOpener:
        return self.playback.opener

    @opener.setter
    def opener(self, opener: TrackOpener) -> None:
        self.playback.opener = opener

    # ---------------------------------------------------------------- state
    def _become(self, new: PlayState) -> None:
        """The one place the state changes; discord.py's player follows it."""
        old = self.state
        if old is new:
            return
        if not old.can_become(new):
            raise TransitionError(old, new)
        self.state = new
        if new is PlayState.PAUSED:
            self.link.pause_player()
        elif old is PlayState.PAUSED and new is PlayState.PLAYING:
            self.link.resume_player()
        elif old is PlayState.PAUSED:  # → IDLE: a paused discord.py player would never read the next track
            self.link.end_player()
        elif old is PlayState.HELD and new is PlayState.PLAYING:
            self.playback.ensure_playing()
        if new is not PlayState.PAUSED:
            self._paused_for_alone = False
        self.link.set_ended(new is PlayState.IDLE)
        self._notify()

    @property
    def paused(self) -> bool:
        return self.state.paused

    # ---------------------------------------------------------------- commands
    async def play(self, query: str, requester: Requester, *, play_next: bool = False) -> list[QueueEntry]:
        """Resolve, queue, join the requester's channel if needed and start playing. Someone outside
        Discord (``OutsideRequester``) is refused before anything is resolved when the bot is in no
        voice channel (``NotInVoiceForOutsideError``)."""
        self._check_can_reach(requester)
        resolved = await self.resolver.resolve(query)
        tracks = resolved.tracks if resolved.kind is ResolvedKind.PLAYLIST else resolved.tracks[:1]
        return await self.enqueue(tracks, requester, play_next=play_next)

    async def enqueue(
        self, tracks: Sequence[Track], requester: Requester, *, play_next: bool = False
    ) -> list[QueueEntry]:
        """Queue tracks already resolved (a search pick, a saved playlist) and start playing."""
        self._check_can_reach(requester)
        # Autoplay's pick for after the current track was only a stand-in: what a user asks for comes first.
        for stale in [e for e in self.queue.upcoming if e.autoplay]:
            self._drop(stale)
        requester_id, requester_name = credited(requester)
        if len(tracks) == 1:
            entries = [self.queue.add(tracks[0], requester_id, play_next=play_next, requester_name=requester_name)]
        else:
            entries = list(self.queue.add_many(tracks, requester_id, play_next=play_next,
                                               requester_name=requester_name).added)
        if self.autoplay is not None:
            self.autoplay.reset()  # new material to seed from: try again after earlier misses
        await self.connect(requester)
        if self.state is PlayState.IDLE and self.queue.current is None:
            entry = self.queue.advance()
            if entry is not None:
                await self.playback.start(entry)
        else:
            self._queue_changed()
        return entries

    def _check_can_reach(self, requester: Requester) -> None:
        if isinstance(requester, OutsideRequester) and not self.link.connected:
            raise NotInVoiceForOutsideError(requester.via)

    async def connect(self, requester: Requester) -> None:
        """Join the requester's voice channel unless already connected."""
        if self.link.connected:
            return
        if isinstance(requester, OutsideRequester):
            raise NotInVoiceForOutsideError(requester.via)
        if requester.voice is None or requester.voice.channel is None:
            raise ValueError("the requester is not in a voice channel")
        await self.link.join(requester.voice.channel)
        if self.state is PlayState.IDLE:
            self.link.set_ended(True)  # joined with nothing to play: the same wait as after the queue ended

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
        self.playback.end_play(PlayOutcome.SKIPPED, current)
        await self.playback.start(entry)
        return entry

    def pause(self) -> None:
        if self.state is PlayState.PLAYING:
            self._become(PlayState.PAUSED)

    def resume(self) -> None:
        if self.state.paused:
            self._become(PlayState.PLAYING)

    async def skip(self) -> QueueEntry | None:
        """The next entry (now playing), or None when the queue ran out."""
        self.playback.end_play(PlayOutcome.SKIPPED)
        entry = self.queue.skip()
        if entry is None:
            self.halt()
            await self.continue_with_autoplay()
            return self.queue.current
        await self.playback.skip_to(entry)
        return entry

    async def continue_with_autoplay(self) -> None:
        """The queue ran out: queue what autoplay picks (requester None) and play it.

        Nothing happens when autoplay is off or finds nothing. Picks that arrive after /stop or
        /leave are dropped; picks that arrive after a user's track started stay queued behind it.
        """
        engine = self.autoplay
        if engine is None or self.queue.current is not None:
            return
        generation = self.playback.generation
        added = await autoplay_into(self.queue, engine)
        if generation != self.playback.generation:
            for stale in added:
                self._drop(stale)
        elif added and self.state is PlayState.IDLE and self.queue.current is None:
            await self.playback.start(self.queue.advance())
        elif added:
            self._queue_changed()
        if self.queue.current is None:
            self._become(PlayState.IDLE)
            self._notify()  # autoplay found nothing (or came too late): nothing plays now

    async def seek(self, seconds: float) -> None:
        """Reopen the current track at ``seconds`` on the users' clock (``played_s``: skipped
        stretches not counted) and replace the playing source with it."""
        entry = self.queue.current
        if entry is None:
            raise ValueError("nothing is playing")
        plan = self.skips.plan_of(self.playback.current)
        heard = max(0.0, seconds)
        await self.playback.reopen(entry, plan.source_s(heard) if plan is not None else heard)

    def stop(self) -> None:
        """Clear the queue and end the current track; stay connected."""
        self.playback.end_play(PlayOutcome.STOPPED)
        self.queue.stop()
        self.halt()

    def halt(self, *, stop_player: bool = True) -> None:
        """Nothing plays from here on (the queue is the caller's)."""
        self.playback.halt(stop_player=stop_player)
        self._become(PlayState.IDLE)
        self._notify()

    async def disconnect(self) -> None:
        """Stop and leave the voice channel (the queue is cleared); the owner frees the session."""
        self.stop()
        await self.link.leave()
        self._notify()  # out of voice now: nothing to resume
        self.on_left()

    def close(self) -> None:
        """Free what outlives the voice connection: the engine's render-worker connection."""
        self.lyrics.close()
        self.player.engine.close()

    # ---------------------------------------------------------------- queue edits (bot commands)
    def remove(self, entry_id: int) -> QueueEntry | None:
        """Remove the upcoming entry ``entry_id``; None when it is no longer queued."""
        position = self.queue.position_of(entry_id)
        if position is None:
            return None
        entry = self.queue.remove(position)
        self._queue_changed()
        return entry

    def move(self, source: int, destination: int) -> QueueEntry:
        entry = self.queue.move(source, destination)
        self._queue_changed()
        return entry

    def swap(self, first: int, second: int) -> tuple[QueueEntry, QueueEntry]:
        pair = self.queue.swap(first, second)
        self._queue_changed()
        return pair

    def shuffle(self, rng: random.Random) -> int:
        """Shuffle the upcoming entries; how many there were."""
        self.queue.shuffle(rng)
        self._queue_changed()
        return len(self.queue.upcoming)

    def clear(self) -> list[QueueEntry]:
        removed = self.queue.clear()
        self._queue_changed()
        return removed

    def add_entry(self, track: Track, requester_id: int | None, *, autoplay: bool = False) -> QueueEntry:
        """Queue one track without starting anything (autoplay's picks, tests)."""
        entry = self.queue.add(track, requester_id, autoplay=autoplay)
        self._queue_changed()
        return entry

    def set_loop(self, mode: LoopMode) -> None:
        self.queue.loop = mode  # what plays next (and is opened ahead) depends on the loop mode
        self._queue_changed()

    def set_autoplay(self, engine: AutoplayEngine | None) -> None:
        """Autoplay on (with ``engine``) or off; its picks are opened ahead like any next track."""
        self.autoplay = engine
        if engine is None:
            for stale in [e for e in self.queue.upcoming if e.autoplay]:
                self._drop(stale)  # picked ahead for a mode that is off now
        self._queue_changed()

    def _drop(self, entry: QueueEntry) -> None:
        position = self.queue.position_of(entry.entry_id)
        if position is not None:
            self.queue.remove(position)

    def _queue_changed(self) -> None:
        self._notify()
        self.playback.next_may_have_changed()

    # ---------------------------------------------------------------- snapshots (restart)
    def snapshot(self) -> SessionSnapshot | None:
        """What a restart needs to carry on, or None when there is nothing to carry on (not in
        voice). Text channel and panel are the bot's to fill in."""
        return take_snapshot(self)

    async def restore(self, snapshot: SessionSnapshot, channel: discord.abc.Connectable) -> None:
        """Carry on where ``snapshot`` left off: queue, history, loop, filters, volume and
        crossfade as they were, then join ``channel`` and play the current track from its
        position (held, not playing, if it was paused). A track that no longer opens is skipped
        with a message, like any other. Autoplay is the caller's (it needs a recommender)."""
        self.queue.loop = snapshot.loop_mode
        self.queue.restore(
            None if snapshot.current is None else queued(snapshot.current),
            [queued(e) for e in snapshot.queue],
            [queued(e) for e in snapshot.history],
        )
        self.set_filters(parse_filters(snapshot.filters))
        self.set_volume(snapshot.volume / 100)
        if snapshot.crossfade_s != self.settings.crossfade_s:
            self.set_crossfade(snapshot.crossfade_s)
        await self.link.join(channel)
        if self.queue.current is not None:
            if snapshot.paused:
                self._become(PlayState.HELD)
            await self.playback.start(self.queue.current, start_s=snapshot.position_s)
        else:
            self.link.set_ended(True)
            self._notify()

    # ---------------------------------------------------------------- settings
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
        """Where the current track is on its own timeline, seconds (what snapshots and lyrics use)."""
        return self.player.position_s

    @property
    def played_s(self) -> float:
        """The position users are shown: what was heard of the track, skipped stretches not counted."""
        plan = self.skips.plan_of(self.playback.current)
        return plan.heard_s(self.position_s) if plan is not None else self.position_s

    @property
    def length_s(self) -> float | None:
        """The current track's length as heard (skipped stretches not counted); None when live or unknown."""
        entry = self.queue.current
        duration = entry.track.duration_s if entry is not None else None
        plan = self.skips.plan_of(self.playback.current)
        return plan.heard_length_s(duration) if plan is not None and duration is not None else duration

    @property
    def tempo(self) -> float:
        """How many seconds of the track play per second of wall time (the timescale's speed × rate)."""
        timescale = self._filters.timescale
        return timescale.tempo_ratio if timescale is not None else 1.0

    # ---------------------------------------------------------------- voice listeners (event loop)
    def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        """Wire to the client's ``on_voice_state_update``: kicks, and who is left listening."""
        if member.guild.id == self.guild.id:
            # Anything but PLAYING sends no audio, so a disconnect then cannot be mistaken for a
            # lost connection (that one reports itself: ``VoiceClient.lost``).
            self.link.on_voice_state_update(member, before, after, quiet=self.state is not PlayState.PLAYING)

    def _on_alone(self, alone: bool) -> None:
        """The last listener left (pause, if the guild wants that) or one came back (resume what
        was paused for that reason, never what a user paused)."""
        pause = alone and self.settings.pause_when_alone
        if pause and self.state is PlayState.PLAYING:
            self._become(PlayState.PAUSED)
            self._paused_for_alone = True
        elif not pause and self._paused_for_alone and self.state is PlayState.PAUSED:
            self._become(PlayState.PLAYING)

    def settings_changed(self) -> None:
        """``settings`` (24/7, the leave timers, pausing when alone) changed: the idle timers start
        again under the new values, and pausing for an empty channel follows the new choice."""
        self.link.restart_timers(ended=self.state is PlayState.IDLE)
        self._on_alone(self.link.alone)

    async def _leave_idle(self, text: str) -> None:
        self.announce(text)
        await self.disconnect()

    def _notify(self) -> None:
        try:
            self.lyrics.changed()
            self.on_change()
        except Exception:  # a broken panel must never stop playback
            log.exception("session change listener failed")
