"""``SegmentSkipper``: a session's SponsorBlock segments, skipped inside the audio path (event loop).

For a YouTube track, the segments of the guild's categories are looked up as soon as the track is
handed to the player (playing now, or opened ahead): the lookup runs beside playback and never
holds it up; a service that is down means nothing is skipped, logged once per outage. The
segments become a ``SkipPlan``; before each one the same track is opened again at its end and
handed to the player as a ``Splice`` (``voice/splice.py``), which leaves the stretch out without a
gap. When a splice is done the player says so (SEGMENT_SKIPPED): the panel tells what was skipped
and the next segment's continuation is opened.

A ``SkipPlan`` is also the users' clock: ``heard_s`` is the position with skipped stretches not
counted, ``heard_length_s`` the track's length less them, ``source_s`` turns a position on that
clock (``/seek 1:23``) back into the track's own.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from musicbot.audio import SAMPLE_RATE
from musicbot.lookups import DEFAULT_CATEGORIES, Segment, ServiceDownError, SponsorBlockClient, youtube_video_id
from musicbot.queue import QueueEntry
from musicbot.voice.splice import Splice

if TYPE_CHECKING:
    from musicbot.session import GuildSession

log = logging.getLogger(__name__)

MERGE_GAP_S = 1.0  # two segments closer than this are one skip: a second of music is not worth two splices
MIN_SEGMENT_S = 0.2
CUT_END_S = 1.0  # a segment ending this close to the track's end (or within the crossfade) ends the track
PREROLL_S = 0.08  # the continuation opens this early: an Opus decoder needs ~4 packets to converge
LATE_S = 1.0  # a segment with less than this left is let be (a splice there would skip almost nothing)


@dataclass(frozen=True)
class SkipPlan:
    """The stretches of one track to leave out, merged and in order; ``cut_at_s``: where the last one
    ends the track instead (None: it plays to its end)."""

    segments: tuple[Segment, ...]
    cut_at_s: float | None = None

    @classmethod
    def of(cls, found: Sequence[Segment], duration_s: float | None, *, crossfade_s: float = 0.0) -> SkipPlan:
        merged: list[Segment] = []
        for segment in sorted(found, key=lambda s: s.start_s):
            if merged and segment.start_s - merged[-1].end_s < MERGE_GAP_S:
                last = merged[-1]
                merged[-1] = Segment(last.start_s, max(last.end_s, segment.end_s), last.category)
            else:
                merged.append(segment)
        kept = [s for s in merged if s.length_s >= MIN_SEGMENT_S and (duration_s is None or s.start_s < duration_s)]
        cut_at = None
        if kept and duration_s is not None and kept[-1].end_s >= duration_s - max(CUT_END_S, crossfade_s):
            cut_at = kept[-1].start_s
            kept[-1] = Segment(kept[-1].start_s, duration_s, kept[-1].category)
        return cls(tuple(kept), cut_at)

    def next_after(self, position_s: float) -> Segment | None:
        """The segment to skip next from ``position_s``: one it is inside (with more than ``LATE_S``
        of it left), or the first after it."""
        return next((s for s in self.segments if s.end_s - LATE_S > position_s), None)

    def heard_s(self, position_s: float) -> float:
        """``position_s`` of the track on the users' clock: the stretches before it not counted."""
        skipped = sum(min(s.end_s, max(position_s, s.start_s)) - s.start_s for s in self.segments)
        return max(0.0, position_s - skipped)

    def source_s(self, heard_s: float) -> float:
        """The track's own position for ``heard_s`` on the users' clock (never inside a stretch)."""
        position = heard_s
        for segment in self.segments:
            if segment.start_s <= position:
                position += segment.length_s
        return position

    def heard_length_s(self, duration_s: float) -> float:
        return max(0.0, duration_s - sum(s.length_s for s in self.segments))


@dataclass(frozen=True)
class SkippedNote:
    """What the panel says after a skip: ``Skipped sponsor (0:31)``."""

    entry_id: int
    category: str
    length_s: float


