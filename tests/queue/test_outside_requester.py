"""Tracks asked for from outside Discord (a Telegram user): credited by name, taking their own turns
in fair mode (not lumped with autoplay or with each other), and kept through a restart's snapshot."""

from __future__ import annotations

from musicbot.queue import MusicQueue
from musicbot.session_snapshot import queued
from musicbot.storage.snapshots import SnapshotEntry, _entry_from_json, _entry_to_json
from tests.queue.factories import make_track


def test_outside_requesters_take_turns_as_people_of_their_own() -> None:
    queue = MusicQueue()
    queue.fair = True
    for n in range(2):
        queue.add(make_track(f"ann{n}"), None, requester_name="Ann (Telegram)")
    for n in range(2):
        queue.add(make_track(f"bo{n}"), None, requester_name="Bo (Telegram)")
    queue.add(make_track("discord"), 7)
    queue.add(make_track("auto"), None, autoplay=True)
    order = [e.track.title for e in queue.upcoming]
    assert order[:4] == ["Song ann0", "Song bo0", "Song discord", "Song auto"]
    assert [e.requester_name for e in queue.upcoming][:2] == ["Ann (Telegram)", "Bo (Telegram)"]
    assert queue.upcoming[0].requester_key == "Ann (Telegram)" and queue.upcoming[2].requester_key == 7


def test_the_credit_survives_a_snapshot_and_old_snapshots_still_read() -> None:
    queue = MusicQueue()
    entry = queue.add(make_track(1), None, requester_name="Ann <b> (Telegram)")
    saved = SnapshotEntry(entry.track, entry.requester_id, entry.autoplay, entry.requester_name)
    again = _entry_from_json(_entry_to_json(saved))
    assert again == saved
    restored = MusicQueue()
    restored.restore(queued(again), [])
    assert restored.current is not None and restored.current.requester_name == "Ann <b> (Telegram)"
    old = _entry_to_json(SnapshotEntry(entry.track, 7))
    assert "requester_name" not in old and _entry_from_json(old).requester_name is None
