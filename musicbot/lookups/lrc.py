"""LRC, the format of synced lyrics: ``[mm:ss.xx]words`` per line.

A line may carry several times (``[00:12.00][01:10.50]the chorus``); tags such as ``[ar:…]`` are
skipped, ``[offset:+250]`` (milliseconds; positive means the words come earlier) is applied.
Times are seconds of the track as published, the source's own timeline: the player's position in
the track (``GuildSession.position_s``) is on the same timeline whatever the tempo, so
``line_index_at`` needs no correction for nightcore and the like.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

_TIME = re.compile(r"\[(\d{1,3}):(\d{1,2}(?:[.:]\d{1,3})?)\]")
_OFFSET = re.compile(r"^\s*\[offset:\s*([+-]?\d+)\s*\]\s*$", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True, slots=True)
class LyricLine:
    time_s: float  # when the line starts, seconds into the track
    text: str  # may be empty: an instrumental stretch between sung lines


def parse_lrc(text: str) -> tuple[LyricLine, ...]:
    """The timed lines of ``text``, sorted by time (stable for equal times); () when none."""
    offset_match = _OFFSET.search(text)
    offset_s = int(offset_match.group(1)) / 1000 if offset_match else 0.0
    lines: list[LyricLine] = []
    for raw in text.splitlines():
        times: list[float] = []
        rest = raw.strip()
        while match := _TIME.match(rest):
            minutes, seconds = match.groups()
            times.append(int(minutes) * 60 + float(seconds.replace(":", ".")))
            rest = rest[match.end():]
        words = rest.strip()
        lines.extend(LyricLine(max(0.0, t - offset_s), words) for t in times)
    lines.sort(key=lambda line: line.time_s)
    return tuple(lines)


def line_index_at(lines: tuple[LyricLine, ...], position_s: float) -> int | None:
    """The index of the line sung at ``position_s`` (the last that started); None before the first."""
    index = bisect.bisect_right([line.time_s for line in lines], position_s) - 1
    return index if index >= 0 else None
