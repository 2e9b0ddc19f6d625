"""Real-time loudness normalization to a target in LUFS (ITU-R BS.1770 K-weighting, EBU R128-style gating).

Hand-written because neither numpy nor scipy offers streaming loudness normalization (meters such as
pyloudnorm measure a whole file offline); scipy's lfilter routine (``dsp/iir.py``) runs the K-weighting filter.

The loudness estimate works like BS.1770's integrated loudness made causal and forgetful:

* K-weighted mean square per channel, summed (stereo weights 1.0), in 20 ms frames; a 400 ms
  window of them gives the momentary loudness ``−0.691 + 10·log10(z)``, updated every frame.
* Frames below −70 LUFS (absolute gate) are left out of the window's mean, and nothing is measured
  until 100 ms of audible frames are in it, so silence between or inside tracks never pumps the
  gain up, and the first window after a silence is not diluted by it.
* Windows more than 10 LU below the running estimate (relative gate, as in BS.1770) only nudge it
  very slowly, so a quiet passage holds the gain instead of boosting it.
* Accepted windows are averaged in the power domain: a plain running mean for the first few
  seconds (fast, unbiased convergence at the start of a track), then an exponential average with a
  3 s time constant. A window more than 10 LU above the estimate restarts the running mean, so a
  loud section after a quiet one is caught within a second instead of several.

The gain (target − estimate, clamped to −24…+18 dB) moves at most 4 dB/s up and 8 dB/s down, and is
interpolated per sample across each frame, so it never zippers or clicks. A guard pulls it down fast
(240 dB/s, still a smooth ramp within each frame) when the last 100 ms would come out more than
9 LU above target, e.g. a loud track right after a quiet one. Peaks in the first frames of such a
jump are the limiter's job: a normalizer without look-ahead cannot see them coming.
"""

from __future__ import annotations

import itertools
import math
from collections import deque

import numpy as np
import numpy.typing as npt

from musicbot.dsp.finite import zero_nonfinite
from musicbot.dsp.frame import CHANNELS, FRAME_SAMPLES, FRAME_SECONDS, SAMPLE_RATE_HZ, Frame, ramp_up
from musicbot.dsp.iir import lfilter

# BS.1770-4 K-weighting at 48 kHz: stage 1 high shelf (+4 dB above ~1.5 kHz, head diffraction),
# stage 2 RLB high-pass (~38 Hz). These are the coefficients the Recommendation publishes for 48 kHz.
_K_WEIGHTING_SOS = np.array(
    [
        [1.53512485958697, -2.69169618940638, 1.19839281085285, 1.0, -1.69065929318241, 0.73248077421585],
        [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621],
    ]
)
assert SAMPLE_RATE_HZ == 48_000, "K-weighting coefficients are for 48 kHz"
# Run as one 4th-order lfilter: scipy's sosfilt costs ~80 µs of per-call overhead, lfilter ~10 µs, and
# in float64 the combined polynomial is exact to far better than the 0.01 LU that matters here.
_K_B = np.polymul(_K_WEIGHTING_SOS[0, :3], _K_WEIGHTING_SOS[1, :3])
_K_A = np.polymul(_K_WEIGHTING_SOS[0, 3:], _K_WEIGHTING_SOS[1, 3:])

_FRAME_RAMP = ramp_up()  # read only: the per-sample glide of every 20 ms frame

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
MIN_GAIN_DB = -24.0
# +18 dB rather than a timid +12 dB so that a quiet master at −30 LUFS still reaches −14 LUFS; the
# absolute gate keeps near-silence (below −70 LUFS) from ever being boosted.
MAX_GAIN_DB = 18.0
INTEGRATION_SECONDS = 3.0
# Windows under the relative gate still move the estimate, this many times more slowly, so a track
# that stays quiet for a long time is eventually followed rather than frozen out.
GATED_SLOWDOWN = 10.0
_GATE_MEAN_SQUARE = 10.0 ** ((ABSOLUTE_GATE_LUFS + 0.691) / 10.0)
REGIME_CHANGE_LU = 10.0
MOMENTARY_FRAMES = 20  # 400 ms
GUARD_FRAMES = 5  # 100 ms
GUARD_LU = 9.0
SLEW_UP_DB_PER_S = 4.0
SLEW_DOWN_DB_PER_S = 8.0
GUARD_SLEW_DB_PER_S = 240.0


