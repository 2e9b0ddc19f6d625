"""Splices: a stretch of the current track left out without a gap (engine, player, Opus sources).

The test track is 440 Hz, then a 660 Hz "sponsor" stretch, then 550 Hz (or 440 again): what comes out
must never hold 660 Hz, never fall silent and never click, and be as long as the track less the stretch.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from musicbot.audio import END_OF_STREAM, Chunk, EndOfStream
from musicbot.dsp.frame import FRAME_SAMPLES
from musicbot.sources.decoder import Decoder
from musicbot.voice.engine import AudioEngine
from musicbot.voice.player import EndReason, EventKind, Player, PlayerEvent
from musicbot.voice.processes import RenderProcesses
from musicbot.voice.protocol import OPUS_SILENCE, EngineConfig
from musicbot.voice.render_client import RenderClient
from musicbot.voice.splice import Splice
from tests.dsp.signals import clicks
from tests.media import write_audio
from tests.voice.pyav_opus import OpusPacketDecoder
from tests.voice.test_crossfade import amplitude_at, kinds, read_all

RATE = 48_000
AMPLITUDE = 0.4
A_S, B_S = 2.0, 3.5  # the sponsor stretch
LENGTH_S = 6.0
PREROLL = 4 * FRAME_SAMPLES
Item = Chunk | EndOfStream | None


def sponsored(after_hz: float = 550.0) -> npt.NDArray[np.float32]:
    """440 Hz, 660 Hz from A_S to B_S, then ``after_hz``: one continuous-phase oscillator per tone."""
    t = np.arange(round(LENGTH_S * RATE)) / RATE
    hz = np.where(t < A_S, 440.0, np.where(t < B_S, 660.0, after_hz))
    mono = (AMPLITUDE * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return np.stack([mono, mono], axis=1)


class PcmStream:
    """A decoder's look-alike over ``signal`` from sample ``start`` (chunks numbered on the track's timeline)."""

    packet_mode = False

    def __init__(self, signal: npt.NDArray[np.float32], start: int = 0) -> None:
        self.items: list[Item] = [Chunk(i, pcm=np.ascontiguousarray(signal[i:i + FRAME_SAMPLES]))
                                  for i in range(start, len(signal) - FRAME_SAMPLES + 1, FRAME_SAMPLES)]
        self.items.append(END_OF_STREAM)
        self.duration_s = len(signal) / RATE
        self.closed = 0

    def read_nowait(self) -> Item:
        return self.items.pop(0) if self.items else END_OF_STREAM

    def close(self) -> None:
        self.closed += 1


def resume_of(signal: npt.NDArray[np.float32], at_s: float = B_S) -> tuple[PcmStream, int]:
    """The continuation opened a pre-roll early, as the session opens it; with the samples to drop."""
    start = round(at_s * RATE) - PREROLL
    return PcmStream(signal, start), PREROLL


def levels(pcm: npt.NDArray[np.float32], hz: float) -> npt.NDArray[np.float64]:
    return amplitude_at(pcm, hz, block=FRAME_SAMPLES * 2)


def assert_spliced(pcm: npt.NDArray[np.float32], *, heard_s: float) -> None:
    """No sponsor, no gap, no click; as long as what is heard."""
    assert np.max(levels(pcm, 660.0)) < 0.01 * AMPLITUDE
    block = np.sqrt(np.mean(pcm[: len(pcm) // 960 * 960, 0].reshape(-1, 960).astype(np.float64) ** 2, axis=1))
    steady = AMPLITUDE / np.sqrt(2)
    inner = block[3:-3]
    assert np.min(inner) > steady * 10 ** (-1.0 / 20), f"a dip to {20 * np.log10(np.min(inner) / steady):.1f} dB"
    assert clicks(pcm[FRAME_SAMPLES:-FRAME_SAMPLES]) == []
    assert len(pcm) == pytest.approx(heard_s * RATE, abs=2 * FRAME_SAMPLES)


# ---------------------------------------------------------------------------------------------- engine
def render_spliced(fade_samples: int, *, after_hz: float = 550.0, arm_at_frame: int = 50) -> npt.NDArray[np.float32]:
    signal = sponsored(after_hz)
    engine = AudioEngine(normalize=False)
    engine.start_track(packet_mode=False)
    pull: Callable[[], Item] = PcmStream(signal).read_nowait
    resume, skip = resume_of(signal)
    frames = []
    while True:
        if len(frames) == arm_at_frame:
            engine.begin_crossfade(resume.read_nowait, packet_mode=False, length_samples=fade_samples,
                                   until_sample=round(A_S * RATE), skip_samples=skip)
        frame = engine.next_pcm(pull)
        if engine.take_crossfade_completed():
            pull = resume.read_nowait
        if frame is None:
            return np.concatenate(frames)
        frames.append(frame)


def test_a_short_splice_leaves_the_stretch_out_without_gap_or_click() -> None:
    pcm = render_spliced(FRAME_SAMPLES, after_hz=440.0)
    assert_spliced(pcm, heard_s=LENGTH_S - (B_S - A_S))


def test_the_outgoing_side_is_silent_from_the_stretch_and_the_fade_ends_there() -> None:
    fade = 50 * FRAME_SAMPLES  # 1 s, as with a guild crossfade
    pcm = render_spliced(fade)
    before, after = levels(pcm, 440.0), levels(pcm, 550.0)
    block_s = 2 * FRAME_SAMPLES / RATE
    at = round(A_S / block_s)  # the stretch's start, in output blocks (nothing was left out before it)
    assert np.all(before[at:-1] < 0.01 * AMPLITUDE)  # nothing of the track before the stretch after it
    assert np.all(after[: at - round(1.0 / block_s) - 1] < 0.01 * AMPLITUDE)  # the fade took 1 s, not more
    assert np.max(levels(pcm, 660.0)[:-1]) < 0.01 * AMPLITUDE
    # The two sides overlap for the fade, as two tracks crossfading do.
    assert len(pcm) == pytest.approx((LENGTH_S - (B_S - A_S) - 1.0) * RATE, abs=2 * FRAME_SAMPLES)


def test_a_splice_asked_for_late_still_leaves_out_the_rest_of_the_stretch() -> None:
    pcm = render_spliced(FRAME_SAMPLES, after_hz=440.0, arm_at_frame=120)  # 2.4 s: inside the stretch
    heard_660 = levels(pcm, 660.0) > 0.01 * AMPLITUDE
    assert 0.3 < np.count_nonzero(heard_660) * 2 * FRAME_SAMPLES / RATE < 0.5  # 2.0–2.4 s, then cut
    assert np.all(~heard_660[round(2.5 / (2 * FRAME_SAMPLES / RATE)):-1])  # (the last block: the file's hard end)


# ---------------------------------------------------------------------------------------------- player
def make_player(crossfade_s: float = 0.0, engine: RenderClient | None = None
                ) -> tuple[Player, list[PlayerEvent], list[object]]:
    events: list[PlayerEvent] = []
    disposed: list[object] = []
    player = Player(engine or RenderClient(EngineConfig(normalize=False)), on_event=events.append,
                    dispose=disposed.append, render_ahead=False)  # type: ignore[arg-type]
    player.set_crossfade(crossfade_s)
    return player, events, disposed


def decode(packets: list[bytes]) -> npt.NDArray[np.float32]:
    decoder = OpusPacketDecoder()
    return np.concatenate([decoder.decode(p) for p in packets]).astype(np.float32)


@pytest.fixture(scope="module")
def workers() -> Iterator[RenderProcesses]:
    processes = RenderProcesses(1)
    yield processes
    processes.stop()


@pytest.mark.parametrize("where", ["here", "worker"])
def test_player_splices_the_current_track_and_says_so(where: str, workers: RenderProcesses) -> None:
    engine = RenderClient(EngineConfig(normalize=False), connect=workers.connect) if where == "worker" else None
    player, events, disposed = make_player(0.0, engine)
    signal = sponsored()
    first = PcmStream(signal)
    resume, skip = resume_of(signal)
    player.play(first, token=1)  # type: ignore[arg-type]
    player.queue_splice(1, Splice(A_S, resume, B_S, skip))
    packets = read_all(player, limit=3000)
    assert OPUS_SILENCE not in packets
    assert len(packets) == pytest.approx((LENGTH_S - (B_S - A_S)) * 50, abs=3)
    assert kinds(events) == [(EventKind.TRACK_START, 1, None), (EventKind.SEGMENT_SKIPPED, 1, None),
                             (EventKind.TRACK_END, 1, EndReason.FINISHED)]
    assert disposed == [first, resume]
    pcm = decode(packets)
    # −28 dB: the 20 ms fade from 440 to 550 Hz spreads a little energy around (−31 dB at 660 Hz);
    # 10 ms of the stretch itself would be −12 dB.
    assert np.max(levels(pcm[4800:], 660.0)) < 0.05 * AMPLITUDE


def test_position_jumps_over_the_stretch() -> None:
    player, _, _ = make_player()
    signal = sponsored()
    resume, skip = resume_of(signal)
    player.play(PcmStream(signal), token=1)  # type: ignore[arg-type]
    player.queue_splice(1, Splice(A_S, resume, B_S, skip))
    positions: list[float] = []
    read_all(player, limit=150, on=lambda i: positions.append(player.position_s))
    jumps = [b - a for a, b in itertools.pairwise(positions) if b - a > 0.1]
    assert jumps == [pytest.approx(B_S - A_S, abs=0.1)]


def test_a_stretch_at_the_end_ends_the_track_there_with_a_fade() -> None:
    player, events, _ = make_player()
    player.play(PcmStream(sponsored()), token=1)  # type: ignore[arg-type]
    player.queue_splice(1, Splice(4.0, None))
    packets = read_all(player, limit=3000)
    assert len(packets) == pytest.approx(4.0 * 50, abs=2)
    assert kinds(events)[-1] == (EventKind.TRACK_END, 1, EndReason.FINISHED)
    assert clicks(decode(packets)[4800:]) == []


@pytest.mark.parametrize("crossfade_s", [0.0, 0.5])
def test_a_stretch_at_the_end_hands_over_to_the_next_track_there(crossfade_s: float) -> None:
    player, events, _ = make_player(crossfade_s)
    player.play(PcmStream(sponsored()), token=1)  # type: ignore[arg-type]
    player.queue_next(PcmStream(sponsored()[: RATE]), token=2)  # type: ignore[arg-type]
    player.queue_splice(1, Splice(4.0, None))
    packets = read_all(player, limit=3000)
    fade = max(crossfade_s, 0.02)
    assert len(packets) == pytest.approx((4.0 + 1.0 - fade) * 50, abs=3)
    assert (EventKind.TRACK_END, 1, EndReason.FINISHED) in kinds(events)
    assert OPUS_SILENCE not in packets


def test_skip_during_an_armed_splice_drops_the_continuation_and_plays_the_next() -> None:
    player, events, disposed = make_player()
    signal = sponsored()
    resume, skip = resume_of(signal)
    player.play(PcmStream(signal), token=1)  # type: ignore[arg-type]
    player.queue_next(PcmStream(signal[: RATE]), token=2)  # type: ignore[arg-type]
    player.queue_splice(1, Splice(A_S, resume, B_S, skip))
    packets = read_all(player, limit=3000, on=lambda i: player.skip() if i == 95 else None)  # armed, not yet fading
    assert resume in disposed
    assert (EventKind.SEGMENT_SKIPPED, 1, None) not in kinds(events)
    assert len(packets) == pytest.approx(95 + 50, abs=3)


def test_a_splice_for_a_track_no_longer_playing_is_closed() -> None:
    player, _, disposed = make_player()
    player.play(PcmStream(sponsored()), token=1)  # type: ignore[arg-type]
    resume, skip = resume_of(sponsored())
    player.queue_splice(7, Splice(A_S, resume, B_S, skip))
    player.read()
    assert disposed == [resume]


def test_a_splice_behind_the_position_is_dropped_not_played_backwards() -> None:
    player, events, disposed = make_player()
    signal = sponsored()
    player.play(PcmStream(signal, start=round(4.0 * RATE)), token=1, start_s=4.0)  # type: ignore[arg-type]
    resume, skip = resume_of(signal)
    player.queue_splice(1, Splice(A_S, resume, B_S, skip))
    packets = read_all(player, limit=3000)
    assert len(packets) == pytest.approx(2.0 * 50, abs=2)
    assert resume in disposed and (EventKind.SEGMENT_SKIPPED, 1, None) not in kinds(events)


# ---------------------------------------------------------------------------------------------- Opus sources
@pytest.mark.parametrize("normalize", [False, True], ids=["passthrough", "dsp"])
def test_opus_track_spliced_from_a_second_decoder_has_no_sponsor_gap_or_click(tmp_path: Path, normalize: bool) -> None:
    path = write_audio(tmp_path / "sponsored.webm", sponsored(after_hz=440.0))
    player = Player(RenderClient(EngineConfig(normalize=normalize)), render_ahead=False)
    # Buffers that hold the whole file: the loop below reads faster than real time.
    first = Decoder(str(path), buffer_frames=400).start()
    resume = Decoder(str(path), start_s=B_S - PREROLL / RATE, buffer_frames=400).start()
    first.wait_open(5)
    resume.wait_open(5)
    deadline = time.monotonic() + 30
    while (first.buffered_frames < 300 or resume.buffered_frames < 125) and time.monotonic() < deadline:
        time.sleep(0.005)  # the decoder threads fill their buffers
    assert resume.packet_mode and resume.codec_delay_samples == 312  # libopus's pre-skip, left in packets
    player.play(first, token=1)
    player.queue_splice(1, Splice(A_S, resume, B_S, PREROLL + resume.codec_delay_samples))
    packets = []
    for _ in range(1000):
        packet = player.read()
        if not packet:
            break
        packets.append(packet)
    assert OPUS_SILENCE not in packets
    pcm = decode(packets)[4800:]
    # −28 dB: above the faint broadband transient where passthrough hands over to the filters (the
    # listener's decoder meets our encoder's packets), far below any 10 ms of the stretch itself.
    assert np.max(levels(pcm, 660.0)) < 0.05 * AMPLITUDE
    block = np.sqrt(np.mean(pcm[: len(pcm) // 960 * 960, 0].reshape(-1, 960).astype(np.float64) ** 2, axis=1))
    steady = np.median(block)
    assert np.min(block[2:-3]) > steady * 10 ** (-1.5 / 20)
    assert len(packets) == pytest.approx((LENGTH_S - (B_S - A_S)) * 50, abs=3)
