"""What a ``Player`` says to the engine that renders its packets, as values.

The same frozen dataclasses travel through the player's command queue, over the connection to a
render worker (pickled) and into the engine host (``voice/host.py``), which applies them: one
vocabulary, whether the engine runs in a worker process or in this one (``voice/render_client.py``).
Each value is checked once, where it is made (``SetVolume(3.0)`` raises ``ValueError`` in the
caller's thread, where the error can still reach a user); nothing downstream checks it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from musicbot.audio import FRAME_SAMPLES, SAMPLE_RATE, Chunk, EndOfStream
from musicbot.dsp.params import IDENTITY_SETTINGS, FilterSettings

OPUS_SILENCE = b"\xf8\xff\xfe"  # a 20 ms Opus silence frame, as discord.py sends it
MAX_PLAYER_VOLUME = 2.0  # /volume 200
MAX_CROSSFADE_S = 12.0
DEFAULT_TARGET_LUFS = -14.0


# ---------------------------------------------------------------------------------------------- settings
@dataclass(frozen=True, slots=True)
class OpusSettings:
    """The encoder's settings (``MUSICBOT_OPUS_*``; docs/benchmarks.md has the measurements behind
    the defaults: complexity 10, in-band FEC off, a 15 % loss hint)."""

    complexity: int = 10
    fec: bool = False
    expected_loss_pct: int = 15

    def __post_init__(self) -> None:
        if not 0 <= self.complexity <= 10:
            raise ValueError(f"Opus complexity must be 0–10, got {self.complexity}")
        if not 0 <= self.expected_loss_pct <= 100:
            raise ValueError(f"expected packet loss must be 0–100 %, got {self.expected_loss_pct}")


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Everything an engine is built with; a fail-over rebuilds it from the latest of these."""

    filters: FilterSettings = IDENTITY_SETTINGS
    volume: float = 1.0
    normalize: bool = True
    target_lufs: float = DEFAULT_TARGET_LUFS
    crossfade_s: float = 0.0
    opus: OpusSettings = field(default_factory=OpusSettings)

    def __post_init__(self) -> None:
        SetVolume(self.volume)
        SetCrossfade(self.crossfade_s)


# ---------------------------------------------------------------------------------------------- commands
@dataclass(frozen=True, slots=True)
class SetFilters:
    settings: FilterSettings


@dataclass(frozen=True, slots=True)
class SetVolume:
    """Player volume as a linear factor, 0.0–2.0 (``/volume 0–200``)."""

    volume: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.volume <= MAX_PLAYER_VOLUME:
            raise ValueError(f"volume must be 0–{MAX_PLAYER_VOLUME:g}, got {self.volume}")


@dataclass(frozen=True, slots=True)
class SetNormalization:
    enabled: bool
    target_lufs: float | None = None


@dataclass(frozen=True, slots=True)
class SetCrossfade:
    """Overlap of consecutive tracks, 0–12 s (0: gapless)."""

    seconds: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.seconds <= MAX_CROSSFADE_S:
            raise ValueError(f"crossfade must be 0–{MAX_CROSSFADE_S:g} s, got {self.seconds}")

    @property
    def samples(self) -> int:
        return crossfade_samples(self.seconds)


def crossfade_samples(seconds: float) -> int:
    """A crossfade's length in samples (its seconds checked where they were set: ``SetCrossfade``)."""
    return round(seconds * SAMPLE_RATE)


@dataclass(frozen=True, slots=True)
class StartTrack:
    """A new source begins; ``packet_mode``: its chunks are Opus packets."""

    packet_mode: bool


@dataclass(frozen=True, slots=True)
class BeginCrossfade:
    """Fade the source of ``RenderRequest.incoming`` in over ``length_samples`` of source audio.

    A splice (a skipped segment) sets ``until_sample``: the current source is silent from that
    sample on, the fade waits until it must start; ``skip_samples``: the incoming source's decoded
    pre-roll to drop (``voice/crossfade.py``)."""

    packet_mode: bool
    length_samples: int
    until_sample: int | None = None
    skip_samples: int = 0


@dataclass(frozen=True, slots=True)
class HurryCrossfade:
    """A skip mid-fade: complete the fade within a frame."""