@dataclass
class _Play:
    entry: QueueEntry
    start_s: float
    plan: SkipPlan | None = None
    pending: Segment | None = None  # handed to the player, not yet skipped


class SegmentSkipper:
    def __init__(self, session: GuildSession, client: SponsorBlockClient | None) -> None:
        self.session = session
        self.client = client
        self.categories: tuple[str, ...] = DEFAULT_CATEGORIES
        self.last_skipped: SkippedNote | None = None
        self._plays: dict[int, _Play] = {}  # by the player's token
        self._service_down = False

    # ---------------------------------------------------------------- from Playback
    def handed_over(self, token: int, entry: QueueEntry, start_s: float) -> None:
        """``entry`` went to the player under ``token`` (playing now or opened ahead), from ``start_s``."""
        video_id = youtube_video_id(entry.track)
        if self.client is None or not self.categories or video_id is None:
            return
        self._plays[token] = _Play(entry, start_s)
        self.session.playback.spawn(self._look_up(token, video_id, self.categories))

    def ended(self, token: int) -> None:
        self._plays.pop(token, None)

    def segment_skipped(self, token: int) -> None:
        """The player left the pending segment out (SEGMENT_SKIPPED): say so, prepare the next one."""
        play = self._plays.get(token)
        if play is None or play.pending is None:
            return
        segment, play.pending = play.pending, None
        self.last_skipped = SkippedNote(play.entry.entry_id, segment.category, segment.length_s)
        log.info("skipped %s (%.1f s) of %s", segment.category, segment.length_s, play.entry.track.id)
        self.session._notify()
        self.session.playback.spawn(self._prepare_next(token, segment.end_s))

    # ---------------------------------------------------------------- the users' clock
    def plan_of(self, token: int | None) -> SkipPlan | None:
        play = self._plays.get(token) if token is not None else None
        return play.plan if play is not None else None

    # ---------------------------------------------------------------- internals
    async def _look_up(self, token: int, video_id: str, categories: tuple[str, ...]) -> None:
        assert self.client is not None
        try:
            found = await self.client.segments(video_id, categories)
        except ServiceDownError as error:
            if not self._service_down:
                log.warning("SponsorBlock lookups fail (%s); tracks play without skipping until it answers",
                            error.detail)
            self._service_down = True
            return
        if self._service_down:
            log.info("SponsorBlock answers again")
            self._service_down = False
        play = self._plays.get(token)
        if play is None or not found:
            return
        play.plan = SkipPlan.of(found, play.entry.track.duration_s, crossfade_s=self.session.settings.crossfade_s)
        self.session._notify()  # the length shown is the length heard now
        position = self.session.position_s if token == self.session.playback.current else play.start_s
        await self._prepare_next(token, position)

    async def _prepare_next(self, token: int, position_s: float) -> None:
        """Hand the player the next segment of ``token``'s plan after ``position_s``, its
        continuation opened (a segment that ends the track needs none)."""
        play = self._plays.get(token)
        segment = play.plan.next_after(position_s) if play is not None and play.plan is not None else None
        if play is None or play.plan is None or segment is None:
            return
        if play.plan.cut_at_s is not None and segment.start_s == play.plan.cut_at_s:
            play.pending = segment
            self.session.player.queue_splice(token, Splice(segment.start_s, None))
            return
        opened_at = max(0.0, segment.end_s - PREROLL_S)
        try:
            resume = await self.session.opener.open(play.entry.track, start_s=opened_at)
        except Exception as error:  # the segment plays: a skip is never worth a stopped track
            log.warning("could not open %s after a segment (%s); it plays", play.entry.track.id, error)
            return
        if self._plays.get(token) is not play:
            resume.close()  # the track ended (or was replaced) while its continuation opened
            return
        skip = round((segment.end_s - opened_at) * SAMPLE_RATE) + int(getattr(resume, "codec_delay_samples", 0))
        play.pending = segment
        self.session.player.queue_splice(token, Splice(segment.start_s, resume, segment.end_s, skip))
