"""``dsp/iir.lfilter``: scipy's recursive filter routine without importing scipy.signal gives
exactly what ``scipy.signal.lfilter`` gives, for the calls the filters make."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from musicbot.dsp.iir import lfilter


def test_the_same_numbers_as_scipy_for_a_stereo_block_with_state() -> None:
    rng = np.random.default_rng(7)
    b, a = [0.2, 0.1, -0.05], [1.0, -1.6, 0.64]  # a resonant two-pole filter, as bassBoost's
    x = rng.standard_normal((960, 2)).astype(np.float32)
    zi = rng.standard_normal((2, 2))
    ours, our_state = lfilter(b, a, x, axis=0, zi=zi)
    theirs, their_state = scipy.signal.lfilter(b, a, x, axis=0, zi=zi)
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(our_state, their_state)


def test_block_by_block_with_the_state_carried_equals_one_call() -> None:
    rng = np.random.default_rng(8)
    b, a = [1.0, -2.0, 1.0], [1.0, -1.99, 0.990025]  # the K-weighting's high-pass shape
    x = rng.standard_normal(4 * 960)
    whole = scipy.signal.lfilter(b, a, x)
    state = np.zeros(2)
    parts = []
    for block in np.split(x, 4):
        y, state = lfilter(b, a, block, zi=state)
        parts.append(y)
    np.testing.assert_allclose(np.concatenate(parts), whole, rtol=0, atol=1e-12)


def test_a_filter_that_is_not_recursive_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="at least two denominator coefficients"):
        lfilter([1.0, 0.5], [1.0], np.ones(8))
