"""``RenderClient``: the engine of one voice connection as its ``Player`` sees it.

The engine itself runs behind a transport (``voice/transport.py``): in a render worker process,
or in this one. Either way the player sends the same commands (``voice/protocol.py``) and asks for
packets in two steps (``packet_steps``): the chunks its sources have ready are forwarded with the
request (a few ahead, so the engine rarely runs dry) and the answer is read at the caller's next
turn. If a worker dies, its engine is rebuilt here from the latest ``EngineConfig`` (only what was
in flight is lost: one silent frame).

Passthrough stays here. When the engine has nothing to change (an Opus source, identity filters,
volume 1, normalization off) it hands the source back (``HandBack``) and this client sends the
source's packets on itself: no round trip to a worker per packet. A command that may change the
audio gives the source back to the engine first (``TakeOver``, with the last packets sent, so it
enters its filters sample-exactly); if nothing changed after all, the engine hands it back at once.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass

from musicbot.audio import END_OF_STREAM, FRAME_SAMPLES, Chunk, Pull
from musicbot.dsp.params import FilterSettings
from musicbot.errors import MediaError
from musicbot.sources.opus_packets import is_passthrough_packet
from musicbot.voice.ahead import Ready, run_steps
from musicbot.voice.processes import WorkerDied
from musicbot.voice.protocol import (
    OPUS_SILENCE,
    BeginCrossfade,
    EngineCommand,
    EngineConfig,
    EngineStats,
    Item,
    OpusSettings,
    RenderReply,
    RenderRequest,
    SetCrossfade,
    SetFilters,
    SetNormalization,
    SetVolume,
    SourceFailed,
    StartTrack,
    TakeOver,
    crossfade_samples,
)
from musicbot.voice.transport import LocalTransport, Transport, WorkerTransport

log = logging.getLogger(__name__)

PREFETCH = 3  # chunks forwarded beyond what the last frame needed: 60 ms the engine can draw on
SENT_KEPT = 4  # packets passed through that a TakeOver carries (PacketDecoder.PREROLL_PACKETS)

PacketSteps = Generator[Ready, None, bytes | None]
Connect = Callable[[EngineConfig], Transport]
"""Where a client's engine runs: ``RenderProcesses.connect`` (a worker) or ``LocalTransport``."""



class _EngineNeeded:
    """From ``_pass_one``: this item needs the engine (PCM, or a packet longer than 20 ms)."""


_ENGINE_NEEDED = _EngineNeeded()


@dataclass
class _Stream:
    outstanding: int = 0  # forwarded, not yet used by the engine
    last_read: int = 1
    ended: bool = False


