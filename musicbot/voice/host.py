"""``EngineHost``: an ``AudioEngine`` driven by the protocol's values (``voice/protocol.py``).

The one place commands and render requests meet an engine, in a render worker process
(``voice/worker.py``) and in this process (``voice/render_client.py``'s ``LocalTransport``) alike.
A render request brings the chunks the client read from its sources; the engine reads them from
these buffers exactly as it would read the sources themselves.
"""

from __future__ import annotations

from collections import deque

from musicbot.audio import END_OF_STREAM, Chunk, EndOfStream
from musicbot.errors import MediaError
from musicbot.voice.engine import AudioEngine
from musicbot.voice.protocol import (
    BeginCrossfade,
    CancelCrossfade,
    EngineCommand,
    HandBack,
    HurryCrossfade,
    Item,
    RenderReply,
    RenderRequest,
    SetCrossfade,
    SetFilters,
    SetNormalization,
    SetVolume,
    SourceFailed,
    StartTrack,
    TakeOver,
)


class _Buffer:
    """The items of one source the client forwarded, read by the engine as its source."""

    def __init__(self) -> None:
        self.items: deque[Item] = deque()
        self.ended = False

    def pull(self) -> Chunk | EndOfStream | None:
        if self.ended:
            return END_OF_STREAM
        if not self.items:
            return None  # nothing forwarded: an underrun, as with an empty decoder buffer
        item = self.items.popleft()
        if isinstance(item, Chunk):
            return item
        self.ended = True
        if isinstance(item, SourceFailed):
            raise MediaError(item.message)
        return END_OF_STREAM


class EngineHost:
    """One engine and the buffers of its current source ([0]) and of the one fading in ([1])."""

    def __init__(self, engine: AudioEngine) -> None:
        self.engine = engine
        self._buffers = [_Buffer(), _Buffer()]

    def _pull_main(self) -> Chunk | EndOfStream | None:
        return self._buffers[0].pull()  # looked up per call: the buffers swap after a crossfade

    def _pull_incoming(self) -> Chunk | EndOfStream | None:
        return self._buffers[1].pull()

    def apply(self, command: EngineCommand) -> None:
        engine = self.engine
        match command:
            case SetFilters(settings):
                engine.set_filters(settings)
            case SetVolume(volume):
                engine.set_volume(volume)
            case SetNormalization(enabled, target_lufs):
                engine.set_normalization(enabled, target_lufs)
            case SetCrossfade():
                engine.crossfade_samples = command.samples
            case StartTrack(packet_mode):
                self._buffers = [_Buffer(), _Buffer()]
                engine.start_track(packet_mode=packet_mode)
            case BeginCrossfade(packet_mode, length_samples, until_sample, skip_samples):
                self._buffers[1] = _Buffer()
                engine.begin_crossfade(self._pull_incoming, packet_mode=packet_mode, length_samples=length_samples,
                                       until_sample=until_sample, skip_samples=skip_samples)
            case HurryCrossfade():
                engine.hurry_crossfade()
            case CancelCrossfade():
                engine.cancel_crossfade()
                self._buffers[1] = _Buffer()
            case TakeOver(sent):
                self._buffers[0] = _Buffer()
                engine.take_over_passthrough(sent)

    def render(self, request: RenderRequest) -> RenderReply:
        main, incoming = self._buffers
        main.items.extend(request.main)
        incoming.items.extend(request.incoming)
        before_main, before_incoming = len(main.items), len(incoming.items)
        error: str | None = None
        packet: bytes | None = None
        try:
            packet = self.engine.next_packet(self._pull_main)
        except Exception as failure:
            error = str(failure) or type(failure).__name__
        read_main, read_incoming = before_main - len(main.items), before_incoming - len(incoming.items)
        completed = self.engine.take_crossfade_completed()
        if completed:
            self._buffers = [incoming, _Buffer()]
        hand_back = None
        if packet is not None and error is None and self.engine.idle_passthrough:
            # Nothing to do but pass packets on: the client does that itself (no round trip per
            # packet); what was read ahead goes back to it, in order.
            chunks, sent = self.engine.release_passthrough()
            buffer = self._buffers[0]
            hand_back = HandBack(items=(*chunks, *buffer.items), sent=sent)
            read_main += len(buffer.items)  # counted as used here: the client holds them again
            self._buffers[0] = _Buffer()
        return RenderReply(packet, read_main, read_incoming, completed, self.engine.crossfading, error,
                           self.engine.stats.copy(), self.engine.last_render_s, hand_back)
