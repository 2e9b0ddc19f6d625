"""Volume and ChannelMix: what a listener hears (level in dB, which side a tone is on, no clicks)."""

from __future__ import annotations

import numpy as np
import pytest

from musicbot.dsp.base import Filter
from musicbot.dsp.frame import FRAME_SAMPLES, silence
from musicbot.dsp.gain import ChannelMix, Volume
from musicbot.dsp.params import ChannelMixParams
from tests.dsp.signals import clicks, db, gain_db, noise, rms, run, sine, stereo

SWAP = ChannelMixParams(left_to_left=0.0, left_to_right=1.0, right_to_left=1.0, right_to_right=0.0)
MONO = ChannelMixParams(left_to_left=0.5, left_to_right=0.5, right_to_left=0.5, right_to_right=0.5)


def two_tone(seconds: float = 1.0) -> np.ndarray:
    # Phases chosen so that no frame boundary falls on a zero crossing, where a step would hide.
    return sine(110, seconds, 0.3, phase=0.7) + sine(440, seconds, 0.3, phase=2.1)


@pytest.mark.parametrize("filt", [Volume(0.7), ChannelMix(MONO)], ids=lambda f: type(f).__name__)
def test_follows_the_filter_protocol(filt: Filter) -> None:
    assert isinstance(filt, Filter)
    y = filt.process(noise(0.02))
    assert y.shape == (FRAME_SAMPLES, 2) and y.dtype == np.float32


# --- Volume -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("gain", "expected_db"), [(0.5, -6.0206), (2.0, 6.0206), (5.0, 13.9794)])
def test_volume_is_linear_gain(gain: float, expected_db: float) -> None:
    assert gain_db(Volume(gain), 1000.0) == pytest.approx(expected_db, abs=0.01)


def test_volume_unity_and_off_leave_audio_untouched() -> None:
    x = noise(0.1)
    for vol in (Volume(), Volume(1.0), Volume(None)):
        assert vol.is_identity
        np.testing.assert_array_equal(run(vol, x), x)


def test_volume_change_ramps_over_the_next_frame() -> None:
    vol = Volume(1.0)
    vol.set_params(0.5)
    assert not vol.is_identity
    ones = np.ones((FRAME_SAMPLES, 2), np.float32)
    y = vol.process(ones.copy())
    assert y[0, 0] == pytest.approx(1.0 - 0.5 / FRAME_SAMPLES)  # one small step, not a jump
    assert y[-1, 0] == pytest.approx(0.5)  # the new gain is reached within the frame
    assert np.all(np.diff(y[:, 0]) < 0)
    np.testing.assert_allclose(vol.process(ones.copy()), 0.5)


def test_volume_changes_do_not_click() -> None:
    vol = Volume(1.0)
    changes = {7: 0.5, 13: 2.0, 22: None, 31: 0.0, 38: 1.0, 44: 5.0}
    y = run(vol, two_tone(), between=lambda i: vol.set_params(changes[i]) if i in changes else None)
    assert clicks(y) == []


def test_volume_keeps_silence_and_reset_matches_fresh() -> None:
    vol = Volume(3.0)
    assert not np.any(run(vol, silence(4 * FRAME_SAMPLES)))
    x = noise(0.1)
    vol.set_params(0.25)
    vol.reset()  # the pending ramp is skipped: the new gain applies at once, as for a new instance
    np.testing.assert_array_equal(run(vol, x), run(Volume(0.25), x))


def test_volume_is_identity_follows_the_ramp() -> None:
    vol = Volume(2.0)
    assert not vol.is_identity
    vol.set_params(None)
    assert not vol.is_identity  # a ramp back to unity is still pending
    vol.process(silence())
    assert vol.is_identity


# --- ChannelMix ----------------------------------------------------------------------------------


def test_channel_mix_swap_moves_a_left_tone_to_the_right() -> None:
    x = stereo(sine(1000, 0.5), np.zeros((24_000, 2), np.float32))
    y = run(ChannelMix(SWAP), x)
    assert rms(y[:, 0]) < 1e-7
    assert db(rms(y[:, 1]) / rms(x[:, 0])) == pytest.approx(0.0, abs=1e-3)


def test_channel_mix_mono_gives_both_sides_the_average() -> None:
    x = noise(0.2)
    y = run(ChannelMix(MONO), x)
    mono = 0.5 * (x[:, 0] + x[:, 1])
    np.testing.assert_allclose(y[:, 0], mono, atol=1e-6)
    np.testing.assert_allclose(y[:, 1], mono, atol=1e-6)


def test_channel_mix_is_not_clamped() -> None:
    full = ChannelMixParams(left_to_left=1.0, left_to_right=1.0, right_to_left=1.0, right_to_right=1.0)
    x = np.full((FRAME_SAMPLES, 2), 0.8, np.float32)
    np.testing.assert_allclose(ChannelMix(full).process(x), 1.6)  # headroom is the limiter's job


def test_channel_mix_default_and_off_are_identity() -> None:
    x = noise(0.1)
    for mix in (ChannelMix(), ChannelMix(ChannelMixParams())):
        assert mix.is_identity
        np.testing.assert_array_equal(run(mix, x), x)


def test_channel_mix_interpolates_coefficients_per_sample() -> None:
    mix = ChannelMix()
    mix.set_params(SWAP)
    left_only = np.zeros((FRAME_SAMPLES, 2), np.float32)
    left_only[:, 0] = 1.0
    y = mix.process(left_only)
    assert y[0, 0] == pytest.approx(1.0 - 1.0 / FRAME_SAMPLES)
    assert y[-1, 0] == pytest.approx(0.0, abs=1e-6) and y[-1, 1] == pytest.approx(1.0)
    assert np.all(np.diff(y[:, 1]) > 0)


def test_channel_mix_changes_do_not_click() -> None:
    x = stereo(sine(110, 1.0, 0.5, phase=0.7), sine(440, 1.0, 0.3, phase=2.1))
    mix = ChannelMix()
    changes = {7: SWAP, 13: MONO, 22: None, 31: SWAP}
    y = run(mix, x, between=lambda i: mix.set_params(changes[i]) if i in changes else None)
    assert clicks(y) == []


def test_channel_mix_keeps_silence_and_reset_matches_fresh() -> None:
    mix = ChannelMix(MONO)
    assert not np.any(run(mix, silence(4 * FRAME_SAMPLES)))
    mix.set_params(SWAP)
    mix.reset()
    x = noise(0.1)
    np.testing.assert_array_equal(run(mix, x), run(ChannelMix(SWAP), x))


def test_channel_mix_is_identity_follows_the_transition() -> None:
    mix = ChannelMix(SWAP)
    assert not mix.is_identity
    mix.set_params(None)
    assert not mix.is_identity
    mix.process(silence())
    assert mix.is_identity
