"""One thread sends every voice connection's packets (``Sender``), in place of discord.py's thread
per connection (its ``AudioPlayer``).

Why: discord.py wakes one thread per voice connection every 20 ms. Each wake-up is a context
switch and a wait for the GIL, shared with every other send thread, the decoders and the event
loop; with 50 guilds passing Opus through, those threads used 0.45 cores, ~180 µs per packet, of
which reading, encrypting and sending the packet are ~15 µs (benchmarks/voice_load.py; the same
work from one thread: ~50 µs per packet, docs/benchmarks.md). One thread wakes once per slot and
sends every packet that is due.

It keeps discord.py's behaviour: ``SharedPlayer`` has ``AudioPlayer``'s interface (``VoiceClient``'s
``play``, ``stop``, ``pause``, ``resume``, ``is_playing``, ``source`` all work unchanged); five
silence frames at a pause and at the end; a connection that drops is waited for (up to the client's
timeout) and the stream carries on; ``after`` and the source's ``cleanup`` run once it ended. What
differs: nothing here may block the others. A packet that a render worker has not answered for
within the pass's small budget is asked for again a millisecond later instead of waited for (it
then goes out late, and the schedule catches up), and ``after`` and ``cleanup`` (which may wait for
a render in flight) run on a short-lived thread.

Each connection keeps its own schedule: packet n of a run at ``start + n × 20 ms``; one that falls
behind (a stall of the whole process) sends at once until it has caught up, as discord.py does.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import discord
from discord.enums import SpeakingState

from musicbot.voice.channel import batched
from musicbot.voice.protocol import OPUS_SILENCE
from musicbot.voice.realtime import promote_current_thread

log = logging.getLogger(__name__)

DELAY_S = 0.02
SILENCE_FRAMES = 5  # at a pause and at the end, as discord.py sends them
PASS_WAIT_BUDGET_S = 0.004
"""How long one pass over the due connections may wait, in all, for render workers' answers (they
normally came in long before: each was asked for a whole slot earlier)."""
RECONNECT_POLL_S = 0.05
RETRY_S = 0.001
PHASE_S = 0.005
"""Schedules start on a 5 ms grid, so the sender wakes at most four times a slot however many
connections there are (at arbitrary phases it woke once per connection: 50 guilds, 2,500 wake-ups
a second)."""


def on_grid(moment: float) -> float:
    return math.ceil(moment / PHASE_S) * PHASE_S

_lateness = threading.local()
_pass = threading.local()


def after_this_pass(callback: Callable[[], None]) -> bool:
    """On the sender's thread during a pass: run ``callback`` once every packet due in it has gone
    out (True). Elsewhere False: the caller runs it now."""
    pending: list[Callable[[], None]] | None = getattr(_pass, "pending", None)
    if pending is None:
        return False
    pending.append(callback)
    return True


def current_lateness_s() -> float | None:
    """On the sender's thread, while it sends a packet: how far behind its slot it goes out. None
    on any other thread (a ``send_audio_packet`` of the event loop)."""
    value: float | None = getattr(_lateness, "value", None)
    return value


class PollingSource(Protocol):
    """A source that can be asked to answer within a time (``voice/player.py``'s ``Player``): None
    when its packet is not ready yet."""

    def poll_packet(self, timeout: float) -> bytes | None: ...


class Clock(Protocol):
    def now(self) -> float: ...

    def wait(self, condition: threading.Condition, seconds: float | None) -> bool:
        """Lock of ``condition`` held: until ``seconds`` passed or ``condition`` was notified
        (True)."""


class RealClock:
    def now(self) -> float:
        return time.perf_counter()

    def wait(self, condition: threading.Condition, seconds: float | None) -> bool:
        return condition.wait(seconds)


class Sender:
    """The thread that sends for every ``SharedPlayer`` (started with the first one)."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or RealClock()
        self._players: list[SharedPlayer] = []
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._generation = 0  # bumped, under the condition, by every change the sender must look at

    def stop(self) -> None:
        """End the thread once no player is left (tests; the process's own sender lives as long as it)."""
        with self._condition:
            self._stopped = True
            self._changed()

    def add(self, player: SharedPlayer) -> None:
        with self._condition:
            self._players.append(player)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="voice-sender", daemon=True)
                self._thread.start()
            self._changed()

    def wake(self) -> None:
        """A player's schedule changed (resumed, stopped): look again now."""
        with self._condition:
            self._changed()

    def _changed(self) -> None:
        """Lock of the condition held."""
        self._generation += 1
        self._condition.notify()

    def _run(self) -> None:
        promote_current_thread()  # real-time priority where allowed (voice/realtime.py)
        clock = self.clock
        players: list[SharedPlayer] = []
        dues: list[float] = []
        looked_at = -1  # the generation the players and their due times were read at
        while True:
            with self._condition:
                if looked_at != self._generation:
                    looked_at = self._generation
                    self._players = [p for p in self._players if not p.finished]
                    players = list(self._players)
                    if self._stopped and not players:
                        self._thread = None
                        return
                    # Each player's due time once per change; between changes only the players a pass
                    # ticked are read again (50 guilds: it was read ~13, then 5 times a packet).
                    dues = [p.due for p in players]
                due = min(dues, default=math.inf)
                now = clock.now()
                if due > now:
                    clock.wait(self._condition, None if due == math.inf else due - now)
                    continue
            deadline = now + PASS_WAIT_BUDGET_S
            pending: list[Callable[[], None]] = []
            _pass.pending = pending
            ended = False
            try:
                # Those due when the pass began; one falling due during it is sent at the next look,
                # which comes at once (its due time has passed).
                for index, player in enumerate(players):
                    if dues[index] <= now:
                        player.tick(deadline)
                        dues[index] = player.due  # only its own tick moves it (other changes wake us)
                        ended = ended or player.finished
            finally:
                _pass.pending = None
                if ended:
                    self.wake()  # drop the finished players at the next look
            # The next packets are asked for once this pass's are all out: a render in this process
            # (one core, a stream whose worker died) would otherwise delay the connections after it.
            # What they ask of each render worker goes to it in one message (voice/channel.py).
            with batched():
                for callback in pending:
                    try:
                        callback()
                    except Exception:  # a render's own errors reach its player; this must not stop sending
                        log.exception("asking for the next packet failed")