@dataclass(frozen=True, slots=True)
class CancelCrossfade:
    """The incoming source was withdrawn: fade back within a frame."""


@dataclass(frozen=True, slots=True)
class TakeOver:
    """The client passed the current Opus source through itself, ``sent`` being its last packets:
    the engine carries on from there (it decodes them to enter its filters sample-exactly)."""

    sent: tuple[bytes, ...]


EngineCommand = (SetFilters | SetVolume | SetNormalization | SetCrossfade | StartTrack | BeginCrossfade
                 | HurryCrossfade | CancelCrossfade | TakeOver)


# ---------------------------------------------------------------------------------------------- rendering
@dataclass(frozen=True, slots=True)
class SourceFailed:
    """The source raised here (its message); it ends after the chunks before it."""

    message: str


Item = Chunk | EndOfStream | SourceFailed
"""What a source gave, as it travels to the engine."""


@dataclass(frozen=True, slots=True)
class RenderRequest:
    """Render one packet; the chunks the client read for it come along (for the current source,
    and for the one fading in)."""

    main: tuple[Item, ...] = ()
    incoming: tuple[Item, ...] = ()

    def __reduce__(self) -> tuple[type[RenderRequest], tuple[tuple[Item, ...], tuple[Item, ...]]]:
        return RenderRequest, (self.main, self.incoming)  # positional: see Chunk.__reduce__


@dataclass
class EngineStats:
    dsp_frames: int = 0
    passthrough_frames: int = 0
    underruns: int = 0
    dsp_seconds: float = 0.0  # time in the chain, the output stage and the encoder, for /stats and metrics

    def __reduce__(self) -> tuple[type[EngineStats], tuple[int, int, int, float]]:
        return EngineStats, (self.dsp_frames, self.passthrough_frames, self.underruns, self.dsp_seconds)

    def copy(self) -> EngineStats:
        return EngineStats(self.dsp_frames, self.passthrough_frames, self.underruns, self.dsp_seconds)

    def plus(self, other: EngineStats) -> EngineStats:
        return EngineStats(self.dsp_frames + other.dsp_frames, self.passthrough_frames + other.passthrough_frames,
                           self.underruns + other.underruns, self.dsp_seconds + other.dsp_seconds)


@dataclass(frozen=True, slots=True)
class HandBack:
    """The engine went back to passing the source through: the client does that itself from here,
    starting with ``items`` (read from the source, not yet used) and remembering ``sent``."""

    items: tuple[Item, ...]
    sent: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class RenderReply:
    packet: bytes | None  # None: the source ended
    read_main: int  # items of the current source used up (forwarded ones and earlier)
    read_incoming: int
    completed: bool  # the crossfade finished: the incoming source is now the current one
    crossfading: bool
    error: str | None  # the source failed (its message)
    stats: EngineStats
    render_s: float  # the engine's time for this packet, for /metrics
    hand_back: HandBack | None = None

    def __reduce__(self) -> tuple[type[RenderReply], tuple[object, ...]]:
        # Positional, as Chunk's: the slots' default state (a dictionary, set field by field in
        # Python) pickled in about twice the time, once a packet per guild each way.
        return RenderReply, (self.packet, self.read_main, self.read_incoming, self.completed, self.crossfading,
                             self.error, self.stats, self.render_s, self.hand_back)

    @property
    def unread_samples(self) -> int:
        return FRAME_SAMPLES * (len(self.hand_back.items) if self.hand_back else 0)


# ---------------------------------------------------------------------------------------------- worker control
@dataclass(frozen=True, slots=True)
class AdoptEngine:
    """To a render worker: host a new engine under the id this message comes with
    (``voice/channel.py``)."""

    config: EngineConfig


@dataclass(frozen=True, slots=True)
class DropEngine:
    """To a render worker: the engine of this id was closed; free it."""


WorkerMessage = EngineCommand | RenderRequest | AdoptEngine | DropEngine
"""What travels to a render worker's engines, each with its engine's id, in batches
(``voice/channel.py``)."""


@dataclass(frozen=True, slots=True)
class Ping:
    """To a render worker: answer ``"pong"`` once started."""
