"""RefillBuffer: a full buffer's producer sleeps until a batch is played, then refills at once."""

from __future__ import annotations

import threading
import time

from musicbot.sources.buffer import RefillBuffer, spread_refill_point


def _wait_for(condition: object, timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.001)
    return False


def _producer(buffer: RefillBuffer[int], stop: threading.Event, puts: list[float]) -> threading.Thread:
    def run() -> None:
        n = 0
        while buffer.put(n, stop.is_set):
            puts.append(time.monotonic())
            n += 1

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_the_producer_refills_only_once_a_batch_is_played_and_then_all_at_once() -> None:
    buffer: RefillBuffer[int] = RefillBuffer(20, refill_at=10)
    stop = threading.Event()
    puts: list[float] = []
    thread = _producer(buffer, stop, puts)
    assert _wait_for(lambda: len(buffer) == 20)
    taken = [buffer.get_nowait() for _ in range(9)]
    time.sleep(0.05)
    assert len(buffer) == 11 and len(puts) == 20  # still above refill_at: the producer sleeps
    taken.append(buffer.get_nowait())  # down to refill_at
    assert _wait_for(lambda: len(buffer) == 20)  # refilled in one go
    assert len(puts) == 30
    assert taken == list(range(10))  # in order, nothing lost
    assert [buffer.get_nowait() for _ in range(20)] == list(range(10, 30))
    stop.set()
    thread.join(1)


def test_a_producer_waiting_on_a_full_buffer_stops_when_told() -> None:
    buffer: RefillBuffer[int] = RefillBuffer(4)
    stop = threading.Event()
    thread = _producer(buffer, stop, [])
    assert _wait_for(lambda: len(buffer) == 4)
    stop.set()
    buffer.clear()
    thread.join(1)
    assert not thread.is_alive() and len(buffer) == 0


def test_a_blocking_read_gets_what_arrives_and_gives_up_after_its_timeout() -> None:
    buffer: RefillBuffer[str] = RefillBuffer(4)
    assert buffer.get_nowait() is None
    started = time.monotonic()
    assert buffer.get(0.05) is None
    assert time.monotonic() - started >= 0.04
    threading.Timer(0.05, lambda: buffer.put("late", lambda: False)).start()
    assert buffer.get(5) == "late"


def test_buffers_started_together_refill_at_different_points() -> None:
    points = {spread_refill_point(100) for _ in range(200)}
    assert min(points) >= 80 and max(points) <= 90 and len(points) > 5
