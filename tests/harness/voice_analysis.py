"""Analysis of the RTP stream a bot sent to :class:`~tests.harness.fake_discord.FakeDiscord`.

Module-level functions work on any ``Sequence[RtpPacket]``; :class:`VoiceReceiver` applies them to one guild.

Timing model (discord.py 2.7.1 ``AudioPlayer._do_run``): packet 0 goes out at ``start``, then the player sleeps
``DELAY + (start + DELAY*loops - now)``, so packet k≥1 is due at ``start + (k+1)·20 ms`` (the first gap is
40 ms) on an absolute schedule; a slow ``read()`` is caught up in a burst. Pause, resume, a reconnect and a
new ``play()`` reset the schedule, and every stop/pause sends 5 back-to-back ``OPUS_SILENCE`` frames.
Timing helpers therefore split the stream into *runs* at silence frames (:func:`playback_runs`), skip the
first packet of each run and measure every run on its own schedule.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import av
import numpy as np
import numpy.typing as npt

from .fake_discord import RtpPacket

if TYPE_CHECKING:
    from .fake_discord import FakeDiscord

OPUS_SILENCE = b"\xf8\xff\xfe"
SAMPLE_RATE = 48000
FRAME_SAMPLES = 960
FRAME_MS = 20.0

FloatArray = npt.NDArray[np.float32]


class LatePacket(NamedTuple):
    position: int  # index in the analysed packet list
    packet: RtpPacket
    lateness_ms: float


# ---------------------------------------------------------------------------------------------- decoding


def decode_opus(payloads: Sequence[bytes]) -> FloatArray:
    """Decode Opus packets with a fresh PyAV libopus decoder → float32 ``(n, 2)`` in [-1, 1]."""
    ctx = av.CodecContext.create("libopus", "r")
    ctx.sample_rate = SAMPLE_RATE
    ctx.layout = "stereo"
    chunks: list[FloatArray] = []
    for payload in payloads:
        if not payload:
            continue
        for frame in ctx.decode(av.Packet(payload)):
            chunks.append(_frame_to_float(frame))
    if not chunks:
        return np.zeros((0, 2), np.float32)
    return np.concatenate(chunks).astype(np.float32, copy=False)


def _frame_to_float(frame: av.AudioFrame) -> FloatArray:
    arr = frame.to_ndarray()
    channels = frame.layout.nb_channels
    # planar: (channels, n); packed: (1, n*channels)
    out = arr.T if frame.format.is_planar else arr.reshape(-1, channels)
    if np.issubdtype(out.dtype, np.integer):
        scale = 32768.0 if out.dtype == np.int16 else 2147483648.0  # libopus gives s16 (or s32)
        out = out.astype(np.float32) / scale
    out = out.astype(np.float32, copy=False)
    if channels == 1:
        out = np.repeat(out, 2, axis=1)
    return out


def dominant_hz(pcm: npt.NDArray[np.floating], sample_rate: int = SAMPLE_RATE, *, skip: int = 4800) -> float:
    """Frequency of the strongest FFT bin (Hann window) of the channel mean, after skipping ``skip`` samples of
    codec warm-up."""
    x = pcm.mean(axis=1) if pcm.ndim == 2 else pcm
    x = np.asarray(x[skip:] if len(x) > 2 * skip else x, dtype=np.float64)
    if len(x) < 2:
        return 0.0
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / sample_rate)[int(spec.argmax())])


def rms(pcm: npt.NDArray[np.floating]) -> float:
    """Root mean square over all samples and channels (full-scale sine of amplitude A → A/√2)."""
    if pcm.size == 0:
        return 0.0
    return float(np.sqrt(np.mean(np.square(pcm, dtype=np.float64))))


# ---------------------------------------------------------------------------------------------- stream checks


def sequence_contiguous(packets: Sequence[RtpPacket]) -> bool:
    """Every sequence number is the previous + 1 (mod 2¹⁶), in arrival order."""
    return all((b.seq - a.seq) % 65536 == 1 for a, b in itertools.pairwise(packets))


def timestamp_steps(packets: Sequence[RtpPacket]) -> list[int]:
    """RTP timestamp increments (mod 2³²) between consecutive packets; discord.py always adds 960."""
    return [(b.timestamp - a.timestamp) % (1 << 32) for a, b in itertools.pairwise(packets)]


def silent_packets(packets: Sequence[RtpPacket]) -> list[RtpPacket]:
    """Packets whose payload is discord.py's ``OPUS_SILENCE`` (``b'\\xf8\\xff\\xfe'``)."""
    return [p for p in packets if p.opus == OPUS_SILENCE]


