"""``Player``: the discord.py ``AudioSource`` of one voice connection.

discord.py's player thread calls ``read()`` every 20 ms. ``read()`` first applies the commands
the event loop queued (``queue.SimpleQueue``: never a lock held across a frame), then returns
``engine.next_packet`` for the current source. Tracks follow each other gaplessly: the session
hands over the next track's already-open source with ``queue_next``, and when the current one
ends the first packet of the next goes out in the same ``read()`` call.

Events (track start/end/error, underrun) go to a callback given by the session; it runs on the
player thread, so the session wraps ``loop.call_soon_threadsafe``. Sources are closed off the
audio thread (closing joins the decoder thread) by ``dispose``, a short-lived thread by default.
"""

from __future__ import annotations

import enum
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import discord

from musicbot.dsp.params import FilterSettings
from musicbot.sources.decoder import Chunk, _EndOfStream
from musicbot.voice.engine import MAX_PLAYER_VOLUME, OPUS_SILENCE, AudioEngine

log = logging.getLogger(__name__)

SAMPLE_RATE = 48000


class TrackStream(Protocol):
    """What the player reads: a ``Decoder`` or a ``ResilientStream``, already open."""

    @property
    def packet_mode(self) -> bool: ...

    def read_nowait(self) -> Chunk | _EndOfStream | None: ...

    def close(self) -> None: ...


class EventKind(enum.Enum):
    TRACK_START = "track_start"
    TRACK_END = "track_end"
    TRACK_ERROR = "track_error"
    UNDERRUN = "underrun"


class EndReason(enum.Enum):
    FINISHED = "finished"  # the source ran out (or errored, see ERROR): the queue moves on
    REPLACED = "replaced"  # play()/skip() put another source in its place
    STOPPED = "stopped"  # stop()
    ERROR = "error"  # the source raised; a TRACK_ERROR event with the message came first


@dataclass(frozen=True, slots=True)
class PlayerEvent:
    """One thing that happened on the audio thread. ``token`` names the track (the session's id)."""

    kind: EventKind
    token: int
    reason: EndReason | None = None
    message: str | None = None


# ---------------------------------------------------------------------------------------------- commands
@dataclass(frozen=True, slots=True)
class _Play:
    source: TrackStream
    token: int
    start_s: float


@dataclass(frozen=True, slots=True)
class _QueueNext:
    source: TrackStream | None
    token: int
    start_s: float


@dataclass(frozen=True, slots=True)
class _Skip:
    pass


@dataclass(frozen=True, slots=True)
class _Stop:
    pass


@dataclass(frozen=True, slots=True)
class _Setting:
    apply: Callable[[AudioEngine], None]


_Command = _Play | _QueueNext | _Skip | _Stop | _Setting


@dataclass(slots=True)
class _Slot:
    source: TrackStream
    token: int
    start_s: float


def _close_in_thread(source: TrackStream) -> None:
    threading.Thread(target=source.close, name="close-source", daemon=True).start()


