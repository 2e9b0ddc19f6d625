"""Render-ahead: the next packet is ready before discord.py asks; changes still heard within 2 packets."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator

import numpy as np
import pytest

from musicbot.voice.ahead import Ready, SteppedRender
from musicbot.voice.player import Player
from musicbot.voice.protocol import EngineConfig
from musicbot.voice.render_client import RenderClient
from tests.voice.pyav_opus import OpusPacketDecoder
from tests.voice.test_crossfade import ToneSource


def test_a_volume_change_is_in_the_second_packet_after_it_when_rendered_here() -> None:
    player = Player(RenderClient(EngineConfig(normalize=False)), dispose=lambda s: None)
    player.play(ToneSource(1.2, level=0.4), token=1)  # type: ignore[arg-type]
    packets = [player.read() for _ in range(20)]  # each read renders the next packet ahead, at once
    player.set_volume(0.25)  # the worst case: packet 21 is already rendered when the command comes
    packets += [player.read() for _ in range(20)]
    decoder = OpusPacketDecoder()
    levels = [float(np.abs(decoder.decode(p)).mean()) for p in packets]
    full = np.median(levels[5:19])
    changed = next(i for i in range(20, 40) if levels[i] < 0.6 * full)
    assert changed <= 20 + 2  # the packet rendered before the command goes out, then the change
    assert np.median(levels[24:]) == pytest.approx(0.25 * full, rel=0.1)
    player.cleanup()


# ------------------------------------------------------------------ SteppedRender
class _Worker:
    """A stand-in for a render worker: answers are released by the test."""

    def __init__(self) -> None:
        self.asked: list[int] = []
        self.answers: list[threading.Event] = []

    def steps(self, rounds: int = 1, fail_at: int | None = None) -> Generator[Ready, None, bytes]:
        for _ in range(rounds):
            if fail_at == len(self.asked):
                raise RuntimeError("worker says no")
            self.asked.append(len(self.asked))
            answer = threading.Event()
            self.answers.append(answer)
            yield answer.wait
        return f"packet after {len(self.asked)} asks".encode()


def test_a_stepped_render_asks_at_request_and_reads_the_answer_at_take() -> None:
    worker = _Worker()
    slot = SteppedRender(worker.steps)
    assert slot.take() is None  # nothing requested yet
    slot.request()
    assert worker.asked == [0]  # asked right away, on the caller's thread
    slot.request()
    assert worker.asked == [0]  # one render in flight at a time
    with pytest.raises(TimeoutError):
        slot.take(timeout=0.01)  # the answer is late: it stays pending
    worker.answers[0].set()
    assert slot.take() == b"packet after 1 asks"
    assert slot.take() is None


def test_a_stepped_render_that_needs_a_second_answer_waits_for_it_in_take() -> None:
    worker = _Worker()
    slot = SteppedRender(lambda: worker.steps(rounds=2))
    slot.request()
    worker.answers[0].set()

    def answer_the_second_ask() -> None:
        while len(worker.answers) < 2:
            time.sleep(0.001)
        worker.answers[1].set()

    threading.Thread(target=answer_the_second_ask, daemon=True).start()
    assert slot.take() == b"packet after 2 asks"  # e.g. a track ended: the next one's first packet


def test_a_stepped_render_error_reaches_the_reader_whenever_it_happens() -> None:
    worker = _Worker()
    slot = SteppedRender(lambda: worker.steps(fail_at=0))
    slot.request()  # fails before asking: kept for take
    with pytest.raises(RuntimeError, match="worker says no"):
        slot.take()
    slot = SteppedRender(lambda: worker.steps(rounds=2, fail_at=1))
    slot.request()
    worker.answers[-1].set()
    with pytest.raises(RuntimeError, match="worker says no"):
        slot.take()  # fails after the first answer
    assert slot.take() is None
