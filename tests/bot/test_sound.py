"""/filter preset|set …|eq|mine|clear|show through the real command tree.

What the user sees (callback type, content/embeds, ephemeral flag) and what reaches the audio engine
(``session.player.engine.filters``, applied by the player thread on its next frame).
"""

from __future__ import annotations

from typing import Any

import pytest
from discord import app_commands

from musicbot.dsp import params as p
from musicbot.dsp.settings import BLOCKS, EQ_GAIN, VOLUME, FieldSpec
from musicbot.session import GuildSession
from tests.bot.answers import ADMIN_ID, command, ok, playing, refused, suggestions
from tests.bot.world import ALICE, BOB, DJ, DJ_ROLE, GUILD, World, wait_for


async def heard(session: GuildSession) -> p.FilterSettings:
    """The engine's filters once the player thread has applied the last change."""
    await wait_for(lambda: session.player.engine.filters == session.filters)
    return session.player.engine.filters


# ---------------------------------------------------------------- presets
async def test_preset_reaches_the_engine(world: World) -> None:
    session = await playing(world)
    answer = await command(world, "filter preset", {"name": "nightcore"})
    assert ok(answer, "Preset nightcore on") and "Filters on: Timescale" in answer.content
    assert (await heard(session)).timescale == p.TimescaleParams(rate=1.25)


async def test_presets_stack_and_eq_presets_replace_the_eq(world: World) -> None:
    session = await playing(world)
    await command(world, "filter preset", {"name": "8d"})
    await command(world, "filter preset", {"name": "rock"})
    answer = await command(world, "filter preset", {"name": "bass"})
    assert ok(answer, "Preset bass on") and "Filters on: Equalizer, 8D rotation." in answer.content
    filters = await heard(session)
    assert filters.rotation == p.RotationParams(0.2)
    assert filters.equalizer[0] == 0.2 and filters.equalizer[10] == 0.0  # rock's treble is gone


async def test_unknown_preset_is_refused_with_the_list(world: World) -> None:
    session = await playing(world)
    answer = await command(world, "filter preset", {"name": "loud"})
    assert refused(answer, "There is no preset “loud”") and "nightcore" in answer.content
    answer = await command(world, "filter preset", {"name": "**" + "x" * 3000})  # a forged, huge name
    assert refused(answer, "There is no preset “\\*\\*xxx") and len(answer.content) < 400
    assert session.filters == p.FilterSettings()


async def test_preset_autocomplete(world: World) -> None:
    choices = await suggestions(world, "filter preset", {"name": "ro"}, "name")
    assert {"name": "rock (equalizer)", "value": "rock"} in choices
    assert all("ro" in c["value"] for c in choices)
    assert len(await suggestions(world, "filter preset", {"name": ""}, "name")) == 20


# ---------------------------------------------------------------- /filter set …
SET_CASES: list[tuple[str, dict[str, Any], str, Any]] = [
    ("volume", {"level": 1.5}, "volume", 1.5),
    ("timescale", {"speed": 1.5}, "timescale", p.TimescaleParams(speed=1.5)),
    ("karaoke", {"level": 0.8, "filter_band": 300.0}, "karaoke", p.KaraokeParams(level=0.8, filter_band_hz=300.0)),
    ("tremolo", {"frequency": 5.0, "depth": 0.3}, "tremolo", p.TremoloParams(5.0, 0.3)),
    ("vibrato", {"depth": 0.9}, "vibrato", p.VibratoParams(depth=0.9)),
    ("rotation", {"rotation_hz": 0.5}, "rotation", p.RotationParams(0.5)),
    ("distortion", {"sin_scale": 2.0, "offset": 0.1}, "distortion", p.DistortionParams(sin_scale=2.0, offset=0.1)),
    ("channelmix", {"left_to_right": 0.5}, "channel_mix", p.ChannelMixParams(left_to_right=0.5)),
    ("lowpass", {"smoothing": 50.0}, "low_pass", p.LowPassParams(50.0)),
    ("bassboost", {"gain_db": 12.0}, "bass_boost", p.BassBoostParams(gain_db=12.0)),
    ("reverb", {"room_size": 0.9, "width": 0.5}, "reverb", p.ReverbParams(room_size=0.9, width=0.5)),
]


