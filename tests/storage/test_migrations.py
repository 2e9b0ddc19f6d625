"""Migrations: an old database upgrades in place with its data; the models match the scripts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from musicbot.errors import ConfigError
from musicbot.storage import (
    AuditLog,
    Database,
    GuildSettingsRepo,
    HistoryRepo,
    PlaylistOwner,
    PlaylistRepo,
    SnapshotRepo,
    current_revision,
    head_revision,
    upgrade,
)
from musicbot.storage.engine import create_engine
from musicbot.storage.guild_settings import TelegramControl
from musicbot.storage.models import Base
from tests.storage.factories import T0


async def _exec(url: str, statements: list[tuple[str, dict[str, Any]]]) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            for sql, params in statements:
                await conn.execute(sa.text(sql), params)
    finally:
        await engine.dispose()


async def test_first_revision_data_survives_the_upgrade_to_head(empty_database_url: str) -> None:
    url = empty_database_url
    assert await current_revision(url) is None
    assert await upgrade(url, "0001") == "0001"
    ts = T0.replace(tzinfo=None).isoformat(sep=" ") if url.startswith("sqlite") else T0
    track = json.dumps({"id": "youtube:old", "title": "Old", "artist": "A", "duration_s": 60.0, "url": "u"})
    # Rows written by the version that had only revision 0001 (its SQL, not today's models).
    await _exec(url, [
        ("INSERT INTO guild_settings (guild_id, dj_role_id, default_volume, max_queue_length, max_track_s, "
         "stay_24_7, announce_channel_id, allowed_filters, normalization, target_lufs, autoplay_default, "
         "autoplay_mode, vote_skip_ratio, updated_at) VALUES (:g, 42, 130, 250, 900.0, true, NULL, :f, false, "
         "-16.0, true, 'artist', 0.75, :ts)", {"g": 2**62, "f": json.dumps(["timescale"]), "ts": ts}),
        ("INSERT INTO play_history (play_id, guild_id, user_id, track_id, track, autoplay, started_at, ended_at, "
         "outcome, reason) VALUES ('p1', :g, 7, 'youtube:old', :t, false, :ts, :ts, 'finished', NULL)",
         {"g": 2**62, "t": track, "ts": ts}),
        ("INSERT INTO playlists (owner_id, name, name_lower, track_count, duration_s, created_at, updated_at) "
         "VALUES (7, 'Old Mix', 'old mix', 1, 60.0, :ts, :ts)", {"ts": ts}),
        ("INSERT INTO playlist_tracks (playlist_id, position, track) "
         "SELECT id, 0, :t FROM playlists WHERE owner_id = 7", {"t": track}),
        ("INSERT INTO session_snapshots (guild_id, voice_channel_id, text_channel_id, queue, current, position_s, "
         "filters, loop_mode, volume, autoplay, paused, saved_at) VALUES (:g, 5, NULL, :q, :c, 12.5, :f, 'off', "
         "90, false, true, :ts)",
         {"g": 2**62, "q": json.dumps([]), "c": json.dumps({"track": json.loads(track), "requester_id": 7}),
          "f": json.dumps({}), "ts": ts}),
    ])
    assert await upgrade(url) == head_revision() == "0010"
    assert await current_revision(url) == "0010"

    db = await Database.open(url)  # open() at head is a no-op migration
    try:
        settings = await GuildSettingsRepo(db).get(2**62)
        assert (settings.dj_role_id, settings.default_volume, settings.max_queue_length) == (42, 130, 250)
        assert (settings.stay_24_7, settings.normalization, settings.target_lufs) == (True, False, -16.0)
        assert settings.allowed_filters == ("timescale",) and settings.vote_skip_ratio == 0.75
        assert settings.crossfade_s == 0.0  # the column 0002 added, filled by its server default
        # 0004's columns: fair order and duplicate rejection off, history kept 180 days.
        assert (settings.fair_queue, settings.reject_duplicates, settings.history_retention_days) == (False, False, 180)
        # 0005's: leave 5 minutes after the queue ended, pause while nobody listens.
        assert (settings.ended_leave_s, settings.pause_when_alone) == (300.0, True)
        assert settings.telegram_control is TelegramControl.ADMINS  # 0007's: only chat admins control
        # 0008's: lyrics and the voice status on, SponsorBlock skipping the default categories.
        assert (settings.lyrics, settings.voice_status) == (True, True)
        assert settings.sponsorblock_categories == ("music_offtopic", "sponsor")
        assert (await GuildSettingsRepo(db).update(2**62, crossfade_s=6.5, actor_id=1)).crossfade_s == 6.5
        [played] = await HistoryRepo(db).recent_by_guild(2**62)
        assert played.track.id == "youtube:old" and played.started_at == T0
        # A snapshot written before 0003 resumes: no history, no crossfade, the panel found by looking.
        [snapshot] = await SnapshotRepo(db).load_all()
        assert snapshot.current is not None and snapshot.current.track.id == "youtube:old"
        assert (snapshot.position_s, snapshot.paused, snapshot.history, snapshot.crossfade_s) == (12.5, True, (), 0.0)
        assert snapshot.panel_message_id is None
        playlist = await PlaylistRepo(db).load(7, "old mix")
        assert playlist.name == "Old Mix" and [t.id for t in playlist.tracks] == ["youtube:old"]
        assert playlist.owner == PlaylistOwner.user(7)  # 0009's: every playlist before it is a member's
        [audited] = await AuditLog(db).recent(2**62)  # the table 0002 created
        assert audited.details == {"crossfade_s": [0.0, 6.5]}
    finally:
        await db.close()


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_models_match_the_migrated_schema(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await engine.dispose()


async def test_open_creates_the_data_folder_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "new" / "deeper" / "musicbot.db"
    db = await Database.open(f"sqlite+aiosqlite:///{path}")
    try:
        assert path.exists()
        async with db.engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 5000
    finally:
        await db.close()
    assert await current_revision(f"sqlite+aiosqlite:///{path}") == head_revision()


async def test_upgrade_is_idempotent(database_url: str) -> None:
    assert await upgrade(database_url) == head_revision()
    assert await upgrade(database_url) == head_revision()


@pytest.mark.parametrize("url", ["mysql://u@h/db", "sqlite:///plain-driver.db", "not a url"])
async def test_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        await Database.open(url)
