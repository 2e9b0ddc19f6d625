"""Tracks and snapshots for storage tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from musicbot.queue.entry import LoopMode
from musicbot.storage import SessionSnapshot, SnapshotEntry
from musicbot.track import Track

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def make_track(n: int, *, duration_s: float | None = 180.5, **overrides: object) -> Track:
    fields: dict[str, object] = {
        "id": f"youtube:vid{n:05d}",
        "title": f"Song {n} — “quoted” ✓",
        "artist": f"Artist {n % 7}",
        "duration_s": duration_s,
        "url": f"https://www.youtube.com/watch?v=vid{n:05d}",
        "thumbnail_url": f"https://i.ytimg.com/vi/vid{n:05d}/hq.jpg",
        "tags": ("rock", f"tag{n}"),
        "genre": "rock" if n % 2 else None,
        "isrc": f"USRC1{n:07d}" if n % 3 == 0 else None,
    }
    fields.update(overrides)
    return Track(**fields)  # type: ignore[arg-type]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def make_snapshot(guild_id: int = 1234567890123456789, *, queue_len: int = 5, position_s: float = 42.5,
                  volume: int = 80, saved_at: datetime = T0) -> SessionSnapshot:
    return SessionSnapshot(
        guild_id=guild_id,
        voice_channel_id=987654321098765432,
        text_channel_id=876543210987654321,
        queue=tuple(
            SnapshotEntry(make_track(i), requester_id=None if i == 3 else 111222333444555666 + i, autoplay=i == 3)
            for i in range(queue_len)
        ),
        current=SnapshotEntry(make_track(999, duration_s=None, is_live=True), requester_id=42),
        position_s=position_s,
        filters={"timescale": {"speed": 1.0, "pitch": 1.0, "rate": 1.25}, "equalizer": [{"band": 0, "gain": 0.2}]},
        loop_mode=LoopMode.QUEUE,
        volume=volume,
        autoplay=True,
        autoplay_mode="artist",
        history=(SnapshotEntry(make_track(500), requester_id=7), SnapshotEntry(make_track(501), autoplay=True)),
        crossfade_s=4.5,
        panel_channel_id=876543210987654321,
        panel_message_id=1111222233334444555,
        paused=False,
        saved_at=saved_at,
    )
