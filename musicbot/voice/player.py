"""``Player``: the discord.py ``AudioSource`` of one voice connection.

discord.py's player thread calls ``read()`` every 20 ms. ``read()`` first applies the commands
the event loop queued (``queue.SimpleQueue``: never a lock held across a frame), then returns
``engine.next_packet`` for the current source. Tracks follow each other gaplessly: the session
hands over the next track's already-open source with ``queue_next``, and when the current one
ends the first packet of the next goes out in the same ``read()`` call. With a crossfade set
(``set_crossfade``), the next track starts that long before the current one's end (its
``duration_s``): the engine mixes both, and when the fade is done the old track ends
(FINISHED) and the new one starts (TRACK_START). A skip mid-fade completes the fade within a
frame; ``queue_next`` mid-fade fades the withdrawn track back out; ``play``/``stop`` mid-fade
also drop the half-played next track (TRACK_END REPLACED for its token: it must be reopened).

Splices (``queue_splice``, ``voice/splice.py``): a stretch of the current track left out, by a
fade into the same track opened again after the stretch; SEGMENT_SKIPPED when it is done (the
token stays the same). A skip, play or stop drops a splice in progress.

Events (track start/end/error, underrun) go to a callback given by the session; it runs on the
player thread, so the session wraps ``loop.call_soon_threadsafe``. Sources are closed off the
audio thread (closing joins the decoder thread) by ``dispose``, a short-lived thread by default.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Generator

import discord

from musicbot.audio import END_OF_STREAM, SAMPLE_RATE, Chunk, EndOfStream
from musicbot.dsp.params import FilterSettings
from musicbot.metrics import FRAME_RENDER_SECONDS, UNDERRUNS, count_sent
from musicbot.voice.ahead import TAKE_TIMEOUT_S, Ready, SteppedRender, run_steps
from musicbot.voice.client import send_lateness_s
from musicbot.voice.player_fades import PlayerFades
from musicbot.voice.player_values import (
    EndReason,
    EventKind,
    Play,
    PlayerCommand,
    PlayerEvent,
    PlayerSetting,
    QueueNext,
    QueueSplice,
    Skip,
    Slot,
    Stop,
    TrackStream,
)
from musicbot.voice.protocol import (
    OPUS_SILENCE,
    CancelCrossfade,
    HurryCrossfade,
    SetCrossfade,
    SetFilters,
    SetNormalization,
    SetVolume,
    StartTrack,
)
from musicbot.voice.render_client import RenderClient
from musicbot.voice.sender import after_this_pass
from musicbot.voice.splice import FadeKind, Splice

__all__ = ["EndReason", "EventKind", "Player", "PlayerEvent", "TrackStream"]

log = logging.getLogger(__name__)


def _close_in_thread(source: TrackStream) -> None:
    threading.Thread(target=source.close, name="close-source", daemon=True).start()


class Player(PlayerFades, discord.AudioSource):
    """One voice connection's audio. Commands may be called from any thread (the event loop in
    practice); ``read``/``cleanup`` are called by discord.py's player thread."""

    def __init__(
        self,
        engine: RenderClient | None = None,
        *,
        on_event: Callable[[PlayerEvent], None] | None = None,
        dispose: Callable[[TrackStream], None] = _close_in_thread,
        render_ahead: bool = True,
    ) -> None:
        # Where the engine runs (a render worker, or this process) is the client's business.
        self.engine = engine or RenderClient()
        # See voice/ahead.py: the next packet is asked for right after discord.py sent one and
        # read at its next turn (from a render worker; in this process it is rendered at once, on
        # the send thread). Off, ``read`` renders in place (unit tests drive it frame by frame).
        self._ahead: SteppedRender | None = SteppedRender(self._render_steps) if render_ahead else None
        self._on_event = on_event or (lambda event: None)
        self._dispose = dispose
        self._commands: queue.SimpleQueue[PlayerCommand] = queue.SimpleQueue()
        self._current: Slot | None = None
        self._next: Slot | None = None
        self._underrunning = False
        # Written by the audio thread, read by any: a plain int/float assignment is atomic.
        self._position_samples = 0
        self._current_token: int | None = None
        self._fade_end_reason = EndReason.FINISHED
        self._fade: FadeKind | None = None  # what the engine's fade in progress (or armed) leads into
        self._splicing: Slot | None = None  # the current track's continuation, fading in
        self._last_read = -math.inf
        self._told_after_send = False  # the voice client calls after_send (voice/client.py)
        self._request_after_send = False
        self._awaiting_send = False  # read() returned a packet that after_send has not counted yet
        self.underruns = 0

    # ---------------------------------------------------------------- commands (any thread)
    def play(self, source: TrackStream, token: int, start_s: float = 0.0) -> None:
        """Play ``source`` now; the current track (if any) ends with ``REPLACED``."""
        self._commands.put(Play(source, token, start_s))

    def queue_next(self, source: TrackStream | None, token: int = 0, start_s: float = 0.0) -> None:
        """The source that follows the current one gaplessly; None withdraws it. A source
        queued earlier and not yet started is closed."""
        self._commands.put(QueueNext(source, token, start_s))

    def queue_splice(self, token: int, splice: Splice) -> None:
        """Leave out track ``token`` from ``splice.at_s`` (``voice/splice.py``); replaces a splice
        queued earlier for it and not yet begun. Its ``resume`` source is closed if the track is
        no longer current or next by then."""
        self._commands.put(QueueSplice(token, splice))

    def skip(self) -> None:
        """End the current track (``REPLACED``) and start the queued next one, if any."""
        self._commands.put(Skip())

    def stop(self) -> None:
        """End the current track (``STOPPED``), drop the queued next one; ``read`` returns b''."""
        self._commands.put(Stop())

    def set_filters(self, settings: FilterSettings) -> None:
        self._commands.put(SetFilters(settings))

    def set_volume(self, volume: float) -> None:
        """Linear 0.0–2.0; checked as the command is made, on the caller's thread, so errors reach the caller."""
        self._commands.put(SetVolume(volume))

    def set_normalization(self, enabled: bool, target_lufs: float | None = None) -> None:
        self._commands.put(SetNormalization(enabled, target_lufs))

    def set_crossfade(self, seconds: float) -> None:
        """Overlap of consecutive tracks, 0–12 s; 0 is gapless. Checked on the caller's thread."""
        self._commands.put(SetCrossfade(seconds))

    def discard_pending(self) -> None:
        """Any thread, once discord.py no longer plays this source (disconnected): close the
        sources of commands that will never be applied. A command taken concurrently by a last
        ``read`` is applied there instead, and closed by ``cleanup``."""
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            if isinstance(command, (Play, QueueNext)) and command.source is not None:
                self._dispose(command.source)
            elif isinstance(command, QueueSplice) and command.splice.resume is not None:
                self._dispose(command.splice.resume)

    @property
    def has_pending(self) -> bool:
        """Commands wait to be applied: after discord.py stopped the player, play it again."""
        return not self._commands.empty()

    @property
    def position_s(self) -> float:
        """Where the current track is, in seconds (the source position the engine has read up to;
        chunks a ``RemoteEngine`` forwarded but its worker has not used yet do not count)."""
        return (self._position_samples - self.engine.unread_samples) / SAMPLE_RATE

    @property
    def seconds_since_read(self) -> float:
        """How long since discord.py last asked for a packet (infinite before the first)."""
        return time.monotonic() - self._last_read

    @property
    def current_token(self) -> int | None:
        return self._current_token

    # ---------------------------------------------------------------- discord.py (player thread)
    def is_opus(self) -> bool:
        return True

    def read(self) -> bytes:
        """discord.py's ``AudioSource.read``: one Opus packet, or b'' when nothing is left to play;
        silence (an underrun) when the packet is not rendered within ``TAKE_TIMEOUT_S``."""
        packet = self.poll_packet(TAKE_TIMEOUT_S)
        if packet is None:
            self._count_underrun()
            self._awaiting_send = True
            return OPUS_SILENCE
        return packet

    def poll_packet(self, timeout: float) -> bytes | None:
        """The shared sender's read (``voice/sender.py``): the next packet, b'' at the end, or None
        when a render worker has not answered within ``timeout`` (the sender gives each connection
        its share of a pass and asks again a moment later, instead of holding up every guild).

        With render-ahead, the packet was asked for after the previous one was sent; the first one
        of a run is asked for here."""
        self._last_read = time.monotonic()
        packet = self._take_packet(timeout)
        self._awaiting_send = bool(packet)  # after_send counts it once it has been sent
        return packet

    def _take_packet(self, timeout: float) -> bytes | None:
        if self._ahead is None:
            return self._render()
        try:
            packet = self._ahead.take(timeout)
            if packet is None or (not packet and self.has_pending):
                # Nothing asked for yet (a new run), or commands came after the end was rendered.
                self._ahead.request()
                packet = self._ahead.take(timeout)
        except TimeoutError:
            return None
        assert packet is not None
        if packet and self._told_after_send:
            self._request_after_send = True
        elif packet:
            self._ahead.request()
        return packet

    def after_send(self) -> None:
        """Send thread, once the packet ``read`` returned has been sent (voice/client.py): ask for
        the next one; on the shared sender once every packet of its pass has gone out (an engine in
        this process renders right there, and would hold up the other connections' sends).
        Without this call, ``read`` asks for it itself.

        Also counts the packet for ``/metrics`` (sent, and late: ``musicbot/metrics.py``); a send
        that follows no ``read`` of ours is discord.py's own silence and is not counted."""
        self._told_after_send = True
        if self._awaiting_send:
            self._awaiting_send = False
            count_sent(send_lateness_s())
        if self._request_after_send and self._ahead is not None:
            self._request_after_send = False
            if not after_this_pass(self._ahead.request):
                self._ahead.request()

    def cleanup(self) -> None:
        """Player thread (the end of ``play``) and ``__del__``: closes the sources held. Idempotent;
        the player can be played again afterwards."""
        if self._ahead is not None:
            self._ahead.drain()  # a render in flight still reads the sources
        for slot in (self._current, self._next, self._splicing):
            if slot is not None:
                self._dispose_slot(slot)
        self._current = self._next = self._splicing = None
        self._fade = None
        self._current_token = None

    # ---------------------------------------------------------------- internals (render thread)
    def _render(self) -> bytes:
        """One packet: commands applied first, then the engine (the player thread or a pool thread,
        never both at once)."""
        return run_steps(self._render_steps())

    def _render_steps(self) -> Generator[Ready, None, bytes]:
        """``_render`` in steps: it yields while a render worker renders (see ``SteppedRender``)."""
        self._apply_commands()
        if self._current is None:
            self._promote_next()  # a next source handed over after the last one ended
        while self._current is not None:
            self._maybe_begin_fade()
            failure: Exception | None = None
            try:
                packet = yield from self._engine_steps()
            except Exception as error:
                packet, failure = None, error
            if self.engine.take_crossfade_completed():
                self._finish_crossfade()  # before anything else: what follows is the new track's
            current = self._current
            if current is None:
                # cleanup() ran while this render was in flight (discord.py stopped the player: a
                # leave, a stop): nothing is current any more, so what it rendered is dropped.
                return b""
            if failure is not None:
                message = str(failure) or type(failure).__name__
                self._emit(PlayerEvent(EventKind.TRACK_ERROR, current.token, message=message, error=failure))
                self._end_current(EndReason.ERROR, message)
                self._promote_next()
                continue
            if packet is None:
                self._end_current(EndReason.FINISHED)
                self._promote_next()
                continue
            if packet == OPUS_SILENCE:
                self._count_underrun()
                if not self._underrunning:
                    self._underrunning = True
                    self._emit(PlayerEvent(EventKind.UNDERRUN, current.token))
            else:
                self._underrunning = False
            return packet
        return b""

    def _engine_steps(self) -> Generator[Ready, None, bytes | None]:
        packet = yield from self.engine.packet_steps(self._pull)
        if packet is not None:
            FRAME_RENDER_SECONDS.observe(self.engine.last_render_s)  # measured where it was rendered
        return packet

    def _count_underrun(self) -> None:
        """No audio was ready for a slot: silence goes out instead (``musicbot/metrics.py``)."""
        self.underruns += 1
        UNDERRUNS.inc()

    def _pull(self) -> Chunk | EndOfStream | None:
        current = self._current
        if current is None:  # cleaned up mid-render (see _render_steps): nothing to read from
            return END_OF_STREAM
        return self._pull_slot(current)

    def _pull_slot(self, slot: Slot) -> Chunk | EndOfStream | None:
        item = slot.source.read_nowait()
        if isinstance(item, Chunk):
            slot.position_samples = item.start_sample
            if slot is self._current:
                self._position_samples = item.start_sample
        return item

    def _apply_commands(self) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            if isinstance(command, PlayerSetting):
                self.engine.apply(command)
            elif isinstance(command, Play):
                self._drop_faded_in_next()
                self._end_current(EndReason.REPLACED)
                self._start(Slot(command.source, command.token, command.start_s))
            elif isinstance(command, QueueNext):
                if self._next is not None:
                    if self._fade is FadeKind.TRACK:
                        self.engine.cancel_crossfade(CancelCrossfade())  # fades a withdrawn next track back out
                        self._fade = None
                    self._dispose_slot(self._next)
                self._next = None if command.source is None else Slot(command.source, command.token, command.start_s)
            elif isinstance(command, QueueSplice):
                self._take_splice(command)
            elif isinstance(command, Skip):
                self._drop_splice()
                if self._fade is FadeKind.TRACK and self.engine.crossfading and self._next is not None:
                    self.engine.apply(HurryCrossfade())  # the next track is already playing: finish the fade now
                    self._fade_end_reason = EndReason.REPLACED
                    continue
                self._end_current(EndReason.REPLACED)
                self._promote_next()
            else:
                self._drop_faded_in_next()
                self._end_current(EndReason.STOPPED)
                if self._next is not None:
                    self._dispose_slot(self._next)
                    self._next = None

    def _end_current(self, reason: EndReason, message: str | None = None) -> None:
        self._drop_splice()
        if self._current is None:
            return
        slot, self._current = self._current, None
        self._current_token = None
        self._dispose_slot(slot)
        self._emit(PlayerEvent(EventKind.TRACK_END, slot.token, reason=reason, message=message))

    def _promote_next(self) -> None:
        if self._next is not None:
            slot, self._next = self._next, None
            self._start(slot)

    def _start(self, slot: Slot) -> None:
        self._current = slot
        self._current_token = slot.token
        self._position_samples = round(slot.start_s * SAMPLE_RATE)
        self._underrunning = False
        self.engine.apply(StartTrack(slot.source.packet_mode))
        self._emit(PlayerEvent(EventKind.TRACK_START, slot.token))

    def _emit(self, event: PlayerEvent) -> None:
        try:
            self._on_event(event)
        except Exception:  # a broken listener must not stop the audio
            log.exception("player event listener failed")
