"""Player: commands between frames, gapless switching in one read(), events, cleanup (no discord connection)."""

from __future__ import annotations

import numpy as np

from musicbot.audio import END_OF_STREAM, Chunk, EndOfStream
from musicbot.dsp.frame import FRAME_SAMPLES
from musicbot.errors import MediaError
from musicbot.voice.player import EndReason, EventKind, Player, PlayerEvent
from musicbot.voice.protocol import OPUS_SILENCE, EngineConfig
from musicbot.voice.render_client import RenderClient


class ListSource:
    """A finished decoder: ``frames`` PCM chunks of a constant level, then END_OF_STREAM (or an error).

    Like a real decoder opened at ``start_s``, chunks are numbered from ``start`` (samples into the track)."""

    packet_mode = False

    def __init__(
        self,
        frames: int,
        level: float = 0.3,
        *,
        fail_after: int | None = None,
        gap_at: int | None = None,
        start: int = 0,
    ) -> None:
        self.items: list[Chunk | EndOfStream | None] = [
            Chunk(start + i * FRAME_SAMPLES, pcm=np.full((FRAME_SAMPLES, 2), level, np.float32)) for i in range(frames)
        ]
        if gap_at is not None:
            self.items.insert(gap_at, None)
        self.fail_after = fail_after
        self.items.append(END_OF_STREAM)
        self.reads = 0
        self.closed = 0

    def read_nowait(self) -> Chunk | EndOfStream | None:
        if self.fail_after is not None and self.reads >= self.fail_after:
            raise MediaError("connection reset")
        self.reads += 1
        return self.items.pop(0) if self.items else END_OF_STREAM

    def close(self) -> None:
        self.closed += 1


def make_player() -> tuple[Player, list[PlayerEvent], list[ListSource]]:
    events: list[PlayerEvent] = []
    disposed: list[ListSource] = []
    player = Player(
        RenderClient(EngineConfig(normalize=False)), on_event=events.append, dispose=disposed.append, render_ahead=False  # type: ignore[arg-type]
    )
    return player, events, disposed


def drain(player: Player, limit: int = 1000) -> list[bytes]:
    out = []
    for _ in range(limit):
        packet = player.read()
        out.append(packet)
        if packet == b"":
            break
    return out


def kinds(events: list[PlayerEvent]) -> list[tuple[EventKind, int, EndReason | None]]:
    return [(e.kind, e.token, e.reason) for e in events]


def test_is_opus_and_idle_read_ends() -> None:
    player, events, _ = make_player()
    assert player.is_opus()
    assert player.read() == b""
    assert events == []


def test_gapless_switch_in_the_same_read() -> None:
    player, events, disposed = make_player()
    first, second = ListSource(10), ListSource(8, level=0.1)
    player.play(first, token=1)
    player.queue_next(second, token=2)
    packets = drain(player)
    assert packets[-1] == b""
    audio = packets[:-1]
    assert OPUS_SILENCE not in audio  # no silent packet between the tracks
    assert len(audio) >= 17  # both tracks' frames (the limiter's look-ahead may add one tail frame)
    assert kinds(events) == [
        (EventKind.TRACK_START, 1, None),
        (EventKind.TRACK_END, 1, EndReason.FINISHED),
        (EventKind.TRACK_START, 2, None),
        (EventKind.TRACK_END, 2, EndReason.FINISHED),
    ]
    assert disposed == [first, second]


def test_play_replaces_and_stop_ends() -> None:
    player, events, disposed = make_player()
    first, second = ListSource(50, start=12 * 48000), ListSource(50)
    player.play(first, token=1, start_s=12.0)
    assert player.read() not in (b"", OPUS_SILENCE)
    assert 12.0 <= player.position_s < 12.2
    player.play(second, token=2)
    player.read()
    assert player.current_token == 2 and player.position_s < 0.1
    player.stop()
    assert player.read() == b""
    assert kinds(events)[1:] == [
        (EventKind.TRACK_END, 1, EndReason.REPLACED),
        (EventKind.TRACK_START, 2, None),
        (EventKind.TRACK_END, 2, EndReason.STOPPED),
    ]
    assert disposed == [first, second]


def test_skip_promotes_the_queued_next() -> None:
    player, events, _ = make_player()
    player.play(ListSource(50), token=1)
    player.queue_next(ListSource(50), token=2)
    player.read()
    player.skip()
    player.read()
    assert player.current_token == 2
    assert (EventKind.TRACK_END, 1, EndReason.REPLACED) in kinds(events)


def test_source_error_reports_and_moves_on() -> None:
    player, events, _ = make_player()
    player.play(ListSource(50, fail_after=5), token=1)
    player.queue_next(ListSource(3), token=2)
    packets = drain(player)
    assert packets[-1] == b""
    errors = [e for e in events if e.kind is EventKind.TRACK_ERROR]
    assert len(errors) == 1 and errors[0].token == 1 and "connection reset" in (errors[0].message or "")
    assert (EventKind.TRACK_END, 1, EndReason.ERROR) in kinds(events)
    [end] = [e for e in events if e.kind is EventKind.TRACK_END and e.token == 1]
    assert end.message == errors[0].message  # the end says why too (the history records it)
    assert (EventKind.TRACK_START, 2, None) in kinds(events)


def test_underrun_plays_silence_and_is_reported_once() -> None:
    player, events, _ = make_player()
    source = ListSource(20, gap_at=3)
    for _ in range(9):  # ten reads in a row with nothing buffered: longer than what was read ahead
        source.items.insert(3, None)
    player.play(source, token=1)
    packets = drain(player)
    assert packets.count(OPUS_SILENCE) == player.underruns > 0
    assert len(packets) - packets.count(OPUS_SILENCE) == 20 + 1  # every chunk heard, then the end
    assert [e.kind for e in events].count(EventKind.UNDERRUN) == 1


def test_settings_apply_between_frames() -> None:
    player, _, _ = make_player()
    player.play(ListSource(20), token=1)
    player.read()
    player.set_volume(0.5)
    player.set_normalization(True, -16.0)
    player.read()
    config = player.engine.config
    assert (config.volume, config.normalize, config.target_lufs) == (0.5, True, -16.0)


def test_discard_pending_closes_unapplied_sources() -> None:
    player, _, disposed = make_player()
    first, second = ListSource(2), ListSource(2)
    player.play(first, token=1)
    player.queue_next(second, token=2)
    player.stop()
    player.discard_pending()
    assert disposed == [first, second] and not player.has_pending


def test_late_next_after_the_end_and_idempotent_cleanup() -> None:
    player, events, disposed = make_player()
    player.queue_next(ListSource(2), token=7)  # handed over after the last track ended
    assert player.read() not in (b"", OPUS_SILENCE)
    assert events[0].kind is EventKind.TRACK_START and events[0].token == 7
    player.cleanup()
    player.cleanup()
    assert len(disposed) == 1
    assert player.read() == b""