@functools.cache
def shared_sender() -> Sender:
    """The process's sender: one thread, however many guilds play."""
    return Sender()


class SharedPlayer:
    """discord.py's ``AudioPlayer`` interface for one ``VoiceClient``, sent by a ``Sender``.
    Control methods come from any thread; ``tick`` only from the sender's."""

    DELAY = DELAY_S  # a class attribute read at every slot (the test harness speeds playback up with it)

    def __init__(self, source: discord.AudioSource, client: discord.VoiceClient, *,
                 after: Callable[[Exception | None], Any] | None, sender: Sender) -> None:
        self.source = source
        self.client = client
        self.after = after
        self._sender = sender
        self._lock = threading.Lock()
        self._ended = False
        self._paused = False
        self._parked = False  # paused and its silence sent: nothing due until resumed
        self._silence_owed = 0
        self._current_error: Exception | None = None
        self._start = 0.0
        self.loops = 0
        self._lost_at: float | None = None  # the connection dropped: when
        self._next_poll = 0.0  # while it is down: when to look again
        self._retry_at = 0.0  # the packet was not ready: when to ask again
        self._held: bytes | None = None  # read while the connection was down, sent once it is back
        self.finished = False
        self._finishing: threading.Thread | None = None

    # ------------------------------------------------------------------ discord.py's interface
    def start(self) -> None:
        self._start = on_grid(self._sender.clock.now())
        self._speak(SpeakingState.voice)
        self._sender.add(self)

    def stop(self) -> None:
        with self._lock:
            self._ended = True
            self._paused = self._parked = False
        self._speak(SpeakingState.none)
        self._sender.wake()

    def pause(self, *, update_speaking: bool = True) -> None:
        with self._lock:
            if not self._paused:
                self._paused, self._silence_owed = True, SILENCE_FRAMES
        if update_speaking:
            self._speak(SpeakingState.none)

    def resume(self, *, update_speaking: bool = True) -> None:
        with self._lock:
            self.loops = 0
            self._start = on_grid(self._sender.clock.now())
            self._paused = self._parked = False
        if update_speaking:
            self._speak(SpeakingState.voice)
        self._sender.wake()

    def is_playing(self) -> bool:
        return not self._paused and not self._ended

    def is_paused(self) -> bool:
        return not self._ended and self._paused

    def set_source(self, source: discord.AudioSource) -> None:
        with self._lock:
            self.source = source
            self.loops = 0
            self._start = on_grid(self._sender.clock.now())
        self._sender.wake()  # a new schedule: the sender's next look must see it

    # ------------------------------------------------------------------ the sender's thread
    @property
    def due(self) -> float:
        if self.finished or self._parked:
            return math.inf
        if self._lost_at is not None and not self._ended:
            return self._next_poll
        return max(self._start + self.loops * self.DELAY, self._retry_at)

    def tick(self, deadline: float) -> None:
        """One slot: the next packet (or a silence frame, or the end)."""
        now = self._sender.clock.now()
        with self._lock:
            ended, paused = self._ended, self._paused
        if ended:
            self._end()
            return
        if paused:
            self._pause_slot()
            return
        if not self.client.is_connected():
            self._wait_for_connection(now)
            return
        if self._lost_at is not None:  # back: carry on where it was, on a fresh schedule
            self._lost_at = None
            self._speak(SpeakingState.voice)
            self.loops, self._start = 0, on_grid(now)
        try:
            data = self._held if self._held is not None else self._read(max(0.0, deadline - now))
        except Exception as error:  # as AudioPlayer: the player ends, ``after`` gets the error
            self._current_error = error
            self._end()
            return
        if data is None:
            # Not rendered yet (a worker starting, or one slower than a slot): nothing goes out now;
            # the receiver conceals the gap, and the schedule catches up once it comes.
            self._retry_at = now + RETRY_S
            return
        self._held = None
        if not data:
            self._end()
            return
        if not self.client.is_connected():
            self._held = data
            self._wait_for_connection(now)
            return
        sending = self._sender.clock.now()
        if not self.loops:
            # The first packet opens the schedule (a listener expects it at no time): the next is due
            # a slot after it, on the grid.
            self._start = on_grid(sending + self.DELAY) - self.DELAY
            self.loops = 1
            self._send(data, lateness=0.0)
            return
        self._send(data, lateness=sending - self.due)
        self.loops += 1

    def _read(self, timeout: float) -> bytes | None:
        source = self.source
        poll = getattr(source, "poll_packet", None)  # a PollingSource (not isinstance: ~15 µs a packet)
        if poll is not None:
            packet: bytes | None = poll(timeout)
            return packet
        return source.read()

    def _send(self, data: bytes, *, lateness: float) -> None:
        _lateness.value = max(0.0, lateness)
        try:
            self.client.send_audio_packet(data, encode=not self.source.is_opus())
        finally:
            _lateness.value = None

    def _pause_slot(self) -> None:
        if self._silence_owed > 0:
            self._silence_owed -= 1
            self._send_quietly(OPUS_SILENCE)
            self.loops += 1
        else:
            self._parked = True

    def _wait_for_connection(self, now: float) -> None:
        """As discord.py: wait for the connection to come back, up to the client's timeout."""
        if self._lost_at is None:
            self._lost_at = now
        elif now - self._lost_at > self.client.timeout:
            log.debug("voice connection did not come back; the player ends")
            self._end(silence=False)
            return
        self._next_poll = now + RECONNECT_POLL_S

    def _send_quietly(self, data: bytes) -> None:
        try:
            self.client.send_audio_packet(data, encode=False)
        except Exception:  # a socket error while pausing or ending changes nothing
            log.debug("silence frame not sent", exc_info=True)

    def _end(self, *, silence: bool = True) -> None:
        """The run is over: silence frames, then ``after`` and ``cleanup`` off this thread (cleanup may
        wait for a render in flight)."""
        if self.finished:
            return
        with self._lock:
            self._ended = True  # not playing any more (VoiceClient.is_playing)
        self.finished = True
        if silence and self.client.is_connected():
            for _ in range(SILENCE_FRAMES):
                self._send_quietly(OPUS_SILENCE)
        finishing = threading.Thread(target=self._finish, name="voice-player-end", daemon=True)
        finishing.start()
        self._finishing = finishing  # joinable from here on

    def join(self, timeout: float | None = None) -> None:
        """Wait until the run has ended and its ``after`` and cleanup ran (as a thread's ``join``)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._finishing is None:
            if deadline is not None and time.monotonic() >= deadline:
                return
            time.sleep(0.005)
        self._finishing.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def _finish(self) -> None:
        try:
            if self.after is not None:
                try:
                    self.after(self._current_error)
                except Exception as error:
                    error.__context__ = self._current_error
                    log.exception("calling the after function failed", exc_info=error)
            elif self._current_error is not None:
                log.error("voice player failed", exc_info=self._current_error)
        finally:
            self.source.cleanup()

    def _speak(self, state: SpeakingState) -> None:
        try:
            ws = self.client.ws
            asyncio.run_coroutine_threadsafe(ws.speak(state), self.client.client.loop)
        except Exception:
            log.debug("speaking state not sent", exc_info=True)
