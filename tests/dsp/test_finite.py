"""A NaN or ±Inf sample never silences the rest of a track, whatever filter is on.

Before, one such sample stayed in the state of bassBoost, karaoke, reverb, the equalizer,
lowPass, the time-stretcher and the normalizer, and the limiter turned every later frame into
silence. Checked for every filter: through the chain (where the sample is zeroed at the input),
and straight into each filter (the chain's per-filter guard then resets the filter it poisoned).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from musicbot.dsp.base import Filter
from musicbot.dsp.bassboost import BassBoost
from musicbot.dsp.chain import FilterChain
from musicbot.dsp.distortion import Distortion
from musicbot.dsp.equalizer import Equalizer
from musicbot.dsp.finite import all_finite, process_guarded
from musicbot.dsp.frame import FRAME_SAMPLES
from musicbot.dsp.gain import ChannelMix, Volume
from musicbot.dsp.karaoke import Karaoke
from musicbot.dsp.limiter import Limiter
from musicbot.dsp.loudness import LoudnessNormalizer
from musicbot.dsp.lowpass import LowPass
from musicbot.dsp.modulation import Rotation, Tremolo, Vibrato
from musicbot.dsp.params import FilterSettings
from musicbot.dsp.presets import EQ_PRESETS, FILTER_PRESETS, apply_preset
from musicbot.dsp.reverb import Reverb
from musicbot.dsp.settings import parse_filters
from musicbot.dsp.timescale import Timescale
from tests.dsp.signals import Signal, frames_of, noise, rms, sine
from tests.dsp.test_contract import CASES, Case

BAD_FRAME = 25  # 0.5 s in: every filter is in its steady state, tails full
BAD_SAMPLE = 300
BAD_VALUES = [np.nan, np.inf, -np.inf]


def music() -> Signal:
    return (sine(110.0, 2.0, 0.3) + sine(440.0, 2.0, 0.2, phase=1.0) + noise(2.0, 0.05)).astype(np.float32)


def chain_output(chain: FilterChain, frames: list[Any]) -> list[Any]:
    """The engine's path minus the encoder: chain → normalizer → limiter, one output frame per pop."""
    normalizer, limiter, out = LoudnessNormalizer(), Limiter(), []
    for frame in frames:
        chain.push(frame.copy())
        while (block := chain.pop()) is not None:
            out.append(limiter.process(normalizer.process(block)))
    return out


def with_bad_sample(frames: list[Any], value: float, *, channel: int = 0) -> list[Any]:
    bad = [f.copy() for f in frames]
    bad[BAD_FRAME][BAD_SAMPLE, channel] = value
    return bad


def preset_cases() -> list[tuple[str, FilterSettings]]:
    presets = [(f"{name} preset", apply_preset(FilterSettings(), name)) for name in (*FILTER_PRESETS, *EQ_PRESETS)]
    return [(c.name, parse_filters(c.on)) for c in CASES] + [
        (f"{c.name} extreme", parse_filters(c.extreme)) for c in CASES] + presets + [("no filters", FilterSettings())]