def playback_runs(packets: Sequence[RtpPacket], *, min_len: int = 1) -> list[list[RtpPacket]]:
    """Split into runs of consecutive non-silence packets (silence frames mark stop/pause/track ends, after which
    discord.py's schedule restarts). Runs shorter than ``min_len`` are dropped."""
    runs: list[list[RtpPacket]] = []
    cur: list[RtpPacket] = []
    for p in packets:
        if p.opus == OPUS_SILENCE:
            if cur:
                runs.append(cur)
            cur = []
        else:
            cur.append(p)
    if cur:
        runs.append(cur)
    return [r for r in runs if len(r) >= min_len]


def _paced(packets: Sequence[RtpPacket], skip_first: bool, split: bool) -> list[list[RtpPacket]]:
    runs = playback_runs(packets) if split else [list(packets)]
    return [r[1:] if skip_first else r for r in runs]


def inter_arrival_jitter(
    packets: Sequence[RtpPacket], *, period_ms: float = FRAME_MS, skip_first: bool = True, split_runs: bool = True
) -> list[float]:
    """``|Δt − period|`` in ms between consecutive packets of each run (see module docstring)."""
    out: list[float] = []
    for run in _paced(packets, skip_first, split_runs):
        t = np.array([p.t_recv for p in run])
        out.extend(np.abs(np.diff(t) * 1000.0 - period_ms).tolist())
    return out


def lateness_ms(
    packets: Sequence[RtpPacket], *, period_ms: float = FRAME_MS, skip_first: bool = True, split_runs: bool = True
) -> list[tuple[int, RtpPacket, float]]:
    """For each paced packet: ms behind its run's ideal absolute schedule ``t0 + i·period``.

    The anchor ``t0`` is ``min_i(t_i − i·period)``: the earliest the schedule can have started given the
    arrivals, robust to late packets (they only raise ``t_i − i·period``). Indices refer to ``packets``.
    """
    index = {id(p): i for i, p in enumerate(packets)}
    out: list[tuple[int, RtpPacket, float]] = []
    for run in _paced(packets, skip_first, split_runs):
        if not run:
            continue
        t = np.array([p.t_recv for p in run]) * 1000.0
        ideal = np.arange(len(run)) * period_ms
        late = t - ideal
        late -= late.min()
        out.extend((index[id(p)], p, float(x)) for p, x in zip(run, late, strict=True))
    return out


def late_packets(
    packets: Sequence[RtpPacket],
    threshold_ms: float = 5.0,
    *,
    period_ms: float = FRAME_MS,
    skip_first: bool = True,
    split_runs: bool = True,
) -> list[LatePacket]:
    """Packets more than ``threshold_ms`` behind the ideal 20 ms schedule (see :func:`lateness_ms`)."""
    return [
        LatePacket(i, p, x)
        for i, p, x in lateness_ms(packets, period_ms=period_ms, skip_first=skip_first, split_runs=split_runs)
        if x > threshold_ms
    ]


# ---------------------------------------------------------------------------------------------- per guild


