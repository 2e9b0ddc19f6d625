"""Crossfade: equal-power overlap of the end of one track with the start of the next (engine and player)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import numpy.typing as npt
import pytest

from musicbot.audio import END_OF_STREAM, Chunk, EndOfStream
from musicbot.dsp.frame import FRAME_SAMPLES
from musicbot.errors import MediaError
from musicbot.voice.engine import AudioEngine
from musicbot.voice.player import EndReason, EventKind, Player, PlayerEvent
from musicbot.voice.processes import RenderProcesses
from musicbot.voice.protocol import OPUS_SILENCE, EngineConfig
from musicbot.voice.render_client import RenderClient
from tests.media import tone

RATE = 48_000
Item = Chunk | EndOfStream | None


def tone_items(hz: float, seconds: float, amplitude: float = 0.4) -> list[Item]:
    signal = tone(hz, seconds, amplitude=amplitude)
    items: list[Item] = [Chunk(i, pcm=np.ascontiguousarray(signal[i:i + FRAME_SAMPLES]))
                         for i in range(0, len(signal) - FRAME_SAMPLES + 1, FRAME_SAMPLES)]
    return [*items, END_OF_STREAM]


def puller(items: list[Item]) -> Callable[[], Item]:
    return lambda: items.pop(0) if items else END_OF_STREAM


def amplitude_at(pcm: npt.NDArray[np.float32], hz: float, block: int = 1920) -> npt.NDArray[np.float64]:
    """Amplitude of the ``hz`` component per ``block`` samples (Hann-windowed projection)."""
    x = pcm[: len(pcm) // block * block, 0].reshape(-1, block).astype(np.float64)
    window = np.hanning(block)
    t = np.arange(block) / RATE
    probe = window * np.exp(-2j * np.pi * hz * t)
    return np.asarray(2 * np.abs(x @ probe) / window.sum())


def render_with_crossfade(
    seconds_a: float, seconds_b: float, fade_at_s: float, fade_s: float
) -> npt.NDArray[np.float32]:
    """The engine's PCM for tone A (440 Hz) fading into tone B (660 Hz) from ``fade_at_s``, as the player drives it."""
    engine = AudioEngine(normalize=False)
    engine.start_track(packet_mode=False)
    pull_b = puller(tone_items(660.0, seconds_b))
    pull = puller(tone_items(440.0, seconds_a))
    frames = []
    while True:
        if len(frames) == round(fade_at_s * 50):
            engine.begin_crossfade(pull_b, packet_mode=False, length_samples=round(fade_s * RATE))
        frame = engine.next_pcm(pull)
        if engine.take_crossfade_completed():
            pull = pull_b  # the player swaps its slots here
        if frame is None:
            return np.concatenate(frames)
        frames.append(frame)


def test_equal_power_overlap_for_the_set_time_then_the_next_track_alone() -> None:
    pcm = render_with_crossfade(2.0, 2.0, fade_at_s=1.0, fade_s=1.0)
    a, b = amplitude_at(pcm, 440.0), amplitude_at(pcm, 660.0)
    both = np.flatnonzero((a > 0.004) & (b > 0.004))  # each above −40 dB of its full 0.4
    overlap_s = len(both) * 1920 / RATE
    assert overlap_s == pytest.approx(1.0, abs=0.08)
    assert both[0] * 1920 / RATE == pytest.approx(1.0, abs=0.05)
    level = np.sqrt(a**2 + b**2)  # power sum of the two tones
    steady = 0.4
    dips_db = 20 * np.log10(level[5:-5] / steady)
    assert np.all(np.abs(dips_db) < 0.5)  # equal power: no dip in the middle of the fade
    assert len(pcm) == pytest.approx(3.0 * RATE, abs=2 * FRAME_SAMPLES)  # 2 s + 2 s − 1 s of overlap


# ---------------------------------------------------------------------------------------------- player


class ToneSource:
    """A finished decoder of PCM chunks with a known duration (like ``Decoder.duration_s``)."""

    packet_mode = False

    def __init__(self, seconds: float, level: float = 0.3, *, fail_at: int | None = None) -> None:
        self.items = tone_items(440.0, seconds, amplitude=level)
        self.duration_s = seconds
        self.fail_at = fail_at
        self.reads = 0
        self.closed = 0

    def read_nowait(self) -> Item:
        if self.fail_at is not None and self.reads >= self.fail_at:
            raise MediaError("connection reset")
        self.reads += 1
        return self.items.pop(0) if self.items else END_OF_STREAM

    def close(self) -> None:
        self.closed += 1


def make_player(
    crossfade_s: float, engine: RenderClient | None = None
) -> tuple[Player, list[PlayerEvent], list[object]]:
    events: list[PlayerEvent] = []
    disposed: list[object] = []
    player = Player(engine or RenderClient(EngineConfig(normalize=False)), on_event=events.append,
                    dispose=disposed.append, render_ahead=False)  # type: ignore[arg-type]
    player.set_crossfade(crossfade_s)
    return player, events, disposed


