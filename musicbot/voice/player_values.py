"""What a ``Player`` (``voice/player.py``) takes and tells, as values: the stream it reads, its
events, the commands queued to its render thread, and a slot (one open source and its play).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from musicbot.audio import Chunk, EndOfStream
from musicbot.voice.protocol import SetCrossfade, SetFilters, SetNormalization, SetVolume
from musicbot.voice.splice import Splice


class TrackStream(Protocol):
    """What the player reads: a ``Decoder`` or a ``ResilientStream``, already open."""

    @property
    def packet_mode(self) -> bool: ...

    def read_nowait(self) -> Chunk | EndOfStream | None: ...

    def close(self) -> None: ...


class EventKind(enum.Enum):
    TRACK_START = "track_start"
    TRACK_END = "track_end"
    TRACK_ERROR = "track_error"
    UNDERRUN = "underrun"
    SEGMENT_SKIPPED = "segment_skipped"  # a splice is done: the track goes on after the stretch left out


class EndReason(enum.Enum):
    FINISHED = "finished"  # the source ran out (or errored, see ERROR): the queue moves on
    REPLACED = "replaced"  # play()/skip() put another source in its place
    STOPPED = "stopped"  # stop()
    ERROR = "error"  # the source raised; a TRACK_ERROR event came first, both carry the message


@dataclass(frozen=True, slots=True)
class PlayerEvent:
    """One thing that happened on the audio thread. ``token`` names the track (the session's id)."""

    kind: EventKind
    token: int
    reason: EndReason | None = None
    message: str | None = None
    error: BaseException | None = None  # TRACK_ERROR: what failed, so the announcement reads in the guild's language


# ---------------------------------------------------------------------------------------------- commands
@dataclass(frozen=True, slots=True)
class Play:
    source: TrackStream
    token: int
    start_s: float


@dataclass(frozen=True, slots=True)
class QueueNext:
    source: TrackStream | None
    token: int
    start_s: float


@dataclass(frozen=True, slots=True)
class QueueSplice:
    token: int
    splice: Splice


@dataclass(frozen=True, slots=True)
class Skip:
    pass


@dataclass(frozen=True, slots=True)
class Stop:
    pass


PlayerSetting = SetFilters | SetVolume | SetNormalization | SetCrossfade
PlayerCommand = Play | QueueNext | QueueSplice | Skip | Stop | PlayerSetting


@dataclass(slots=True)
class Slot:
    source: TrackStream
    token: int
    start_s: float
    position_samples: int = 0  # the last chunk read from this source
    splice: Splice | None = None  # the next stretch of this track to leave out