class VoiceReceiver:
    """What the fake voice server received, per guild. All methods read a snapshot (the UDP thread keeps adding).

    ``ssrc`` narrows to one voice session (a reconnect with a new IDENTIFY gets a new SSRC)."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    def guilds(self) -> list[int]:
        return sorted({p.guild_id for p in self.fake.packets() if p.guild_id is not None})

    def ssrcs(self, guild_id: int) -> list[int]:
        return list(dict.fromkeys(p.ssrc for p in self.fake.packets(guild_id)))

    def packets(
        self, guild_id: int, *, ssrc: int | None = None, since: float | None = None, include_silence: bool = True
    ) -> list[RtpPacket]:
        """Packets in arrival order; ``since`` = a ``time.perf_counter()`` value (e.g. taken before ``play()``)."""
        return [
            p
            for p in self.fake.packets(guild_id)
            if (ssrc is None or p.ssrc == ssrc)
            and (since is None or p.t_recv >= since)
            and (include_silence or p.opus != OPUS_SILENCE)
        ]

    def count(self, guild_id: int) -> int:
        return len(self.fake.packets(guild_id))

    def clear(self, guild_id: int | None = None) -> None:
        """Forget received packets (of one guild, or all)."""
        with self.fake._rtp_lock:
            self.fake.rtp[:] = [] if guild_id is None else [p for p in self.fake.rtp if p.guild_id != guild_id]

    def decode_pcm(
        self, guild_id: int, *, ssrc: int | None = None, since: float | None = None, skip_silence: bool = False
    ) -> FloatArray:
        """Decode the guild's packets (arrival order) with a fresh Opus decoder → float32 ``(n, 2)``."""
        return decode_opus(
            [p.opus for p in self.packets(guild_id, ssrc=ssrc, since=since, include_silence=not skip_silence)]
        )

    def sequence_contiguous(self, guild_id: int, *, ssrc: int | None = None) -> bool:
        return sequence_contiguous(self.packets(guild_id, ssrc=ssrc))

    def timestamps_step(self, guild_id: int, *, ssrc: int | None = None) -> list[int]:
        return timestamp_steps(self.packets(guild_id, ssrc=ssrc))

    def silent_packets(self, guild_id: int) -> list[RtpPacket]:
        return silent_packets(self.packets(guild_id))

    def inter_arrival_jitter(
        self, guild_id: int, *, since: float | None = None, period_ms: float = FRAME_MS, skip_first: bool = True
    ) -> list[float]:
        return inter_arrival_jitter(self.packets(guild_id, since=since), period_ms=period_ms, skip_first=skip_first)

    def late_packets(
        self,
        guild_id: int,
        threshold_ms: float = 5.0,
        *,
        since: float | None = None,
        period_ms: float = FRAME_MS,
        skip_first: bool = True,
    ) -> list[LatePacket]:
        return late_packets(
            self.packets(guild_id, since=since), threshold_ms, period_ms=period_ms, skip_first=skip_first
        )

    def playback_runs(self, guild_id: int) -> list[list[RtpPacket]]:
        return playback_runs(self.packets(guild_id))

    async def wait_for_packets(self, guild_id: int, count: int, *, timeout: float = 10.0) -> list[RtpPacket]:
        """Wait until the guild has at least ``count`` packets."""
        deadline = time.perf_counter() + timeout
        while (n := self.count(guild_id)) < count:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"guild {guild_id}: {n}/{count} RTP packets after {timeout}s")
            await asyncio.sleep(0.01)
        return self.packets(guild_id)

    async def wait_until_quiet(self, guild_id: int, *, quiet_ms: float = 100.0, timeout: float = 10.0) -> None:
        """Wait until no packet for the guild arrived during the last ``quiet_ms`` (e.g. the trailing silence)."""
        deadline = time.perf_counter() + timeout
        while True:
            pk = self.fake.packets(guild_id)
            now = time.perf_counter()
            if pk and now - pk[-1].t_handled >= quiet_ms / 1000.0:
                return
            if now > deadline:
                raise TimeoutError(f"guild {guild_id}: still receiving after {timeout}s")
            await asyncio.sleep(0.01)
