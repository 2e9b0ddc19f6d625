"""Guild and user settings: defaults, partial updates, validation with clear messages, audit."""

from __future__ import annotations

import pytest

from musicbot.queue.autoplay import AutoplayMode
from musicbot.storage import (
    AuditLog,
    Database,
    GuildSettings,
    GuildSettingsRepo,
    InvalidSettingError,
    StorageUnavailableError,
    UserSettings,
    UserSettingsRepo,
)
from musicbot.storage.guild_settings import TelegramControl
from tests.storage.conftest import Outage

GUILD = 9_223_372_036_854_775_807  # the largest 64-bit id: BigInteger round trip


async def test_defaults_for_an_unknown_guild(db: Database) -> None:
    settings = await GuildSettingsRepo(db).get(GUILD)
    assert settings == GuildSettings(GUILD)
    assert settings.normalization and settings.target_lufs == -14.0 and settings.allowed_filters is None


async def test_partial_update_keeps_the_rest(db: Database) -> None:
    repo = GuildSettingsRepo(db)
    await repo.update(GUILD, default_volume=150, dj_role_id=123456789012345678)
    after = await repo.update(GUILD, crossfade_s=4, allowed_filters=["timescale", "equalizer", "timescale"],
                              autoplay_mode="artist", max_track_s=600)
    fresh = await GuildSettingsRepo(db).get(GUILD)  # a new repo: no cache
    assert fresh == after
    assert fresh.default_volume == 150 and fresh.dj_role_id == 123456789012345678
    assert fresh.crossfade_s == 4.0 and fresh.max_track_s == 600.0
    assert fresh.allowed_filters == ("equalizer", "timescale")
    assert fresh.autoplay_mode is AutoplayMode.ARTIST
    assert fresh.filter_allowed("timescale") and not fresh.filter_allowed("reverb")


async def test_every_setting_round_trips(db: Database) -> None:
    changes: dict[str, object] = {
        "dj_role_id": 1, "default_volume": 0, "max_queue_length": 10_000, "max_track_s": None, "stay_24_7": True,
        "announce_channel_id": 2**63 - 1, "allowed_filters": [], "normalization": False, "target_lufs": -23.0,
        "crossfade_s": 12.0, "autoplay_default": True, "autoplay_mode": AutoplayMode.GENRE,
        "vote_skip_ratio": 1.0, "fair_queue": True, "reject_duplicates": True, "history_retention_days": 30,
        "ended_leave_s": 0.0, "pause_when_alone": False, "telegram_control": TelegramControl.READ_ONLY,
        "lyrics": False, "sponsorblock_categories": ["intro", "sponsor", "intro"], "voice_status": False,
    }
    written = await GuildSettingsRepo(db).update(GUILD, **changes)
    assert await GuildSettingsRepo(db).get(GUILD) == written
    assert written.allowed_filters == ()
    assert written.sponsorblock_categories == ("intro", "sponsor")
    none = await GuildSettingsRepo(db).update(GUILD, sponsorblock_categories=[])  # skipping off: not the default
    assert (await GuildSettingsRepo(db).get(GUILD)).sponsorblock_categories == () == none.sponsorblock_categories