def lufs(mean_square: float) -> float:
    """Loudness in LUFS of a K-weighted mean square summed over channels (BS.1770)."""
    return -0.691 + 10.0 * math.log10(max(mean_square, 1e-30))


class LoudnessNormalizer:
    """Brings programme loudness to ``target_lufs`` smoothly, in real time.

    ``reset()`` (a seek or a new track) forgets the measurement but keeps the current gain as the
    starting point: the previous material is the best guess for the next, and the running mean
    re-converges within a second or two. Construct on any thread; all methods are then called from
    the audio thread (settings changes arrive there through the player's command queue).
    """

    def __init__(self, target_lufs: float = -14.0, enabled: bool = True) -> None:
        self._target_lufs = _checked_target(target_lufs)
        self._enabled = enabled
        self._gain_db = 0.0
        self._zi = np.zeros((len(_K_A) - 1, CHANNELS))
        # The last 400 ms of frame powers, and the running sum and count of those above the absolute
        # gate (kept as frames come and go: summing the window again every frame cost ~4 µs).
        self._window: deque[float] = deque()
        self._audible_sum = 0.0
        self._audible_count = 0
        self._held: npt.NDArray[np.float64] | None = None  # a frame waiting to be measured with the next
        self._estimate: float | None = None  # mean square, power domain
        self._accepted = 0

    @property
    def target_lufs(self) -> float:
        """The loudness the output is steered to, in LUFS."""
        return self._target_lufs

    @property
    def enabled(self) -> bool:
        return self._enabled

    @property
    def current_gain_db(self) -> float:
        """Gain applied at the end of the last frame, in dB."""
        return self._gain_db

    @property
    def estimate_lufs(self) -> float | None:
        """Running loudness estimate of the input in LUFS, or None before any non-silent audio."""
        return None if self._estimate is None else lufs(self._estimate)

    @property
    def is_identity(self) -> bool:
        """True when disabled and the gain has faded back to 0 dB."""
        return not self._enabled and self._gain_db == 0.0

    def set_target(self, target_lufs: float) -> None:
        """New target in LUFS; the gain glides there at the normal slew rate."""
        self._target_lufs = _checked_target(target_lufs)

    def set_enabled(self, enabled: bool) -> None:
        """Turn on or off. Off fades the gain to 0 dB over the next frame; on measures afresh."""
        if enabled and not self._enabled:
            self._forget_measurement()
        self._enabled = enabled

    def reset(self) -> None:
        """Forget filter state and the loudness estimate; keep the current gain (see class docstring)."""
        self._forget_measurement()

    def process(self, frame: Frame) -> Frame:
        """Apply the (slowly moving) normalization gain to one (n, 2) float32 frame."""
        if not self._enabled:
            if self._gain_db == 0.0:
                return frame
            return self._apply_ramp(frame, 0.0)

        n = len(frame)
        if self._held is None and n == FRAME_SAMPLES:
            # Measured together with the next frame: one K-weighting call for both, as its fixed cost
            # (~10 µs of scipy's per-call work) is most of it. This frame's gain comes from the
            # estimate so far: a frame later than it could, for a gain that moves at most 4 dB/s.
            self._held = np.array(frame, dtype=np.float64)
            return self._apply_ramp(frame, self._next_gain_db(n))
        x = np.asarray(frame, dtype=np.float64)
        if self._held is not None:
            x = np.concatenate([self._held, x])
            self._held = None
        weighted, self._zi = lfilter(_K_B, _K_A, x, axis=0, zi=self._zi)
        powers = [float(np.vdot(part, part)) / len(part)  # both channels' sums of squares (BS.1770)
                  for part in (weighted[:-n], weighted[-n:]) if len(part)]
        if not math.isfinite(sum(powers)):
            # A NaN or ±Inf sample (the chain zeroes them, so this is a safety net): it would
            # stay in the K-weighting state and freeze the estimate for the rest of the track.
            self._forget_measurement()
            return self._apply_ramp(zero_nonfinite(frame), self._gain_db)
        for power in powers:
            self._remember(power)
            self._update_estimate()
        return self._apply_ramp(frame, self._next_gain_db(max(n, 1)))

    def _remember(self, power: float) -> None:
        window = self._window
        window.append(power)
        if power >= _GATE_MEAN_SQUARE:
            self._audible_sum += power
            self._audible_count += 1
        if len(window) > MOMENTARY_FRAMES:
            gone = window.popleft()
            if gone >= _GATE_MEAN_SQUARE:
                self._audible_sum -= gone
                self._audible_count -= 1
                if not self._audible_count:
                    self._audible_sum = 0.0  # no rounding residue carried across a silence

    def _update_estimate(self) -> None:
        if self._audible_count < GUARD_FRAMES:
            return
        momentary = max(self._audible_sum, 0.0) / self._audible_count
        loudness = lufs(momentary)
        slow = 1.0 - math.exp(-FRAME_SECONDS / INTEGRATION_SECONDS)
        if self._estimate is not None and loudness > lufs(self._estimate) + REGIME_CHANGE_LU:
            # A whole 400 ms window far above the estimate is new material (a loud section after a
            # quiet intro, a loud track after a quiet one): restart the running mean rather than
            # creeping towards it over several seconds while the gain is far too high.
            self._accepted = 0
        if self._estimate is None or loudness >= lufs(self._estimate) + RELATIVE_GATE_LU:
            self._accepted += 1
            weight = max(1.0 / self._accepted, slow)
        else:
            weight = slow / GATED_SLOWDOWN
        previous = momentary if self._estimate is None else self._estimate
        self._estimate = previous + weight * (momentary - previous)

    def _next_gain_db(self, n: int) -> float:
        seconds = n / SAMPLE_RATE_HZ
        desired = self._gain_db
        if self._estimate is not None:
            desired = min(MAX_GAIN_DB, max(MIN_GAIN_DB, self._target_lufs - lufs(self._estimate)))
        down = SLEW_DOWN_DB_PER_S * seconds
        window = self._window
        recent = [p for p in itertools.islice(window, max(0, len(window) - GUARD_FRAMES), None)
                  if p >= _GATE_MEAN_SQUARE]
        if recent:
            ceiling_db = self._target_lufs + GUARD_LU - lufs(sum(recent) / len(recent))
            if self._gain_db > ceiling_db:
                desired = min(desired, ceiling_db)
                down = GUARD_SLEW_DB_PER_S * seconds
        step = min(SLEW_UP_DB_PER_S * seconds, max(-down, desired - self._gain_db))
        return self._gain_db + step

    def _apply_ramp(self, frame: Frame, new_gain_db: float) -> Frame:
        """Multiply by a gain moving linearly (in amplitude) from the old to the new value."""
        old_db, self._gain_db = self._gain_db, new_gain_db
        if old_db == new_gain_db:  # settled: one scalar product
            return frame if new_gain_db == 0.0 else frame * np.float32(10.0 ** (new_gain_db / 20.0))
        old = 10.0 ** (old_db / 20.0)
        new = 10.0 ** (new_gain_db / 20.0)
        n = len(frame)
        ramp = _FRAME_RAMP if n == FRAME_SAMPLES else ramp_up(n) if n else np.zeros((0, 1), np.float32)
        gain = ramp * np.float32(new - old)
        gain += np.float32(old)
        return frame * gain

    def _forget_measurement(self) -> None:
        self._zi.fill(0.0)
        self._window.clear()
        self._audible_sum, self._audible_count = 0.0, 0
        self._held = None
        self._estimate = None
        self._accepted = 0


def _checked_target(target_lufs: float) -> float:
    if not math.isfinite(target_lufs) or not -70.0 < target_lufs <= 0.0:
        raise ValueError("target_lufs must be within −70…0 LUFS")
    return float(target_lufs)
