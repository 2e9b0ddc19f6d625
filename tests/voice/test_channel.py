"""WorkerChannel: what the sender asks of a render worker in one pass reaches it as one message, and
one reply message answers every engine in it (voice/channel.py). The worker's side is played here
over a real socket pair with the worker's own batch handler."""

from __future__ import annotations

import pickle
import socket
from collections.abc import Iterator
from multiprocessing.connection import Connection

import numpy as np
import pytest

from musicbot.audio import FRAME_SAMPLES, Chunk
from musicbot.voice.channel import WorkerChannel, batched
from musicbot.voice.host import EngineHost
from musicbot.voice.protocol import (
    AdoptEngine,
    DropEngine,
    EngineConfig,
    RenderRequest,
    SetVolume,
    StartTrack,
    WorkerMessage,
)
from musicbot.voice.worker import _serve_batch
from tests.media import tone
from tests.voice.pyav_opus import OpusPacketDecoder


@pytest.fixture
def pair() -> Iterator[tuple[WorkerChannel, Connection]]:
    ours, theirs = socket.socketpair()
    channel = WorkerChannel(Connection(ours.detach()))
    worker = Connection(theirs.detach())
    yield channel, worker
    channel.close()
    worker.close()


def received(worker: Connection) -> list[list[tuple[int, WorkerMessage]]]:
    """Every message waiting at the worker's end, each a batch."""
    batches = []
    while worker.poll(0.05):
        batches.append(pickle.loads(worker.recv_bytes()))
    return batches


def pcm(at: int) -> Chunk:
    return Chunk(at * FRAME_SAMPLES, pcm=tone(440.0, 0.02, amplitude=0.3)[:FRAME_SAMPLES].copy())


def test_posts_in_a_batch_go_out_together_in_order_and_others_at_once(
    pair: tuple[WorkerChannel, Connection],
) -> None:
    channel, worker = pair
    a, b = channel.open_engine(), channel.open_engine()
    assert channel.post(a, StartTrack(packet_mode=False))  # outside a batch: sent now
    assert received(worker) == [[(a, StartTrack(packet_mode=False))]]
    with batched():
        channel.post(a, SetVolume(0.5))
        channel.post(b, RenderRequest((pcm(0),)))
        channel.post(a, RenderRequest((pcm(0),)))
        assert received(worker) == []  # nothing before the pass's requests are all made
    (batch,) = received(worker)
    assert [(engine, type(message)) for engine, message in batch] == [
        (a, SetVolume), (b, RenderRequest), (a, RenderRequest)]


def test_one_reply_message_answers_every_engine_of_the_batch(pair: tuple[WorkerChannel, Connection]) -> None:
    channel, worker = pair
    engines = [channel.open_engine() for _ in range(3)]
    volumes = [0.2, 1.0, 0.6]
    with batched():
        for engine, volume in zip(engines, volumes, strict=True):
            channel.post(engine, AdoptEngine(EngineConfig(volume=volume, normalize=False)))
            channel.post(engine, StartTrack(packet_mode=False))
    hosts: dict[int, EngineHost] = {}
    _serve_batch(worker, hosts)  # the worker's own handler
    assert sorted(hosts) == engines and not worker.poll(0)  # no render asked: no reply
    decoders = [OpusPacketDecoder() for _ in engines]
    levels: list[float] = []
    for frame in range(3):
        with batched():
            for engine in engines:
                channel.post(engine, RenderRequest((pcm(frame),)))
        _serve_batch(worker, hosts)
        # The first engine to wait reads the one reply; the others find theirs already in.
        assert channel.answered(engines[2], timeout=5.0)
        assert all(channel.answered(engine, timeout=0) for engine in engines)
        replies = [channel.take(engine) for engine in engines]
        levels = [float(np.abs(decoder.decode(reply.packet)).mean())
                  for decoder, reply in zip(decoders, replies, strict=True) if reply is not None and reply.packet]
    # Each engine's packet came back to it: the three levels are as its volume says.
    assert len(levels) == 3
    assert levels[0] / levels[1] == pytest.approx(0.2, rel=0.1)
    assert levels[2] / levels[1] == pytest.approx(0.6, rel=0.1)


def test_a_closed_engine_is_dropped_by_the_worker_and_its_late_reply_ignored(
    pair: tuple[WorkerChannel, Connection],
) -> None:
    channel, worker = pair
    kept, closed = channel.open_engine(), channel.open_engine()
    for engine in (kept, closed):
        channel.post(engine, AdoptEngine(EngineConfig(normalize=False)))
        channel.post(engine, StartTrack(packet_mode=False))
    hosts: dict[int, EngineHost] = {}
    while worker.poll(0.05):
        _serve_batch(worker, hosts)
    with batched():
        channel.post(kept, RenderRequest((pcm(0),)))
        channel.post(closed, RenderRequest((pcm(0),)))
    _serve_batch(worker, hosts)  # both answered in one message ...
    channel.post(closed, DropEngine())
    channel.forget(closed)  # ... but one engine was closed meanwhile
    assert channel.take(kept) is not None
    assert channel.answered(closed, timeout=0) and channel.take(closed) is None
    _serve_batch(worker, hosts)
    assert list(hosts) == [kept]


def test_a_worker_gone_reads_as_no_answer_instead_of_a_wait(pair: tuple[WorkerChannel, Connection]) -> None:
    channel, worker = pair
    engine = channel.open_engine()
    assert channel.post(engine, RenderRequest((pcm(0),)))
    worker.close()  # the worker process ended
    assert channel.take(engine) is None
    assert channel.closed and not channel.post(engine, RenderRequest((pcm(1),)))


@pytest.mark.parametrize(("reply_every_s", "messages"), [(60.0, 1), (0.0, 3)])
def test_a_long_batch_is_answered_in_parts(monkeypatch: pytest.MonkeyPatch, reply_every_s: float,
                                           messages: int) -> None:
    """A batch whose rendering takes longer than REPLY_EVERY_S (eight full chains) is answered in
    several messages, so the first engines' packets are not held back by the last one's."""
    import musicbot.voice.worker as worker_module

    monkeypatch.setattr(worker_module, "REPLY_EVERY_S", reply_every_s)
    ours, theirs = socket.socketpair()
    main, worker = Connection(ours.detach()), Connection(theirs.detach())
    hosts: dict[int, EngineHost] = {}
    batch: list[tuple[int, WorkerMessage]] = []
    for engine in (1, 2, 3):
        batch += [(engine, AdoptEngine(EngineConfig(normalize=False))), (engine, StartTrack(packet_mode=False)),
                  (engine, RenderRequest((pcm(0),)))]
    main.send_bytes(pickle.dumps(batch))
    _serve_batch(worker, hosts)
    replies = []
    while main.poll(0.05):
        replies.append([engine for engine, _ in pickle.loads(main.recv_bytes())])
    assert len(replies) == messages and [e for part in replies for e in part] == [1, 2, 3]
    main.close()
    worker.close()
