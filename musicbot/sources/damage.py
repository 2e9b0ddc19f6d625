"""Telling a damaged file from a good one while it is decoded (decoder thread).

FFmpeg plays what it can of a broken file and says nothing: a truncated download simply ends
early, a corrupt stretch is skipped, a WAV whose header promises more than it holds ends with a
packet it marks corrupt. ``DamageCheck`` counts those signs as the decoder meets them and, at the
end, says in users' words what was wrong (``BadMediaError``), or nothing for a good file.

Measured on generated files (``tests/broken_media.py``): a good file of any of our formats ends
within 0.05 s of the duration its container declares (codec delay and padding); a cut or
corrupted one 1.4 s or more early, or with packets FFmpeg could not decode or marked corrupt. A
truncated Ogg file declares the duration of what is left (FFmpeg reads the last page), so for a
local Ogg file the last page must carry the end-of-stream flag.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from musicbot.dsp.frame import FRAME_SAMPLES, FRAME_SECONDS, SAMPLE_RATE_HZ
from musicbot.i18n import lazy, lazy_plural
from musicbot.sources.errors import BadMediaError, clock

# An end this much before the declared duration means the file stops early (not codec padding).
EARLY_END_S = 0.5
EARLY_END_FRACTION = 0.02
OGG_TAIL_BYTES = 65_536  # an Ogg page is at most 65,307 bytes
OGG_END_OF_STREAM = 0x04


@dataclass
class DamageCheck:
    """Signs of damage in one decoding pass, from ``start_s`` (a seek) on."""

    declared_s: float | None
    start_s: float = 0.0
    bad_packets: int = 0  # packets FFmpeg could not decode, or marked corrupt
    samples: int = 0  # 48 kHz samples that came out

    last_packet_bad: bool = False

    def packet(self, *, bad: bool) -> None:
        """One more packet demuxed; ``bad``: FFmpeg could not decode it or marked it corrupt."""
        self.bad_packets += bad
        self.last_packet_bad = bad

    @property
    def reached_s(self) -> float:
        return self.start_s + self.samples / SAMPLE_RATE_HZ

    def verdict(self, *, ogg_complete: bool | None = None) -> BadMediaError | None:
        """What was wrong with the file, once it has been decoded to its end; None if nothing."""
        reached, declared = self.reached_s, self.declared_s
        if declared is not None and reached + max(EARLY_END_S, EARLY_END_FRACTION * declared) < declared:
            return BadMediaError(lazy(
                "The file ends early: only {reached} of its {declared} could be played (it is cut short or damaged).",
                reached=clock(reached), declared=clock(declared)))
        if ogg_complete is False or (self.bad_packets == 1 and self.last_packet_bad):
            # A last packet cut in two (a WAV whose header promises more than it holds does this).
            return BadMediaError(lazy("The file is cut short: it stops after {reached}.", reached=clock(reached)))
        if self.bad_packets:
            return BadMediaError(lazy_plural("Parts of the file are damaged: a short stretch could not be played.",
                                             "Parts of the file are damaged: {n} short stretches could not be played.",
                                             self.bad_packets, n=self.bad_packets))
        if self.start_s == 0.0 and self.samples == 0:
            return BadMediaError(lazy("The file holds no audio."))
        # From the start, or declared so (a reopen after the first 20 ms starts past the end).
        tiny = declared is not None and declared < FRAME_SECONDS
        if tiny or (self.start_s == 0.0 and self.samples < FRAME_SAMPLES):
            return BadMediaError(lazy("The file holds almost no audio (less than 20 ms)."))
        return None


def ogg_complete(path: str) -> bool | None:
    """Whether a local Ogg file ends with a whole page flagged end-of-stream (RFC 3533 §6);
    None when it cannot be told (not a readable file)."""
    try:
        with open(path, "rb") as file:
            size = file.seek(0, os.SEEK_END)
            file.seek(max(0, size - OGG_TAIL_BYTES))
            tail = file.read()
    except OSError:
        return None
    at = tail.rfind(b"OggS")
    if at < 0 or at + 27 > len(tail):
        return False
    segments = tail[at + 26]
    table = tail[at + 27: at + 27 + segments]
    whole = at + 27 + segments + sum(table) <= len(tail) and len(table) == segments
    return whole and bool(tail[at + 5] & OGG_END_OF_STREAM)