@pytest.mark.parametrize(("sub", "options", "attr", "expected"), SET_CASES, ids=[c[0] for c in SET_CASES])
async def test_set_each_filter(world: World, sub: str, options: dict[str, Any], attr: str, expected: Any) -> None:
    session = await playing(world)
    answer = await command(world, f"filter set {sub}", options)
    assert ok(answer, "set.") or ok(answer, "Filter volume ×1.5")
    assert getattr(await heard(session), attr) == expected


async def test_set_keeps_other_parameters_and_other_filters(world: World) -> None:
    session = await playing(world)
    await command(world, "filter preset", {"name": "8d"})
    await command(world, "filter set timescale", {"speed": 1.5})
    answer = await command(world, "filter set timescale", {"pitch": 1.2})
    assert ok(answer, "Timescale set.") and "Filters on: Timescale, 8D rotation" in answer.content
    filters = await heard(session)
    assert filters.timescale == p.TimescaleParams(speed=1.5, pitch=1.2)
    assert filters.rotation == p.RotationParams(0.2)


async def test_out_of_range_value_is_refused_naming_field_and_range(world: World) -> None:
    session = await playing(world)
    # Discord enforces min/max in its client; a forged or stale payload still reaches the bot.
    answer = await command(world, "filter set timescale", {"speed": 10.0})
    assert refused(answer, "timescale.speed: 10 is out of range; allowed: 0.25 to 4")
    answer = await command(world, "filter set tremolo", {"depth": 0.0})
    assert refused(answer, "tremolo.depth: 0 is out of range; allowed: more than 0 to 1")
    assert session.filters == p.FilterSettings()


async def test_set_without_any_option_is_refused_when_defaults_do_nothing(world: World) -> None:
    await playing(world)
    assert refused(await command(world, "filter set timescale"), "Give at least one of: speed, pitch, rate")
    answer = await command(world, "filter set tremolo")  # its defaults are audible: they apply
    assert ok(answer, "Tremolo set.")


def test_option_ranges_match_the_filter_validation() -> None:
    """Every /filter option's min/max is the range ``musicbot.dsp.settings`` validates."""
    from musicbot.bot.cogs.sound import SoundCog, snake

    specs: dict[str, dict[str, FieldSpec]] = {
        block.json_key.lower(): {snake(f.json_key): f for f in block.fields} for block in BLOCKS
    }
    specs["volume"] = {"level": VOLUME}
    checked = 0
    for sub in SoundCog.set_group.commands:
        assert isinstance(sub, app_commands.Command)
        for param in sub.parameters:
            spec = specs[sub.name][param.name]
            assert (param.min_value, param.max_value) == (spec.low, spec.high), (sub.name, param.name)
            checked += 1
        assert {param.name for param in sub.parameters} == set(specs[sub.name])
    assert checked == sum(len(block.fields) for block in BLOCKS) + 1
    eq = next(c for c in SoundCog.filter_group.commands if c.name == "eq")
    assert isinstance(eq, app_commands.Command)
    gain = next(param for param in eq.parameters if param.name == "gain")
    assert (gain.min_value, gain.max_value) == (EQ_GAIN.low, EQ_GAIN.high)


# ---------------------------------------------------------------- /filter eq
async def test_eq_band(world: World) -> None:
    session = await playing(world)
    answer = await command(world, "filter eq", {"band": 0, "gain": 0.25})
    assert ok(answer, "Equalizer 25 Hz set to +0.25")
    assert (await heard(session)).equalizer == (0.25,) + (0.0,) * 14
    await command(world, "filter eq", {"band": 0, "gain": 0.0})
    assert (await heard(session)).equalizer == p.FLAT_EQ
    assert refused(await command(world, "filter eq", {"band": 15, "gain": 0.1}), "0 to 14")
    assert refused(await command(world, "filter eq", {"band": 3, "gain": -0.5}), "allowed: -0.25 to 1")
    assert refused(await command(world, "filter eq", {"band": 3, "gain": float("nan")}), "nan is out of range")


