"""Filter JSON: Lavalink objects are accepted as they are; every bad field is named with its range."""

from __future__ import annotations

import json

import pytest

from musicbot.dsp.chain import FilterChain
from musicbot.dsp.params import FilterSettings, TimescaleParams
from musicbot.dsp.presets import EQ_PRESETS, FILTER_PRESETS, apply_preset
from musicbot.dsp.settings import merge_filters, parse_filters, parse_filters_json, settings_to_json
from musicbot.errors import FilterConfigError

LAVALINK_EXAMPLE = {  # the example of Lavalink v4's REST documentation, §Filters
    "volume": 1.0,
    "equalizer": [{"band": 0, "gain": 0.2}],
    "karaoke": {"level": 1.0, "monoLevel": 1.0, "filterBand": 220.0, "filterWidth": 100.0},
    "timescale": {"speed": 1.0, "pitch": 1.0, "rate": 1.0},
    "tremolo": {"frequency": 2.0, "depth": 0.5},
    "vibrato": {"frequency": 2.0, "depth": 0.5},
    "rotation": {"rotationHz": 0},
    "distortion": {"sinOffset": 0.0, "sinScale": 1.0, "cosOffset": 0.0, "cosScale": 1.0,
                   "tanOffset": 0.0, "tanScale": 1.0, "offset": 0.0, "scale": 1.0},
    "channelMix": {"leftToLeft": 1.0, "leftToRight": 0.0, "rightToLeft": 0.0, "rightToRight": 1.0},
    "lowPass": {"smoothing": 20.0},
}


def test_lavalink_documentation_example_is_accepted_and_round_trips() -> None:
    settings = parse_filters(LAVALINK_EXAMPLE)
    assert settings.equalizer[0] == 0.2 and settings.tremolo is not None
    assert parse_filters(settings_to_json(settings)) == settings
    assert parse_filters(json.loads(json.dumps(settings_to_json(settings)))) == settings


def test_absent_or_null_filters_are_off() -> None:
    assert parse_filters({}) == FilterSettings()
    assert parse_filters({"timescale": None, "karaoke": None}) == FilterSettings()
    assert parse_filters({"pluginFilters": {}}) == FilterSettings()


@pytest.mark.parametrize(
    ("obj", "field", "words"),
    [
        ({"timescale": {"speed": 0}}, "timescale.speed", "0.25 to 4"),
        ({"timescale": {"speed": "fast"}}, "timescale.speed", "must be a number"),
        ({"timescale": {"sped": 1.2}}, "timescale.sped", "unknown key"),
        ({"volume": 6}, "volume", "0 to 5"),
        ({"volume": True}, "volume", "boolean"),
        ({"tremolo": {"depth": 0}}, "tremolo.depth", "more than 0 to 1"),
        ({"vibrato": {"frequency": 15}}, "vibrato.frequency", "more than 0 to 14"),
        ({"equalizer": [{"band": 15, "gain": 0.1}]}, "equalizer[0].band", "0 to 14"),
        ({"equalizer": [{"band": 1.5, "gain": 0.1}]}, "equalizer[0].band", "whole number"),
        ({"equalizer": [{"band": 2, "gain": -0.3}]}, "equalizer[0].gain", "-0.25 to 1"),
        ({"equalizer": [{"band": 2}]}, "equalizer[0].gain", "missing"),
        ({"equalizer": [{"band": 2, "gain": 0.1}, {"band": 2, "gain": 0.2}]}, "equalizer[1].band", "twice"),
        ({"equalizer": {"band": 2}}, "equalizer", "list"),
        ({"bassBoost": {"gainDb": 30}}, "bassBoost.gainDb", "0 to 24"),
        ({"reverb": {"roomSize": 1.5}}, "reverb.roomSize", "0 to 1"),
        ({"karaoke": 3}, "karaoke", "JSON object"),
        ({"echo": {}}, "echo", "unknown key"),
        ({"pluginFilters": {"x": 1}}, "pluginFilters", "not supported"),
        ({"timescale": {"rate": float("nan")}}, "timescale.rate", "out of range"),
    ],
)
def test_bad_input_names_the_field_and_its_range(obj: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(FilterConfigError) as caught:
        parse_filters(obj)
    assert caught.value.field == field
    assert words in str(caught.value)


def test_nothing_is_applied_partially() -> None:
    base = parse_filters({"timescale": {"rate": 1.25}})
    with pytest.raises(FilterConfigError):
        merge_filters(base, {"rotation": {"rotationHz": 0.2}, "tremolo": {"depth": 5}})
    assert base == parse_filters({"timescale": {"rate": 1.25}})


def test_merge_adds_on_top_and_null_turns_off() -> None:
    base = parse_filters({"timescale": {"rate": 1.25}})
    both = merge_filters(base, {"rotation": {"rotationHz": 0.2}})
    assert both.timescale == TimescaleParams(rate=1.25) and both.rotation is not None
    assert merge_filters(both, {"timescale": None}).timescale is None


def test_json_syntax_errors_say_where() -> None:
    with pytest.raises(FilterConfigError, match="line 1 column"):
        parse_filters_json('{"timescale": {"rate": 1.25}')
    with pytest.raises(FilterConfigError, match="JSON object"):
        parse_filters_json("[1, 2]")


@pytest.mark.parametrize("name", sorted(FILTER_PRESETS) + sorted(EQ_PRESETS))
def test_every_preset_is_valid_and_changes_something(name: str) -> None:
    settings = apply_preset(FilterSettings(), name)
    assert FilterChain(settings).filters_identity == (name == "flat")


def test_presets_stack_and_unknown_preset_lists_choices() -> None:
    stacked = apply_preset(apply_preset(FilterSettings(), "nightcore"), "8d")
    assert stacked.timescale is not None and stacked.timescale.rate == 1.25 and stacked.rotation is not None
    with pytest.raises(FilterConfigError, match="nightcore"):
        apply_preset(FilterSettings(), "nightcor")


HUGE = 10**400  # valid JSON, beyond any float


@pytest.mark.parametrize(("text", "words"), [
    ('{"volume": ' + str(HUGE) + "}", "volume: a number with 401 digits is out of range; allowed: 0 to 5"),
    ('{"equalizer": [{"band": ' + str(HUGE) + ', "gain": 0}]}', "equalizer[0].band: a number with 401 digits"),
    ('{"volume": 1' + "0" * 5000 + "}", "a number in it is far too long"),
    ("[" * 10_000 + "]" * 10_000, "nested too deeply"),
    ('{"karaoke": ' * 10_000 + "{}" + "}" * 10_000, "nested too deeply"),
    ("", "is empty"),
    ("  \n", "is empty"),
])
def test_pathological_json_is_one_clear_error(text: str, words: str) -> None:
    with pytest.raises(FilterConfigError) as caught:
        parse_filters_json(text)
    message = str(caught.value)
    assert words in message and "\n" not in message and len(message) < 200


def test_slash_command_values_beyond_float_range_are_refused_by_name() -> None:
    # /filter set and /filter eq hand Discord's numbers to merge_filters as they arrive (ints of any size)
    with pytest.raises(FilterConfigError, match=r"^timescale\.speed: a number with 401 digits is out of range"):
        merge_filters(FilterSettings(), {"timescale": {"speed": HUGE}})
    with pytest.raises(FilterConfigError, match=r"^equalizer\[0\]\.gain: a number with 401 digits"):
        merge_filters(FilterSettings(), {"equalizer": [{"band": 0, "gain": -HUGE}]})
