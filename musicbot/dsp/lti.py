"""Exact block processing of linear recurrences, one frame at a time, with no per-sample Python loop.

A linear time-invariant filter with state ``s`` answers a block of ``n`` input samples ``x`` with

    y  = h[0:n] * x      (zero-state response: x convolved with the truncated impulse response)
       + O @ s           (zero-input response: how the stored state rings out during the block)
    s' = P @ s + K @ x   (the state after the block)

``h``, ``O``, ``P`` and ``K`` depend only on the coefficients and ``n``, so they are computed once.
A block then costs one FFT convolution and a few small matrix-vector products, and equals running
the recurrence sample by sample up to float64 rounding: nothing is truncated, because whatever
happened before the block is carried exactly by ``s``.

The state is that of ``scipy.signal.lfilter`` (transposed direct form II), so the tests can check
a block filter against one ``lfilter`` call over the whole signal.

``AllPole`` at the end serves the small recursive filters (one or two poles) that run ``lfilter``
directly and keep their past *outputs* as state, which stays meaningful when coefficients change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.fft
import scipy.linalg

from musicbot.dsp.iir import lfilter

Array = npt.NDArray[np.float64]
Spectrum = npt.NDArray[np.complex128]


class BlockResponse:
    """The block matrices of one filter ``b/a`` for blocks of ``n`` samples (state size q = order).

    ``impulse`` is h[0:n]; ``free`` (n × q) is the zero-input response to each unit state;
    ``carry`` (q × q) is P; ``drive`` (q × n) is K. Built once, at import or on a parameter change.
    """

    def __init__(self, b: npt.ArrayLike, a: npt.ArrayLike, n: int) -> None:
        b_arr = np.atleast_1d(np.asarray(b, dtype=np.float64))
        a_arr = np.atleast_1d(np.asarray(a, dtype=np.float64))
        order = max(len(a_arr), len(b_arr)) - 1
        if order < 1:
            raise ValueError("a block response needs a recursive filter (order ≥ 1)")
        # Normalise and pad to a common length so the state recursion below is uniform.
        b_arr = np.pad(b_arr, (0, order + 1 - len(b_arr))) / a_arr[0]
        a_arr = np.pad(a_arr, (0, order + 1 - len(a_arr))) / a_arr[0]
        delta = np.zeros(n + 1)
        delta[0] = 1.0
        h: Array = lfilter(b_arr, a_arr, delta)
        free, carry = lfilter(
            b_arr, a_arr, np.zeros((n, order)), axis=0, zi=np.eye(order)
        )
        self.order = order
        self.impulse: Array = h[:n]
        self.free: Array = np.asarray(free)
        self.carry: Array = np.asarray(carry)
        self.drive: Array = _impulse_states(b_arr, a_arr, h, n)[:, ::-1].copy()


def _impulse_states(b: Array, a: Array, h: Array, n: int) -> Array:
    """TDF2 state m samples after a unit impulse, for m = 1..n, as columns of a (q × n) array.

    From the lfilter recursion s_i[m] = Σ_{j>i} (b_j·x[m+i−j] − a_j·y[m+i−j]) with x = δ, y = h.
    The state after a block that had an impulse at sample k is the column for m = n − k.
    """
    order = len(a) - 1
    m = np.arange(1, n + 1)
    states = np.zeros((order, n))
    for i in range(order):  # at most the filter order: a loop over taps, not samples
        for j in range(i + 1, order + 1):
            lag = m + i - j
            valid = lag >= 0
            states[i, valid] -= a[j] * h[lag[valid]]
            states[i, lag == 0] += b[j]
    return states


@dataclass(frozen=True)
class Weighting:
    """Section weights in the form a block needs: the weighted spectrum and a weight per state.

    Outputs are linear in the weights, so ``a - b`` is the weighting of the difference.
    Treat as immutable (instances may be cached and shared between streams).
    """

    spectrum: Spectrum
    per_state: Array

    def __sub__(self, other: Weighting) -> Weighting:
        return Weighting(self.spectrum - other.spectrum, self.per_state - other.per_state)


class ParallelBank:
    """Filters that share one input and whose outputs are summed with weights (an EQ's bands).

    The weighted sum is itself linear in the input and in the stacked state, so one FFT
    convolution with Σ wᵢ·hᵢ and one product with the stacked zero-input responses give the
    exact weighted output; weights may change from block to block without touching the state.
    Immutable once built, so one bank serves every stream; each stream runs it through its own
    ``BankRunner``. The block length is fixed at construction.
    """

    def __init__(self, sections: Sequence[tuple[npt.ArrayLike, npt.ArrayLike]], n: int) -> None:
        responses = [BlockResponse(b, a, n) for b, a in sections]
        self.block = n
        # A linear convolution of two n-sample blocks has 2n − 1 samples; any larger size works.
        self.fft_size = scipy.fft.next_fast_len(2 * n - 1, real=True)
        spectra = scipy.fft.rfft(np.stack([r.impulse for r in responses]), n=self.fft_size, axis=1)
        # Stored as interleaved re/im floats so that weighting them is one real matrix product.
        self._spectra: Array = np.ascontiguousarray(spectra).view(np.float64)
        self.owner = np.repeat(np.arange(len(responses)), [r.order for r in responses])
        self.free: Array = np.ascontiguousarray(np.hstack([r.free for r in responses]))
        carry: Array = scipy.linalg.block_diag(*[r.carry for r in responses])
        drive: Array = np.vstack([r.drive for r in responses])
        # One product gives the next state from [state, block]: s' = P·s + K·x.
        self.step: Array = np.ascontiguousarray(np.hstack([carry, drive]))

    @property
    def state_size(self) -> int:
        return len(self.owner)

    def weighting(self, weights: npt.ArrayLike, direct: float = 0.0) -> Weighting:
        """What ``BankRunner.respond`` needs for output = direct·x + Σ wᵢ·(section i). Any thread."""
        w = np.asarray(weights, dtype=np.float64)
        spectrum: Spectrum = (w @ self._spectra).view(np.complex128)
        if direct:
            spectrum = spectrum + direct  # a unit impulse's spectrum is 1 everywhere
        return Weighting(spectrum, w[self.owner].copy())


class BankRunner:
    """One stream's state and working memory for a ``ParallelBank`` (audio thread only).

    Arrays are channel-major, shape (channels, n), so that every row handed to the FFT and to
    BLAS is contiguous: OpenBLAS does one matrix-vector product per channel faster than a
    single (n × q)·(q × 2) matrix product.
    """

    def __init__(self, bank: ParallelBank, channels: int) -> None:
        self.bank = bank
        q = bank.state_size
        # Per channel: [state (q) | block (n) | zero padding up to the FFT size].
        self._work: Array = np.zeros((channels, q + bank.fft_size))
        self._spectrum: Spectrum | None = None

    @property
    def state(self) -> Array:
        """The current state, shape (channels, state_size) (a view)."""
        return self._work[:, : self.bank.state_size]

    def clear(self) -> None:
        """Silence the state, as after a seek."""
        self._work[:, : self.bank.state_size] = 0.0

    def load(self, block: npt.ArrayLike) -> Array:
        """Take the next block, (n, channels) in any float dtype; returns it as (channels, n) float64."""
        q, n = self.bank.state_size, self.bank.block
        x = self._work[:, q : q + n]
        x[...] = np.asarray(block).T
        self._spectrum = scipy.fft.rfft(self._work[:, q:], axis=1)
        return x

    def respond(self, weighting: Weighting) -> Array:
        """The weighted output over the loaded block, shape (channels, n), a fresh array."""
        if self._spectrum is None:
            raise RuntimeError("respond() needs a block: call load() first")
        bank = self.bank
        y: Array = scipy.fft.irfft(self._spectrum * weighting.spectrum, n=bank.fft_size, axis=1)
        y = y[:, : bank.block]
        scaled = self._work[:, : bank.state_size] * weighting.per_state
        for ch in range(len(y)):
            y[ch] += bank.free @ scaled[ch]
        return y

    def advance(self) -> None:
        """Move the state past the loaded block; call after the last ``respond`` for it."""
        q, n = self.bank.state_size, self.bank.block
        new = [self.bank.step @ row[: q + n] for row in self._work]
        self._work[:, :q] = new
        self._spectrum = None


def all_pole_zi_matrix(a: npt.ArrayLike) -> Array:
    """M such that ``M @ past`` is lfilter's initial state for the all-pole filter ``[b0] / a``.

    ``past`` holds the filter's last outputs, most recent first: rows y[−1], y[−2], …, one column
    per channel. Keeping outputs instead of lfilter's own state lets a filter swap coefficients
    and carry on from where the signal actually was. Precompute M once per coefficient set:
    applying it is then one small product per block.
    """
    a_arr = np.asarray(a, dtype=np.float64)
    a_arr = a_arr / a_arr[0]
    order = len(a_arr) - 1
    # TDF2: zi[i] = −Σ_{j>i} a_j·y[i − j], and y[i − j] is past row j − i − 1.
    matrix = np.zeros((order, order))
    for i in range(order):  # ≤ a few taps: a loop over the filter order, not over samples
        for j in range(i + 1, order + 1):
            matrix[i, j - i - 1] = -a_arr[j]
    return matrix


class AllPole:
    """y[n] = b0·x[n] − a1·y[n−1] − … − a_q·y[n−q], block by block, with past outputs as state.

    ``past`` has shape (q, channels), most recent output first. Built per coefficient set (cheap,
    any thread); ``run`` is for the audio thread and is one ``lfilter`` call.
    """

    def __init__(self, b0: float, a: npt.ArrayLike) -> None:
        a_arr = np.asarray(a, dtype=np.float64)
        self.order = len(a_arr) - 1
        self._b = np.array([b0 / a_arr[0]])
        self._a = a_arr / a_arr[0]
        self._zi = all_pole_zi_matrix(self._a)

    def run(self, x: Array, past: Array) -> tuple[Array, Array]:
        """Filter the (n, channels) block ``x`` along axis 0; returns y and its new ``past``."""
        y: Array = lfilter(self._b, self._a, x, axis=0, zi=self._zi @ past)[0]
        return y, np.ascontiguousarray(y[: -self.order - 1 : -1])