def kinds(events: list[PlayerEvent]) -> list[tuple[EventKind, int, EndReason | None]]:
    return [(e.kind, e.token, e.reason) for e in events if e.kind is not EventKind.UNDERRUN]


def read_all(player: Player, limit: int = 2000, on: Callable[[int], None] = lambda i: None) -> list[bytes]:
    out = []
    for i in range(limit):
        on(i)
        packet = player.read()
        if not packet:
            break
        out.append(packet)
    return out


@pytest.fixture(scope="module")
def workers() -> Iterator[RenderProcesses]:
    processes = RenderProcesses(1)
    yield processes
    processes.stop()


@pytest.mark.parametrize("where", ["here", "worker"])
def test_player_overlaps_then_hands_over_with_events(where: str, workers: RenderProcesses) -> None:
    engine = (RenderClient(EngineConfig(normalize=False), connect=workers.connect) if where == "worker"
              else None)
    player, events, disposed = make_player(0.5, engine)
    first, second = ToneSource(2.0), ToneSource(1.0)
    player.play(first, token=1)  # type: ignore[arg-type]
    player.queue_next(second, token=2)  # type: ignore[arg-type]
    packets = read_all(player)
    assert OPUS_SILENCE not in packets
    assert len(packets) == pytest.approx(100 + 50 - 25, abs=2)
    assert kinds(events) == [
        (EventKind.TRACK_START, 1, None),
        (EventKind.TRACK_END, 1, EndReason.FINISHED),
        (EventKind.TRACK_START, 2, None),
        (EventKind.TRACK_END, 2, EndReason.FINISHED),
    ]
    assert disposed == [first, second]


def test_zero_crossfade_stays_gapless_end_to_end() -> None:
    player, _, _ = make_player(0.0)
    player.play(ToneSource(1.0), token=1)  # type: ignore[arg-type]
    player.queue_next(ToneSource(1.0), token=2)  # type: ignore[arg-type]
    assert len(read_all(player)) == pytest.approx(100, abs=1)


@pytest.mark.parametrize("where", ["here", "worker"])
def test_skip_mid_fade_goes_to_the_next_track_now_without_restarting_it(where: str, workers: RenderProcesses) -> None:
    engine = (RenderClient(EngineConfig(normalize=False), connect=workers.connect) if where == "worker"
              else None)
    player, events, _ = make_player(1.0, engine)
    second = ToneSource(2.0)
    player.play(ToneSource(2.0), token=1)  # type: ignore[arg-type]
    player.queue_next(second, token=2)  # type: ignore[arg-type]
    packets = read_all(player, on=lambda i: player.skip() if i == 75 else None)  # half-way through the fade
    assert (EventKind.TRACK_END, 1, EndReason.REPLACED) in kinds(events)
    # the fade started at 1 s, the skip came 0.5 s into it: the next track goes on from there
    assert len(packets) == pytest.approx(50 + 100, abs=3)
    assert player.current_token is None and second.reads >= 100


def test_withdrawing_the_next_track_mid_fade_fades_it_back_out() -> None:
    player, events, disposed = make_player(1.0)
    first, second = ToneSource(2.0), ToneSource(2.0)
    player.play(first, token=1)  # type: ignore[arg-type]
    player.queue_next(second, token=2)  # type: ignore[arg-type]
    packets = read_all(player, on=lambda i: player.queue_next(None) if i == 70 else None)
    assert len(packets) == pytest.approx(100, abs=2)  # only the first track, to its end
    assert [k for k in kinds(events) if k[1] == 2] == []
    assert disposed == [second, first]


@pytest.mark.parametrize("command", ["stop", "play"])
def test_stop_or_play_mid_fade_drops_the_half_played_next_track(command: str) -> None:
    player, events, disposed = make_player(1.0)
    second = ToneSource(2.0)
    player.play(ToneSource(2.0), token=1)  # type: ignore[arg-type]
    player.queue_next(second, token=2)  # type: ignore[arg-type]
    read_all(player, limit=70)
    if command == "stop":
        player.stop()
    else:
        player.play(ToneSource(0.5), token=3)  # type: ignore[arg-type]
    rest = read_all(player)
    assert (EventKind.TRACK_END, 2, EndReason.REPLACED) in kinds(events)  # the session reopens it
    assert second in disposed
    assert len(rest) == (0 if command == "stop" else pytest.approx(25, abs=2))


def test_next_track_failing_during_the_fade_is_reported_for_that_track() -> None:
    player, events, _ = make_player(1.0)
    player.play(ToneSource(2.0), token=1)  # type: ignore[arg-type]
    player.queue_next(ToneSource(2.0, fail_at=10), token=2)  # type: ignore[arg-type]
    read_all(player)
    errors = [e for e in events if e.kind is EventKind.TRACK_ERROR]
    assert [e.token for e in errors] == [2]
    assert (EventKind.TRACK_END, 1, EndReason.FINISHED) in kinds(events)


def test_crossfade_outside_0_to_12_seconds_is_refused() -> None:
    player, _, _ = make_player(0.0)
    with pytest.raises(ValueError, match="0–12"):
        player.set_crossfade(12.5)