# ---------------------------------------------------------------- /filter clear, /filter show
async def test_clear_one_then_all(world: World) -> None:
    session = await playing(world)
    await command(world, "filter preset", {"name": "slowed"})
    answer = await command(world, "filter clear", {"filter": "reverb"})
    assert ok(answer, "Reverb is off.") and "Filters on: Timescale." in answer.content
    assert (await heard(session)).reverb is None and session.filters.timescale is not None
    assert ok(await command(world, "filter clear"), "All filters are off.")
    assert await heard(session) == p.FilterSettings()


async def test_show_lists_the_active_filters(world: World) -> None:
    await playing(world)
    await command(world, "filter preset", {"name": "nightcore"})
    await command(world, "filter eq", {"band": 8, "gain": 0.1})
    answer = await command(world, "filter show", user=BOB)  # anyone may look, even outside voice
    assert answer.type == 4 and not answer.ephemeral and answer.error is None
    [embed] = answer.embeds
    assert embed["description"].splitlines() == ["Equalizer: 1 kHz +0.1", "Timescale: speed 1 · pitch 1 · rate 1.25"]


async def test_show_without_a_session(world: World) -> None:
    answer = await command(world, "filter show")
    assert answer.error is None and answer.embeds[0]["description"] == "No filters are on."


# ---------------------------------------------------------------- /filter mine
async def test_mine_applies_the_users_preferred_filters(world: World) -> None:
    session = await playing(world)
    assert refused(await command(world, "filter mine"), "You have no preferred filters")
    await world.bot.user_settings.update(int(ALICE["id"]), preferred_filters={"rotation": {"rotationHz": 0.3}})
    assert ok(await command(world, "filter mine"), "Your preferred filters are on.")
    assert (await heard(session)).rotation == p.RotationParams(0.3)


# ---------------------------------------------------------------- who may change filters
async def test_not_in_voice(world: World) -> None:
    assert refused(await command(world, "filter preset", {"name": "8d"}), "I'm not in a voice channel")
    await playing(world)
    assert refused(await command(world, "filter preset", {"name": "8d"}, user=BOB), "Join a voice channel first")


async def test_dj_role_is_needed_when_set(world: World) -> None:
    session = await playing(world)
    await world.join(BOB)  # ALICE is no longer alone with the bot
    await world.join(DJ)
    await world.bot.update_guild_settings(GUILD, ADMIN_ID, dj_role_id=DJ_ROLE)
    await world.bot.user_settings.update(int(ALICE["id"]), preferred_filters={"rotation": {"rotationHz": 0.3}})
    for sub, options in (("preset", {"name": "8d"}), ("set rotation", {"rotation_hz": 1.0}), ("clear", {}),
                         ("eq", {"band": 1, "gain": 0.1}), ("mine", {})):
        assert refused(await command(world, f"filter {sub}", options), "This needs the DJ role"), sub
    assert session.filters == p.FilterSettings()
    assert ok(await command(world, "filter preset", {"name": "8d"}, user=DJ), "Preset 8d on")
    assert (await heard(session)).rotation == p.RotationParams(0.2)


async def test_forbidden_filter_is_refused_by_name(world: World) -> None:
    session = await playing(world)
    await world.bot.update_guild_settings(GUILD, ADMIN_ID, allowed_filters=["rotation", "timescale"])
    answer = await command(world, "filter preset", {"name": "slowed"})  # timescale + reverb: all or nothing
    assert refused(answer, "Reverb is not allowed on this server")
    assert refused(await command(world, "filter set volume", {"level": 2.0}), "Volume is not allowed")
    assert session.filters == p.FilterSettings()
    assert ok(await command(world, "filter preset", {"name": "nightcore"}), "Preset nightcore on")
    await world.bot.update_guild_settings(GUILD, ADMIN_ID, allowed_filters=["rotation"])
    answer = await command(world, "filter set timescale", {"rate": 1.1})
    assert refused(answer, "Timescale is not allowed")
    assert ok(await command(world, "filter clear", {"filter": "timescale"}), "Timescale is off.")  # always allowed
    assert refused(await command(world, "filter clear", {"filter": "echo"}), "“echo” is not a filter")
    show = await command(world, "filter show")
    assert show.embeds[0]["footer"]["text"] == "Allowed on this server: 8D rotation"