class Player(discord.AudioSource):
    """One voice connection's audio. Commands may be called from any thread (the event loop in
    practice); ``read``/``cleanup`` are called by discord.py's player thread."""

    def __init__(
        self,
        engine: AudioEngine | None = None,
        *,
        on_event: Callable[[PlayerEvent], None] | None = None,
        dispose: Callable[[TrackStream], None] = _close_in_thread,
    ) -> None:
        self.engine = engine or AudioEngine()
        self._on_event = on_event or (lambda event: None)
        self._dispose = dispose
        self._commands: queue.SimpleQueue[_Command] = queue.SimpleQueue()
        self._current: _Slot | None = None
        self._next: _Slot | None = None
        self._underrunning = False
        # Written by the audio thread, read by any: a plain int/float assignment is atomic.
        self._position_samples = 0
        self._current_token: int | None = None
        self.underruns = 0

    # ---------------------------------------------------------------- commands (any thread)
    def play(self, source: TrackStream, token: int, start_s: float = 0.0) -> None:
        """Play ``source`` now; the current track (if any) ends with ``REPLACED``."""
        self._commands.put(_Play(source, token, start_s))

    def queue_next(self, source: TrackStream | None, token: int = 0, start_s: float = 0.0) -> None:
        """The source that follows the current one gaplessly; None withdraws it. A source
        queued earlier and not yet started is closed."""
        self._commands.put(_QueueNext(source, token, start_s))

    def skip(self) -> None:
        """End the current track (``REPLACED``) and start the queued next one, if any."""
        self._commands.put(_Skip())

    def stop(self) -> None:
        """End the current track (``STOPPED``), drop the queued next one; ``read`` returns b''."""
        self._commands.put(_Stop())

    def set_filters(self, settings: FilterSettings) -> None:
        self._commands.put(_Setting(lambda engine: engine.set_filters(settings)))

    def set_volume(self, volume: float) -> None:
        """Linear 0.0–2.0; validated here, on the caller's thread, so errors reach the caller."""
        if not 0.0 <= volume <= MAX_PLAYER_VOLUME:
            raise ValueError(f"volume must be 0–{MAX_PLAYER_VOLUME:g}, got {volume}")
        self._commands.put(_Setting(lambda engine: engine.set_volume(volume)))

    def set_normalization(self, enabled: bool, target_lufs: float | None = None) -> None:
        self._commands.put(_Setting(lambda engine: engine.set_normalization(enabled, target_lufs)))

    def discard_pending(self) -> None:
        """Any thread, once discord.py no longer plays this source (disconnected): close the
        sources of commands that will never be applied. A command taken concurrently by a last
        ``read`` is applied there instead, and closed by ``cleanup``."""
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            if isinstance(command, (_Play, _QueueNext)) and command.source is not None:
                self._dispose(command.source)

    @property
    def has_pending(self) -> bool:
        """Commands wait to be applied: after discord.py stopped the player, play it again."""
        return not self._commands.empty()

    @property
    def position_s(self) -> float:
        """Where the current track is, in seconds (the source position the engine has read up to)."""
        return self._position_samples / SAMPLE_RATE

    @property
    def current_token(self) -> int | None:
        return self._current_token

    # ---------------------------------------------------------------- discord.py (player thread)
    def is_opus(self) -> bool:
        return True

    def read(self) -> bytes:
        """Player thread, every 20 ms: one Opus packet, or b'' when nothing is left to play."""
        self._apply_commands()
        if self._current is None:
            self._promote_next()  # a next source handed over after the last one ended
        while self._current is not None:
            current = self._current
            try:
                packet = self.engine.next_packet(self._pull)
            except Exception as error:
                message = str(error) or type(error).__name__
                self._emit(PlayerEvent(EventKind.TRACK_ERROR, current.token, message=message))
                self._end_current(EndReason.ERROR)
                self._promote_next()
                continue
            if packet is None:
                self._end_current(EndReason.FINISHED)
                self._promote_next()
                continue
            if packet == OPUS_SILENCE:
                self.underruns += 1
                if not self._underrunning:
                    self._underrunning = True
                    self._emit(PlayerEvent(EventKind.UNDERRUN, current.token))
            else:
                self._underrunning = False
            return packet
        return b""

    def cleanup(self) -> None:
        """Player thread (the end of ``play``) and ``__del__``: closes the sources held. Idempotent;
        the player can be played again afterwards."""
        for slot in (self._current, self._next):
            if slot is not None:
                self._dispose(slot.source)
        self._current = self._next = None
        self._current_token = None

    # ---------------------------------------------------------------- internals (player thread)
    def _pull(self) -> Chunk | _EndOfStream | None:
        assert self._current is not None
        item = self._current.source.read_nowait()
        if isinstance(item, Chunk):
            self._position_samples = item.start_sample
        return item

    def _apply_commands(self) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            if isinstance(command, _Setting):
                command.apply(self.engine)
            elif isinstance(command, _Play):
                self._end_current(EndReason.REPLACED)
                self._start(_Slot(command.source, command.token, command.start_s))
            elif isinstance(command, _QueueNext):
                if self._next is not None:
                    self._dispose(self._next.source)
                self._next = None if command.source is None else _Slot(command.source, command.token, command.start_s)
            elif isinstance(command, _Skip):
                self._end_current(EndReason.REPLACED)
                self._promote_next()
            else:
                self._end_current(EndReason.STOPPED)
                if self._next is not None:
                    self._dispose(self._next.source)
                    self._next = None

    def _end_current(self, reason: EndReason) -> None:
        if self._current is None:
            return
        slot, self._current = self._current, None
        self._current_token = None
        self._dispose(slot.source)
        self._emit(PlayerEvent(EventKind.TRACK_END, slot.token, reason=reason))

    def _promote_next(self) -> None:
        if self._next is not None:
            slot, self._next = self._next, None
            self._start(slot)

    def _start(self, slot: _Slot) -> None:
        self._current = slot
        self._current_token = slot.token
        self._position_samples = round(slot.start_s * SAMPLE_RATE)
        self._underrunning = False
        self.engine.start_track(packet_mode=slot.source.packet_mode)
        self._emit(PlayerEvent(EventKind.TRACK_START, slot.token))

    def _emit(self, event: PlayerEvent) -> None:
        try:
            self._on_event(event)
        except Exception:  # a broken listener must not stop the audio
            log.exception("player event listener failed")