@pytest.mark.parametrize(("changes", "message"), [
    ({"default_volume": 201}, "default_volume: 201 is out of range; allowed: 0 to 200 %"),
    ({"default_volume": True}, "default_volume: must be a whole number from 0 to 200 %, got true"),
    ({"max_queue_length": 0}, "max_queue_length: 0 is out of range; allowed: 1 to 10000 tracks"),
    ({"crossfade_s": 12.5}, "crossfade_s: 12.5 is out of range; allowed: 0 to 12 s"),
    ({"ended_leave_s": 86401}, "ended_leave_s: 86401 is out of range; allowed: 0 to 86400 s"),
    ({"pause_when_alone": "yes"}, "pause_when_alone: must be true or false, got 'yes'"),
    ({"target_lufs": -4}, "target_lufs: -4 is out of range; allowed: -40 to -5 LUFS"),
    ({"vote_skip_ratio": "half"}, "vote_skip_ratio: must be a number from 0 to 1, got 'half'"),
    ({"autoplay_mode": "random"}, "autoplay_mode: must be one of similar, artist, genre, mixed, got 'random'"),
    ({"allowed_filters": ["echo"]}, "allowed_filters: 'echo' is not a filter; known: volume, equalizer"),
    ({"dj_role_id": -5}, "dj_role_id: must be a Discord id (a positive whole number), got -5"),
    ({"sponsorblock_categories": ["ads"]}, "sponsorblock_categories: 'ads' is not a SponsorBlock category; known: "
                                           "sponsor, selfpromo"),
    ({"lyrics": "on"}, "lyrics: must be true or false, got 'on'"),
    ({"volume": 50}, "volume: unknown setting; known: dj_role_id"),
])
async def test_invalid_values_are_refused_with_the_field_and_range(
    db: Database, changes: dict[str, object], message: str
) -> None:
    repo = GuildSettingsRepo(db)
    valid = {"stay_24_7": True}
    with pytest.raises(InvalidSettingError) as info:
        await repo.update(GUILD, **valid, **changes)
    assert str(info.value).startswith(message)
    # All or nothing: the valid change next to the bad one was not written either.
    assert await repo.get(GUILD) == GuildSettings(GUILD)


async def test_update_with_actor_is_audited_in_the_same_transaction(db: Database) -> None:
    repo = GuildSettingsRepo(db)
    await repo.update(GUILD, default_volume=120, actor_id=77)
    await repo.update(GUILD, autoplay_mode="similar", allowed_filters=["reverb"], actor_id=78)
    await repo.update(GUILD, stay_24_7=True)  # no actor: not audited
    entries = await AuditLog(db).recent(GUILD)
    assert [(e.actor_id, e.action) for e in entries] == [(78, "settings.update"), (77, "settings.update")]
    assert entries[0].details == {"autoplay_mode": ["mixed", "similar"], "allowed_filters": [None, ["reverb"]]}
    assert entries[1].details == {"default_volume": [100, 120]}


async def test_reset_goes_back_to_defaults(db: Database) -> None:
    repo = GuildSettingsRepo(db)
    await repo.update(GUILD, default_volume=10)
    assert await repo.reset(GUILD, actor_id=5) == GuildSettings(GUILD)
    assert await GuildSettingsRepo(db).get(GUILD) == GuildSettings(GUILD)


async def test_get_answers_from_memory_during_an_outage(db: Database, outage: Outage) -> None:
    repo = GuildSettingsRepo(db)
    known = await repo.update(GUILD, dj_role_id=555)
    outage.active = True
    assert await repo.get(GUILD) == known
    with pytest.raises(StorageUnavailableError, match="not reachable right now"):
        await repo.get(GUILD + 1 - 2)


async def test_user_settings_defaults_update_and_unset(db: Database) -> None:
    repo = UserSettingsRepo(db)
    assert await repo.get(42) == UserSettings(42)
    await repo.update(42, default_volume=70, autoplay=True)
    updated = await repo.update(42, preferred_filters={"timescale": {"rate": 1.25}, "volume": 1.0})
    # Normalized the way the engine reports filters (defaults filled in, identity volume dropped).
    assert updated.preferred_filters == {"timescale": {"speed": 1.0, "pitch": 1.0, "rate": 1.25}}
    assert await UserSettingsRepo(db).get(42) == updated
    assert updated.default_volume == 70 and updated.autoplay is True
    cleared = await repo.update(42, default_volume=None, preferred_filters=None)
    assert cleared == UserSettings(42, autoplay=True)
    assert await repo.get(42) == cleared


async def test_user_filters_are_validated_before_writing(db: Database) -> None:
    repo = UserSettingsRepo(db)
    with pytest.raises(InvalidSettingError) as info:
        await repo.update(42, default_volume=50, preferred_filters={"timescale": {"speed": 10}})
    assert str(info.value) == "preferred_filters.timescale.speed: 10 is out of range; allowed: 0.25 to 4"
    with pytest.raises(InvalidSettingError, match="default_volume: 300 is out of range"):
        await repo.update(42, default_volume=300)
    assert await repo.get(42) == UserSettings(42)
