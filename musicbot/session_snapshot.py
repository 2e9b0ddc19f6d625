"""A ``GuildSession`` as a ``SessionSnapshot`` (what a restart carries on from), and back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from musicbot.dsp.settings import settings_to_json
from musicbot.queue import QueueEntry
from musicbot.storage.snapshots import SessionSnapshot, SnapshotEntry
from musicbot.track import Track

if TYPE_CHECKING:
    from musicbot.session import GuildSession


def take_snapshot(session: GuildSession) -> SessionSnapshot | None:
    """None when there is nothing to carry on (not in voice). Text channel and panel are the bot's."""
    voice = session.voice
    channel = voice.channel if voice is not None and voice.is_connected() else None
    if channel is None:
        return None
    queue = session.queue
    current = queue.current
    return SessionSnapshot(
        guild_id=session.guild.id,
        voice_channel_id=channel.id,
        queue=tuple(_snapshot_entry(e) for e in queue.upcoming),
        current=None if current is None else _snapshot_entry(current),
        position_s=session.position_s if current is not None else 0.0,
        history=tuple(_snapshot_entry(e) for e in queue.history),
        filters=settings_to_json(session.filters),
        loop_mode=queue.loop,
        volume=round(session.volume * 100),
        autoplay=session.autoplay is not None,
        autoplay_mode=session.autoplay.mode.value if session.autoplay is not None else None,
        paused=session.paused,
        crossfade_s=session.settings.crossfade_s,
    )


def queued(entry: SnapshotEntry) -> tuple[Track, int | None, bool, str | None]:
    """A snapshot entry as ``MusicQueue.restore`` takes it."""
    return entry.track, entry.requester_id, entry.autoplay, entry.requester_name


def _snapshot_entry(entry: QueueEntry) -> SnapshotEntry:
    return SnapshotEntry(entry.track, entry.requester_id, entry.autoplay, entry.requester_name)