@pytest.mark.parametrize("value", BAD_VALUES, ids=str)
@pytest.mark.parametrize(("name", "settings"), preset_cases(), ids=[n for n, _ in preset_cases()])
def test_a_bad_sample_in_the_input_is_heard_as_one_silent_sample(name: str, settings: FilterSettings,
                                                                 value: float) -> None:
    frames = frames_of(music())
    heard = chain_output(FilterChain(settings), with_bad_sample(frames, value))
    expected = chain_output(FilterChain(settings), with_bad_sample(frames, 0.0))

    assert all(all_finite(f) for f in heard)
    # Exactly as if that one sample had been 0: no filter kept anything of it.
    assert all(np.array_equal(a, b) for a, b in zip(heard, expected, strict=True))
    clean = chain_output(FilterChain(settings), frames)
    first = -(-len(clean) * (BAD_FRAME + 1) // len(frames))  # the output frame after the bad one (timescale)
    after = slice(first, first + 10)
    assert rms(np.concatenate(heard[after])) > 0.7 * rms(np.concatenate(clean[after]))  # the next frame on is heard


def _filter(name: str, settings: FilterSettings) -> Filter:
    """The filter the chain runs for ``name``, set as the chain sets it."""
    makers: dict[str, tuple[Callable[[], Any], Callable[[FilterSettings], Any]]] = {
        "volume": (Volume, lambda s: s.volume),
        "equalizer": (Equalizer, lambda s: s.equalizer),
        "karaoke": (Karaoke, lambda s: s.karaoke),
        "timescale": (Timescale, lambda s: s.timescale),
        "tremolo": (Tremolo, lambda s: s.tremolo),
        "vibrato": (Vibrato, lambda s: s.vibrato),
        "rotation": (Rotation, lambda s: s.rotation),
        "distortion": (Distortion, lambda s: s.distortion),
        "channelMix": (ChannelMix, lambda s: s.channel_mix),
        "lowPass": (LowPass, lambda s: s.low_pass),
        "bassBoost": (BassBoost, lambda s: s.bass_boost),
        "reverb": (Reverb, lambda s: s.reverb),
    }
    make, pick = makers[name]
    filt = make()
    filt.set_params(pick(settings))
    filt.reset()  # start at the settings, not gliding in from off
    return filt  # type: ignore[no-any-return]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's "invalid value" inside the poisoned filter
@pytest.mark.parametrize("value", [np.nan, np.inf], ids=str)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_filter_that_went_non_finite_is_reset_and_the_next_frame_is_heard(case: Case, value: float) -> None:
    # The bad sample reaches the filter itself, as if an earlier filter had produced it.
    frames = with_bad_sample(frames_of(music()), value, channel=1)
    guarded, plain = _filter(case.name, parse_filters(case.on)), _filter(case.name, parse_filters(case.on))
    out = [process_guarded(guarded, f.copy()) for f in frames]
    reference = [plain.process(f.copy()) for f in frames_of(music())]

    assert all(all_finite(f) for f in out)
    for later in range(BAD_FRAME + 1, BAD_FRAME + 5):
        assert len(out[later]) and rms(out[later]) > 0.3 * rms(reference[later]), f"frame {later} is (nearly) silent"
    tail = slice(BAD_FRAME + 25, None)  # half a second on: the filter has settled again
    assert rms(np.concatenate(out[tail])) == pytest.approx(rms(np.concatenate(reference[tail])), rel=0.1)


@pytest.mark.parametrize("value", BAD_VALUES, ids=str)
def test_the_normalizer_keeps_measuring_after_a_bad_sample(value: float) -> None:
    quiet = [f * np.float32(0.1) for f in frames_of(np.concatenate([music()] * 4))]  # ≈ −30 LUFS: needs gain
    normalizer, clean = LoudnessNormalizer(), LoudnessNormalizer()
    for i, frame in enumerate(quiet):
        bad = frame.copy()
        if i == BAD_FRAME:
            bad[BAD_SAMPLE, 0] = value
        out = normalizer.process(bad)
        clean.process(frame.copy())
        assert all_finite(out)
    assert normalizer.estimate_lufs is not None
    assert normalizer.current_gain_db == pytest.approx(clean.current_gain_db, abs=1.0)
    assert normalizer.current_gain_db > 6.0


def test_the_finiteness_check_sees_every_kind_of_bad_sample() -> None:
    frame = sine(440.0, FRAME_SAMPLES / 48000)
    assert all_finite(frame)
    for value in (np.nan, np.inf, -np.inf):
        bad = frame.copy()
        bad[17, 1] = value
        assert not all_finite(bad)
    huge = frame * np.float32(1e30)  # finite, though its sum of squares overflows
    with np.errstate(over="ignore"):
        assert all_finite(huge)
