"""The contract every filter keeps, checked over all of them through the chain the engine uses.

Each case is a Lavalink-style object switching on one filter, a second setting of it (for
changes mid-stream) and its most extreme setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from musicbot.dsp.chain import FilterChain
from musicbot.dsp.frame import FRAME_SAMPLES
from musicbot.dsp.settings import parse_filters
from tests.dsp.signals import Signal, clicks, frames_of, noise, sine


@dataclass(frozen=True)
class Case:
    name: str
    on: dict[str, Any]
    other: dict[str, Any]
    extreme: dict[str, Any]
    linear: bool = True  # f(a·x + b·y) == a·f(x) + b·f(y), time-invariant
    time_invariant: bool = True

    def __str__(self) -> str:
        return self.name


EQ_ALL_MAX = [{"band": b, "gain": 1.0} for b in range(15)]
CASES = [
    Case("volume", {"volume": 0.5}, {"volume": 1.8}, {"volume": 5.0}),
    Case("equalizer", {"equalizer": [{"band": 3, "gain": 0.25}]},
         {"equalizer": [{"band": 3, "gain": -0.25}, {"band": 9, "gain": 0.5}]}, {"equalizer": EQ_ALL_MAX}),
    Case("karaoke", {"karaoke": {}}, {"karaoke": {"level": 0.5, "filterBand": 500.0}},
         {"karaoke": {"level": 1.0, "monoLevel": 1.0, "filterBand": 20000.0, "filterWidth": 10000.0}}),
    Case("timescale", {"timescale": {"rate": 1.25}}, {"timescale": {"speed": 0.8, "pitch": 1.2}},
         {"timescale": {"speed": 4.0, "pitch": 0.25, "rate": 4.0}}, linear=False, time_invariant=False),
    Case("tremolo", {"tremolo": {"frequency": 4.0, "depth": 0.5}}, {"tremolo": {"frequency": 9.0, "depth": 1.0}},
         {"tremolo": {"frequency": 50.0, "depth": 1.0}}, time_invariant=False),
    Case("vibrato", {"vibrato": {"frequency": 4.0, "depth": 0.5}}, {"vibrato": {"frequency": 10.0, "depth": 1.0}},
         {"vibrato": {"frequency": 14.0, "depth": 1.0}}, time_invariant=False),
    Case("rotation", {"rotation": {"rotationHz": 0.2}}, {"rotation": {"rotationHz": 2.0}},
         {"rotation": {"rotationHz": 5.0}}, time_invariant=False),
    Case("distortion", {"distortion": {"sinOffset": 0.1, "scale": 0.8}}, {"distortion": {"tanScale": 2.0}},
         {"distortion": {"tanScale": 100.0, "scale": 100.0, "sinScale": -100.0, "offset": 100.0}},
         linear=False),
    Case("channelMix", {"channelMix": {"leftToRight": 1.0, "rightToLeft": 1.0}},
         {"channelMix": {"leftToLeft": 0.5, "leftToRight": 0.5, "rightToLeft": 0.5, "rightToRight": 0.5}},
         {"channelMix": {"leftToLeft": 1.0, "leftToRight": 1.0, "rightToLeft": 1.0, "rightToRight": 1.0}}),
    Case("lowPass", {"lowPass": {"smoothing": 20.0}}, {"lowPass": {"smoothing": 5.0}},
         {"lowPass": {"smoothing": 1000.0}}),
    Case("bassBoost", {"bassBoost": {"gainDb": 12.0}}, {"bassBoost": {"gainDb": 4.0, "frequencyHz": 250.0}},
         {"bassBoost": {"gainDb": 24.0, "frequencyHz": 20.0}}),
    Case("reverb", {"reverb": {}}, {"reverb": {"roomSize": 0.9, "damping": 0.1, "wetLevel": 0.6}},
         {"reverb": {"roomSize": 1.0, "damping": 0.0, "wetLevel": 1.0, "dryLevel": 1.0, "width": 1.0}}),
]


def render(chain: FilterChain, signal: Signal, *, between: Any = None) -> Signal:
    out = []
    for i, frame in enumerate(frames_of(signal)):
        if between is not None:
            between(i)
        chain.push(frame.copy())
        while (block := chain.pop()) is not None:
            assert block.shape == (FRAME_SAMPLES, 2) and block.dtype == np.float32
            out.append(block.copy())
    return np.concatenate(out) if out else np.zeros((0, 2), np.float32)


def chain_for(obj: dict[str, Any]) -> FilterChain:
    return FilterChain(parse_filters(obj))


def music() -> Signal:
    return (sine(110.0, 2.0, 0.3) + sine(440.0, 2.0, 0.2, phase=1.0)).astype(np.float32)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_shape_dtype_and_the_filter_is_active(case: Case) -> None:
    x = music()
    y = render(chain_for(case.on), x)
    assert y.dtype == np.float32 and y.shape[1] == 2 and len(y) > 0
    assert not chain_for(case.on).is_identity
    reference = x[: min(len(x), len(y))]
    assert not np.allclose(y[: len(reference)], reference, atol=1e-3), "the filter changed nothing"


@pytest.mark.parametrize("case", [c for c in CASES if c.linear], ids=str)
def test_silence_stays_silence(case: Case) -> None:
    y = render(chain_for(case.on), np.zeros((FRAME_SAMPLES * 20, 2), np.float32))
    assert np.all(y == 0.0)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_reset_clears_tails(case: Case) -> None:
    chain = chain_for(case.on)
    render(chain, noise(1.0))
    chain.reset()
    zeros = np.zeros((FRAME_SAMPLES * 10, 2), np.float32)
    if case.linear:
        assert np.all(render(chain, zeros) == 0.0)
    else:  # a non-linear filter maps silence to a constant; after reset it must equal a fresh chain's
        np.testing.assert_array_equal(render(chain, zeros), render(chain_for(case.on), zeros))


@pytest.mark.parametrize("case", [c for c in CASES if c.linear], ids=str)
def test_linear_filters_are_linear(case: Case) -> None:
    x, y = music(), noise(2.0, 0.1, seed=3)
    both = render(chain_for(case.on), (0.5 * x + 2.0 * y).astype(np.float32))
    separate = 0.5 * render(chain_for(case.on), x) + 2.0 * render(chain_for(case.on), y)
    np.testing.assert_allclose(both, separate, atol=2e-5)


@pytest.mark.parametrize("case", [c for c in CASES if c.linear and c.time_invariant], ids=str)
def test_frame_by_frame_equals_whole_signal(case: Case) -> None:
    """A time-invariant filter gives the same output for a signal delayed by whole frames, so
    its state carries across frame boundaries exactly as one long block would."""
    x = noise(1.0, 0.2, seed=5)
    delay = 7 * FRAME_SAMPLES
    delayed = np.concatenate([np.zeros((delay, 2), np.float32), x])
    y = render(chain_for(case.on), x)
    y_delayed = render(chain_for(case.on), delayed)
    np.testing.assert_allclose(y_delayed[delay:delay + len(y)], y, atol=1e-5)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_no_nan_or_inf_at_extreme_settings(case: Case) -> None:
    loud = (noise(1.0, 1.0, seed=9) * 2.0).astype(np.float32)
    y = render(chain_for(case.extreme), loud)
    assert np.all(np.isfinite(y))


@pytest.mark.parametrize("case", CASES, ids=str)
def test_changing_any_parameter_mid_stream_does_not_click(case: Case) -> None:
    settings = [parse_filters(case.on), parse_filters(case.other), parse_filters({}), parse_filters(case.on)]
    chain = FilterChain(settings[0])

    def change(i: int) -> None:
        if i and i % 9 == 0:
            chain.set_settings(settings[(i // 9) % len(settings)])

    y = render(chain, music(), between=change)
    assert clicks(y) == []
