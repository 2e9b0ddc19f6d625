"""RenderClient: the same packets as an AudioEngine alone, whether its engine runs in a render worker or
here and whether it passes a source through itself; the stream survives its worker dying."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from musicbot.audio import END_OF_STREAM, FRAME_SAMPLES, Chunk, EndOfStream
from musicbot.dsp.params import FilterSettings
from musicbot.dsp.settings import parse_filters
from musicbot.errors import MediaError
from musicbot.voice.engine import AudioEngine
from musicbot.voice.player import EventKind, Player, PlayerEvent
from musicbot.voice.processes import RenderProcesses
from musicbot.voice.protocol import OPUS_SILENCE, EngineConfig, RenderRequest, SetFilters, StartTrack
from musicbot.voice.render_client import RenderClient
from musicbot.voice.transport import LocalTransport, RenderSteps
from tests.media import opus_packets, tone, write_audio
from tests.voice.pyav_opus import OpusPacketDecoder
from tests.voice.test_crossfade import ToneSource

Item = Chunk | EndOfStream | None
CHANGES = {40: parse_filters({"timescale": {"speed": 1.2}, "reverb": {}}), 90: FilterSettings()}


@pytest.fixture(scope="module")
def processes() -> Iterator[RenderProcesses]:
    workers = RenderProcesses(1)
    workers.start()
    yield workers
    workers.stop()


@pytest.fixture(scope="module")
def packets(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    path = write_audio(Path(tmp_path_factory.mktemp("remote")) / "tone.webm", tone(330.0, 3.0, amplitude=0.3))
    return opus_packets(path)


def stream(items: list[Item], stall_at: int | None = None) -> Iterator[Item]:
    """Like a decoder: the chunks, then the end; ``stall_at``: nothing buffered for a while there."""
    for i, item in enumerate(items):
        if i == stall_at:
            yield from [None] * 30
        yield item
    while True:
        yield END_OF_STREAM


def play(
    engine: AudioEngine | RenderClient,
    items: list[Item],
    changes: dict[int, FilterSettings],
    stall_at: int | None = None,
) -> list[bytes]:
    source = stream(items, stall_at)
    if isinstance(engine, RenderClient):
        engine.apply(StartTrack(packet_mode=True))
    else:
        engine.start_track(packet_mode=True)
    out: list[bytes] = []
    while (packet := engine.next_packet(lambda: next(source))) is not None:
        if len(out) in changes:
            if isinstance(engine, RenderClient):
                engine.apply(SetFilters(changes[len(out)]))
            else:
                engine.set_filters(changes[len(out)])
        out.append(packet)
    return out


class CountingTransport(LocalTransport):
    """An engine in this process that counts the renders asked of it."""

    renders = 0

    def render(self, request: RenderRequest) -> RenderSteps:
        CountingTransport.renders += 1
        return super().render(request)


@pytest.mark.parametrize("where", ["worker", "here"])
def test_the_client_sends_exactly_what_an_engine_alone_sends(
    processes: RenderProcesses, packets: list[bytes], where: str
) -> None:
    items: list[Item] = [Chunk(i * FRAME_SAMPLES, packet=p) for i, p in enumerate(packets)]
    connect = processes.connect if where == "worker" else LocalTransport
    client = RenderClient(connect=connect)
    # passthrough (by the client itself), into and out of a time-stretched DSP path in the engine:
    # packet for packet the same
    assert play(client, items, CHANGES) == play(AudioEngine(), items, CHANGES)
    # A source that runs dry: the chunks forwarded ahead are used up, then silence, counted.
    client.close()
    client = RenderClient(connect=connect)
    stalled = play(client, items, {}, stall_at=60)
    assert 0 < stalled.count(OPUS_SILENCE) == client.stats.underruns
    assert [p for p in stalled if p != OPUS_SILENCE] == play(AudioEngine(), items, {})
    client.close()


def test_a_source_passed_through_costs_no_render_after_its_first_packet(packets: list[bytes]) -> None:
    items: list[Item] = [Chunk(i * FRAME_SAMPLES, packet=p) for i, p in enumerate(packets)]
    CountingTransport.renders = 0
    client = RenderClient(EngineConfig(normalize=False), connect=CountingTransport)
    sent = play(client, items, {})
    assert sent == packets  # untouched
    assert CountingTransport.renders == 1  # the engine saw the first packet and handed the source back
    assert client.stats.passthrough_frames == len(packets)
    # Filters on mid-track: the engine takes the source over (and renders every packet from then on).
    CountingTransport.renders = 0
    client = RenderClient(EngineConfig(normalize=False), connect=CountingTransport)
    changed = play(client, items, {50: parse_filters({"volume": 0.5})})
    assert changed[:51] == packets[:51] and changed[51:] != packets[51:]
    assert CountingTransport.renders == 1 + (len(packets) - 51) + 1  # the first, those after the change, the end


def test_a_source_error_reaches_the_player_for_its_track(processes: RenderProcesses, packets: list[bytes]) -> None:
    class Failing:
        packet_mode = True

        def __init__(self) -> None:
            self.items = iter(packets[:30])

        def read_nowait(self) -> Item:
            item = next(self.items, None)
            if item is None:
                raise MediaError("connection reset")
            return Chunk(0, packet=item)

        def close(self) -> None:
            pass

    events: list[PlayerEvent] = []
    engine = RenderClient(connect=processes.connect)
    player = Player(engine, on_event=events.append, dispose=lambda s: None, render_ahead=False)
    player.play(Failing(), token=1)  # type: ignore[arg-type]
    while player.read():
        pass
    errors = [e for e in events if e.kind is EventKind.TRACK_ERROR]
    assert len(errors) == 1 and errors[0].message == "connection reset"
    engine.close()


def test_the_stream_goes_on_in_this_process_when_the_worker_dies(packets: list[bytes]) -> None:
    workers = RenderProcesses(1)
    engine = RenderClient(EngineConfig(parse_filters({"volume": 0.5})), connect=workers.connect)
    engine.apply(StartTrack(packet_mode=True))
    source = iter([Chunk(i * FRAME_SAMPLES, packet=p) for i, p in enumerate(packets)])
    pull = lambda: next(source, END_OF_STREAM)  # noqa: E731
    before = [engine.next_packet(pull) for _ in range(20)]
    workers.stop()  # the worker process ends (as if it crashed)
    after = []
    while (packet := engine.next_packet(pull)) is not None:
        after.append(packet)
    assert OPUS_SILENCE not in before
    assert after.count(OPUS_SILENCE) <= 1  # at most the frame that was in flight
    assert len(before) + len(after) >= len(packets) - 10  # the rest of the track was played
    assert engine.filters == parse_filters({"volume": 0.5})


def test_engines_sharing_a_worker_each_get_their_own_packets(processes: RenderProcesses, packets: list[bytes]) -> None:
    items: list[Item] = [Chunk(i * FRAME_SAMPLES, packet=p) for i, p in enumerate(packets)]
    settings = [parse_filters({"volume": 0.5}), parse_filters({"timescale": {"pitch": 1.5}})]
    engines = [RenderClient(EngineConfig(s), connect=processes.connect) for s in settings]
    sources = [stream(items), stream(items)]
    for engine in engines:
        engine.apply(StartTrack(packet_mode=True))
    out: list[list[bytes]] = [[], []]
    for _ in range(len(packets) // 2):  # interleaved, each with a request in flight as the other asks
        steps = [engine.packet_steps(lambda s=source: next(s)) for engine, source in zip(engines, sources, strict=True)]
        for step in steps:
            next(step)
        for i, step in enumerate(steps):
            with pytest.raises(StopIteration) as done:
                step.send(None)
            out[i].append(done.value.value)
    for i, s in enumerate(settings):
        local = AudioEngine(s)
        local.start_track(packet_mode=True)
        fresh = stream(items)
        assert out[i] == [local.next_packet(lambda: next(fresh)) for _ in range(len(out[i]))]  # noqa: B023
        engines[i].close()


def test_a_change_is_in_the_second_packet_after_it_when_the_worker_renders(processes: RenderProcesses) -> None:
    player = Player(RenderClient(EngineConfig(normalize=False), connect=processes.connect), dispose=lambda s: None)
    player.play(ToneSource(1.2, level=0.4), token=1)  # type: ignore[arg-type]
    levels: list[float] = []
    decoder = OpusPacketDecoder()

    def send(count: int) -> None:  # as discord.py with voice/client.py's VoiceClient: read, send, tell
        for _ in range(count):
            levels.append(float(np.abs(decoder.decode(player.read())).mean()))
            player.after_send()

    send(20)
    player.set_volume(0.25)  # packet 21 was asked for already: it goes out as it was
    send(20)
    full = np.median(levels[5:19])
    changed = next(i for i in range(20, 40) if levels[i] < 0.6 * full)
    assert changed <= 20 + 2  # as with render threads (test_ahead.py): the packet asked for, then the change
    assert np.median(levels[24:]) == pytest.approx(0.25 * full, rel=0.1)
    player.cleanup()
