"""Splices: a stretch of the current track left out (a SponsorBlock segment) without a gap.

The player does not seek. Before the stretch, the session opens the same track a second time at the
stretch's end (a ``Splice`` with that ``resume`` source) and the player hands it to the engine as a
crossfade (``voice/crossfade.py``): the outgoing side plays up to the stretch's start and is silent
from there, the continuation fades in. Heard: the music before the stretch, then the music after
it, never the stretch itself, never silence; one chain, so the filters carry on as they were.

A stretch that reaches the end of the track (or comes within the crossfade of it) has no
continuation (``resume`` None): the track's end moves to the stretch's start, where the next track
takes over (crossfading or, without crossfade, with a short fade), or the sound fades out.

``fade_due`` decides, each frame, whether a fade starts now; the player carries it out. Values
only: no audio, no threads.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from musicbot.audio import END_OF_STREAM, FRAME_SAMPLES, SAMPLE_RATE, Chunk, EndOfStream

# The shortest fade: one 20 ms block, enough that cutting from one waveform to another never clicks.
SHORT_FADE_SAMPLES = FRAME_SAMPLES
# A splice follows the guild's crossfade, up to this: a 12 s blend would smear the music on both
# sides of a 30 s sponsor read into each other for longer than the read itself.
MAX_SPLICE_FADE_SAMPLES = 2 * SAMPLE_RATE
# How early before its fade a splice is handed to the engine: the player's position (the last chunk
# it read, less what the engine has not used) trails the chain's input by a frame or two, more
# under a time-stretch that reads two chunks a frame. The engine starts the fade at the exact sample.
ARM_AHEAD_SAMPLES = 25 * FRAME_SAMPLES


class ResumeStream(Protocol):
    @property
    def packet_mode(self) -> bool: ...

    def read_nowait(self) -> Chunk | EndOfStream | None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Splice:
    """Leave out the current track from ``at_s`` to ``resume_s``: continue with ``resume`` (the
    same track, opened ``skip_samples`` before ``resume_s``), or end the track at ``at_s`` (None)."""

    at_s: float
    resume: ResumeStream | None
    resume_s: float = 0.0
    skip_samples: int = 0

    @property
    def at_sample(self) -> int:
        return round(self.at_s * SAMPLE_RATE)

    def passed(self, position: int) -> bool:
        """The stretch is behind ``position`` already (a seek past it): continuing would go back."""
        return self.resume is not None and position >= round(self.resume_s * SAMPLE_RATE) - FRAME_SAMPLES


class FadeKind(enum.Enum):
    TRACK = "track"  # into the next track (crossfade, or a track end moved by a splice)
    SPLICE = "splice"  # into the same track's continuation, or into silence


@dataclass(frozen=True, slots=True)
class FadeStart:
    kind: FadeKind
    length_samples: int
    until_sample: int | None  # the outgoing source is silent from here (None: fade from now)
    resume: ResumeStream | None = None  # SPLICE: the continuation (None: fade into silence)
    skip_samples: int = 0


def splice_fade_samples(crossfade_samples: int) -> int:
    """The guild's crossfade, at least one block and at most ``MAX_SPLICE_FADE_SAMPLES``, in whole blocks."""
    blocks = max(1, min(crossfade_samples, MAX_SPLICE_FADE_SAMPLES) // FRAME_SAMPLES)
    return blocks * FRAME_SAMPLES


def fade_possible(*, splice: Splice | None, crossfade_samples: int, has_next: bool) -> bool:
    """Whether any fade can come (``fade_due``'s first question, asked before the position is worked
    out: most packets of most guilds have no stretch to skip and play gaplessly or last)."""
    return splice is not None or (has_next and crossfade_samples > 0)


def fade_due(*, position: int, duration_s: float | None, crossfade_samples: int, splice: Splice | None,
             has_next: bool) -> FadeStart | None:
    """The fade to begin now, if any, for a track at source sample ``position``.

    A splice with a continuation is armed ``ARM_AHEAD_SAMPLES`` before its fade; one that ends the
    track moves the end the next track's crossfade (or a short fade) is measured against. Without a
    splice, the crossfade into the next track starts as before: when no more than it is left.
    """
    if not fade_possible(splice=splice, crossfade_samples=crossfade_samples, has_next=has_next):
        return None
    if splice is not None and splice.passed(position):
        splice = None
    if splice is not None and splice.resume is not None:
        length = splice_fade_samples(crossfade_samples)
        if splice.at_sample - position <= length + ARM_AHEAD_SAMPLES:
            return FadeStart(FadeKind.SPLICE, length, splice.at_sample, splice.resume, splice.skip_samples)
    if splice is not None and splice.resume is None:
        length = max(crossfade_samples, SHORT_FADE_SAMPLES) if has_next else splice_fade_samples(0)
        if splice.at_sample - position > length + ARM_AHEAD_SAMPLES:
            return None
        return FadeStart(FadeKind.TRACK if has_next else FadeKind.SPLICE, length, splice.at_sample)
    if crossfade_samples <= 0 or not has_next or not duration_s:
        return None  # gapless; live streams and sources of unknown length too
    remaining = round(duration_s * SAMPLE_RATE) - position
    if remaining > crossfade_samples:
        return None
    return FadeStart(FadeKind.TRACK, max(remaining, 0), None)


class _Silence:
    """The continuation of a track whose end a splice moved, when nothing follows: no audio at all."""

    packet_mode = False

    def read_nowait(self) -> Chunk | EndOfStream | None:
        return END_OF_STREAM

    def close(self) -> None:
        pass


SILENCE = _Silence()