class RenderClient:
    """One voice connection's engine, wherever it runs. One thread renders (discord.py's send
    thread) and applies the player's commands; ``close`` may come from another."""

    def __init__(self, config: EngineConfig | None = None, *, connect: Connect = LocalTransport) -> None:
        self._config = config or EngineConfig()
        self._connect = connect
        self._engine_stats = EngineStats()  # as the engine last reported them
        self._own_stats = EngineStats()  # packets passed through here, and an earlier engine's
        self._last_render_s = 0.0
        self._packet_mode = False
        self._streams = [_Stream(), _Stream()]  # the current source, the one fading in
        self._incoming: Pull | None = None
        self._incoming_packet_mode = False
        self._crossfading = False
        self._completed = False
        self._passing = False  # passing the current source through here
        self._replay: deque[Item] = deque()  # read from the source, handed back, not yet used
        self._sent: deque[bytes] = deque(maxlen=SENT_KEPT)
        self._transport = self._open()

    def _open(self) -> Transport:
        try:
            return self._connect(self._config)
        except WorkerDied as error:
            log.error("no render worker could take a stream (%s); it renders in the main process", error)
            return LocalTransport(self._config)

    # ------------------------------------------------------------------ what the player reads
    @property
    def config(self) -> EngineConfig:
        return self._config

    @property
    def filters(self) -> FilterSettings:
        return self._config.filters

    @property
    def volume(self) -> float:
        return self._config.volume

    @property
    def crossfade_samples(self) -> int:
        return crossfade_samples(self._config.crossfade_s)  # every packet: no SetCrossfade made again

    @property
    def crossfading(self) -> bool:
        return self._crossfading

    @property
    def stats(self) -> EngineStats:
        return self._own_stats.plus(self._engine_stats)

    @property
    def last_render_s(self) -> float:
        """Engine time of the last packet, measured where it was rendered."""
        return self._last_render_s

    @property
    def unread_samples(self) -> int:
        """Source audio read from the current track and not yet used (forwarded or handed back)."""
        held = sum(1 for item in self._replay if isinstance(item, Chunk))
        return (self._streams[0].outstanding + held) * FRAME_SAMPLES

    @property
    def passing_through_here(self) -> bool:
        return self._passing

    def take_crossfade_completed(self) -> bool:
        """True once after the incoming track became the current one (in the last render)."""
        completed, self._completed = self._completed, False
        return completed

    # ------------------------------------------------------------------ commands (render thread)
    def apply(self, command: EngineCommand) -> None:
        match command:
            case SetFilters(settings):
                self._config = dataclasses.replace(self._config, filters=settings)
            case SetVolume(volume):
                self._config = dataclasses.replace(self._config, volume=volume)
            case SetNormalization(enabled, target):
                self._config = dataclasses.replace(self._config, normalize=enabled,
                                                   target_lufs=self._config.target_lufs if target is None else target)
            case SetCrossfade(seconds):
                self._config = dataclasses.replace(self._config, crossfade_s=seconds)
            case StartTrack(packet_mode):
                self._packet_mode = packet_mode
                self._streams = [_Stream(), _Stream()]
                self._incoming, self._crossfading, self._completed = None, False, False
                self._passing = False
                self._replay.clear()
                self._sent.clear()
        if self._passing and isinstance(command, (SetFilters, SetVolume, SetNormalization)):
            self._give_back()
        self._send(command)

    def begin_crossfade(self, pull: Pull, command: BeginCrossfade) -> None:
        """Fade ``pull``'s source in (and the current one out)."""
        if self._passing:
            self._give_back()
        self._incoming, self._streams[1], self._crossfading = pull, _Stream(), True
        self._incoming_packet_mode = command.packet_mode
        self._send(command)

    def cancel_crossfade(self, command: EngineCommand) -> None:
        self._incoming, self._streams[1] = None, _Stream()
        self._send(command)

    def _give_back(self) -> None:
        """The engine takes the source over again from here (a command may change the audio)."""
        self._passing = False
        self._send(TakeOver(tuple(self._sent)))

    def _send(self, command: EngineCommand) -> None:
        if not self._transport.send(command):
            self._fail_over()

    # ------------------------------------------------------------------ output
    def next_packet(self, pull: Pull) -> bytes | None:
        """The next packet, waiting for the engine to render it."""
        return run_steps(self.packet_steps(pull))

    def packet_steps(self, pull: Pull) -> PacketSteps:
        """The next packet (None at the end of the source, ``OPUS_SILENCE`` on an underrun) in two
        steps: the request goes out, then, when the caller resumes the generator after its one
        yield, the answer is read. The yielded ``ready`` tells whether the answer is in."""
        if self._passing:
            started = time.perf_counter()
            passed = self._pass_one(pull)
            self._last_render_s = time.perf_counter() - started
            if not isinstance(passed, _EngineNeeded):
                return passed
            self._give_back()
        main = self._forward(self._streams[0], pull)
        incoming = self._forward(self._streams[1], self._incoming) if self._incoming is not None else ()
        reply = yield from self._transport.render(RenderRequest(main, incoming))
        if reply is None:
            self._fail_over()
            return OPUS_SILENCE
        return self._take_reply(reply)

    def _pass_one(self, pull: Pull) -> bytes | _EngineNeeded | None:
        item = self._replay.popleft() if self._replay else pull()
        if item is None:
            self._own_stats.underruns += 1
            return OPUS_SILENCE
        if item is END_OF_STREAM:
            return None
        if isinstance(item, SourceFailed):
            raise MediaError(item.message)
        assert isinstance(item, Chunk)
        if item.packet is None or not is_passthrough_packet(item.packet):
            self._replay.appendleft(item)
            return _ENGINE_NEEDED
        self._sent.append(item.packet)
        self._own_stats.passthrough_frames += 1
        return item.packet

    def _take_reply(self, reply: RenderReply) -> bytes | None:
        self._last_render_s = reply.render_s
        main, incoming = self._streams
        main.outstanding -= reply.read_main
        main.last_read = reply.read_main
        incoming.outstanding -= reply.read_incoming
        incoming.last_read = reply.read_incoming
        if reply.completed:
            self._streams = [incoming, _Stream()]
            self._packet_mode = self._incoming_packet_mode
            self._incoming, self._completed = None, True
        self._crossfading = reply.crossfading
        self._engine_stats = reply.stats
        if reply.error is not None:
            raise MediaError(reply.error)
        if reply.hand_back is not None:
            self._replay.extendleft(reversed(reply.hand_back.items))
            self._sent.clear()
            self._sent.extend(reply.hand_back.sent)
            self._passing = True
        return reply.packet

    def _forward(self, stream: _Stream, pull: Pull) -> tuple[Item, ...]:
        """What the source has ready (what was handed back first), up to what the engine may
        need for the next frame."""
        items: list[Item] = []
        want = PREFETCH + 2 * stream.last_read  # a time-stretch may read two chunks a frame
        replay = self._replay if stream is self._streams[0] else None
        while stream.outstanding + len(items) < want:
            if replay:
                items.append(replay.popleft())
                continue
            if stream.ended:
                break
            try:
                item = pull()
            except Exception as error:
                items.append(SourceFailed(str(error) or type(error).__name__))
                stream.ended = True
                break
            if item is None:
                break
            items.append(item)
            if item is END_OF_STREAM:
                stream.ended = True
                break
        stream.outstanding += len(items)
        return tuple(items)

    # ------------------------------------------------------------------ failure and end
    def _fail_over(self) -> None:
        """Carry on in this process with the latest settings; the current track resumes from the
        next chunk its source has (what was in flight is lost)."""
        transport = self._transport
        if isinstance(transport, WorkerTransport) and not transport.stopped_on_purpose:
            log.error("render worker process %s is gone; a stream continues in the main process", transport.pid)
        transport.close()
        self._own_stats = self.stats
        self._engine_stats = EngineStats()
        self._transport = LocalTransport(self._config)
        self._streams = [_Stream(), _Stream()]
        self._incoming, self._crossfading, self._passing = None, False, False
        self._transport.send(StartTrack(self._packet_mode))

    def close(self) -> None:
        """Free the engine (the session is gone)."""
        self._transport.close()


@dataclass(frozen=True)
class EngineFactory:
    """How this process's players get their engines: where they render (``connect``: a render
    worker's, or this process's ``LocalTransport``) and the encoder's settings. Given to the
    session manager by whoever set the process up (``bot/lifecycle.py``), never looked up."""

    connect: Connect = LocalTransport
    opus: OpusSettings = dataclasses.field(default_factory=OpusSettings)

    def __call__(self) -> RenderClient:
        return RenderClient(EngineConfig(opus=self.opus), connect=self.connect)
