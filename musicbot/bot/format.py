"""How things read in Discord: durations, progress bars, safe titles, short track lines (their words in
the current locale, ``musicbot.i18n``).

Titles come from the internet; ``safe`` escapes Discord markdown and neutralizes mentions, so a
track called ``@everyone`` or ``**bold**`` reads literally and can never ping anyone. (Replies also
send ``allowed_mentions=none`` as a second guard, see ``replies.py``.)
"""

from __future__ import annotations

import discord

from musicbot.i18n import tr
from musicbot.queue import QueueEntry
from musicbot.track import Track, format_duration

__all__ = ["clock", "format_duration", "progress_bar", "requester_text", "safe", "track_line", "truncate"]

BAR_CELLS = 14


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def safe(text: str, limit: int = 100) -> str:
    """``text`` shown literally in Discord: markdown escaped, mentions broken, length bounded."""
    cut = truncate(" ".join(text.split()), limit)
    escaped = discord.utils.escape_markdown(cut)
    return discord.utils.escape_mentions(escaped)


def clock(position_s: float, duration_s: float | None) -> str:
    """``1:23 / 3:45``, or ``1:23 / live`` for streams of unknown length (current locale)."""
    total = tr("live") if duration_s is None else format_duration(duration_s)
    return f"{format_duration(position_s)} / {total}"


def progress_bar(position_s: float, duration_s: float | None, cells: int = BAR_CELLS) -> str:
    """A text bar readable on phones and desktops alike: ``▬▬▬🔘▬▬▬▬``."""
    if not duration_s:
        return "🔴 " + tr("LIVE") if duration_s is None else "▬" * cells
    filled = min(cells - 1, max(0, int(position_s / duration_s * cells)))
    return "▬" * filled + "🔘" + "▬" * (cells - 1 - filled)


def track_title(track: Track, limit: int = 80) -> str:
    """The escaped display name, a markdown link when the track has a web page."""
    name = safe(track.display_name, limit)
    if track.url.startswith(("https://", "http://")):
        return f"[{name}]({track.url})"
    return name


def track_line(entry: QueueEntry, limit: int = 70) -> str:
    """``Title (3:45) — <@requester>`` for queue listings."""
    length = tr("live") if entry.track.duration_s is None else format_duration(entry.track.duration_s)
    return f"{safe(entry.track.display_name, limit)} ({length}) — {requester_text(entry)}"


def requester_text(entry: QueueEntry) -> str:
    """Who asked for ``entry``: a mention (never a ping: replies allow none), a name from outside Discord
    (a Telegram user's, escaped: it is theirs to choose), or autoplay."""
    if entry.autoplay:
        return tr("autoplay")
    if entry.requester_id is not None:
        return f"<@{entry.requester_id}>"
    return safe(entry.requester_name, 60) if entry.requester_name else tr("autoplay")
