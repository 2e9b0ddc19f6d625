"""Parsing the positions users type for ``/seek``.

Accepted: a clock (``1:23``, ``1:02:03``), plain seconds (``90``, ``12.5``), units (``1m30s``,
``2h``, ``45s``), each optionally signed: ``+10``/``-15`` (and ``+1:00``) move relative to where the
track is. Anything else raises ``BadTimeError``, whose message lists the accepted forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from musicbot.bot.errors import BadTimeError

MAX_INPUT_CHARS = 20
# Only ASCII digits: int() would also accept other scripts' digits, which nobody means here.
_NUMBER = r"[0-9]{1,7}(?:\.[0-9]{1,3})?"
# Two-digit fields after a colon, as clocks are written: "1:5" is more likely a typo than 1:05.
_CLOCK = re.compile(r"(?:(?P<h>[0-9]{1,4}):(?P<m2>[0-5][0-9])|(?P<m>[0-9]{1,5})):(?P<s>[0-5][0-9](?:\.[0-9]{1,3})?)")
_SECONDS = re.compile(_NUMBER)
_UNITS = re.compile(
    r"(?=[0-9])(?:(?P<h>[0-9]{1,4})h)?(?:(?P<m>[0-9]{1,5})m(?:in)?)?(?:(?P<s>" + _NUMBER + r")s(?:ec)?)?"
)
# Mobile keyboards and copy-paste bring typographic signs and spaces.
_SIGNS = str.maketrans({"−": "-", "–": "-", "＋": "+"})


@dataclass(frozen=True)
class SeekTarget:
    """``seconds`` from the start, or (``relative``) signed seconds from the current position."""

    seconds: float
    relative: bool = False

    def resolve(self, position_s: float) -> float:
        """The absolute position, in seconds, never before the start."""
        return max(0.0, position_s + self.seconds if self.relative else self.seconds)


def parse_seconds(text: str) -> float | None:
    """An unsigned duration in seconds, or None when ``text`` is none of the accepted forms."""
    if match := _CLOCK.fullmatch(text):
        hours = int(match["h"] or 0)
        minutes = int(match["m2"] if match["h"] is not None else match["m"])
        return hours * 3600 + minutes * 60 + float(match["s"])
    if _SECONDS.fullmatch(text):
        return float(text)
    match = _UNITS.fullmatch(text)
    if match and any(match.group(g) for g in ("h", "m", "s")):
        return int(match["h"] or 0) * 3600 + int(match["m"] or 0) * 60 + float(match["s"] or 0)
    return None


def parse_seek(text: str) -> SeekTarget:
    """The target of ``/seek text``; raises ``BadTimeError`` for anything not a time."""
    cleaned = text.translate(_SIGNS).strip().lower()
    if not cleaned or len(cleaned) > MAX_INPUT_CHARS:
        raise BadTimeError(text)
    sign = cleaned[0] if cleaned[0] in "+-" else ""
    seconds = parse_seconds(cleaned[len(sign):].lstrip())  # "- 15" is -15; "5 5" is not a time
    if seconds is None:
        raise BadTimeError(text)
    if not sign:
        return SeekTarget(seconds)
    return SeekTarget(-seconds if sign == "-" else seconds, relative=True)
