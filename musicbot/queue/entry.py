"""Values the queue is made of: entries, loop modes, per-guild limits and the result of a bulk add."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from musicbot.i18n import N_, ngettext, tr
from musicbot.queue.errors import DuplicateTrackError, QueueError, QueueFullError, TrackTooLongError
from musicbot.track import Track


@dataclass(frozen=True)
class QueueEntry:
    """One track as queued by someone. The same track queued twice gives two entries.

    ``entry_id`` is unique within its queue for the queue's lifetime. ``requester_id`` is the
    Discord user id, or None for tracks the bot chose itself (autoplay) or that someone asked for
    from outside Discord: ``requester_name`` then credits them (``"Ann (Telegram)"``: their own
    text, escaped wherever it is shown). ``added_at`` is in seconds since the epoch, from the
    queue's injected clock.
    """

    entry_id: int
    track: Track
    requester_id: int | None
    added_at: float
    autoplay: bool = False
    requester_name: str | None = None

    @property
    def requester_key(self) -> int | str | None:
        """Who asked, for taking turns (fair mode): the Discord id, else the outside name, else None (autoplay)."""
        return self.requester_id if self.requester_id is not None else self.requester_name


class LoopMode(Enum):
    """What happens when a track ends naturally (see ``MusicQueue.advance``)."""

    OFF = "off"
    TRACK = "track"
    QUEUE = "queue"

    def cycled(self) -> LoopMode:
        """The next mode for the now-playing panel's loop button: off → track → queue → off."""
        order = (LoopMode.OFF, LoopMode.TRACK, LoopMode.QUEUE)
        return order[(order.index(self) + 1) % len(order)]


@dataclass(frozen=True)
class QueueLimits:
    """Guild settings that bound the queue.

    ``max_length`` counts upcoming entries (not the one playing, not history).
    ``max_track_s`` is the longest track accepted, in seconds; None means no limit. Tracks of
    unknown length (live streams) are not refused by it: radio is a feature, and the guild
    can skip a stream like any other track.
    ``history_size`` bounds how far ``previous`` can go back; older entries are forgotten.
    """

    max_length: int = 100
    max_track_s: float | None = None
    dedupe: bool = False
    history_size: int = 100

    def __post_init__(self) -> None:
        if self.max_length < 1:
            raise ValueError(f"max_length must be ≥ 1, got {self.max_length}")
        if self.max_track_s is not None and self.max_track_s <= 0:
            raise ValueError(f"max_track_s must be > 0 or None, got {self.max_track_s}")
        if self.history_size < 0:
            raise ValueError(f"history_size must be ≥ 0, got {self.history_size}")


@dataclass(frozen=True)
class Refusal:
    """A track a bulk add did not queue, and why (``str(error)`` is the user-facing reason)."""

    track: Track
    error: QueueError

    @property
    def reason(self) -> str:
        return str(self.error)


@dataclass(frozen=True)
class AddResult:
    """What ``MusicQueue.add_many`` did: every track is either in ``added`` or in ``refused``."""

    added: tuple[QueueEntry, ...]
    refused: tuple[Refusal, ...]

    @property
    def summary(self) -> str:
        """A short line for the reply (current locale), e.g. ``"Queued 48 tracks; 2 were refused (too long)."``."""
        added = len(self.added)
        if not self.refused:
            return ngettext("Queued {n} track.", "Queued {n} tracks.", added, n=added)
        kinds = ", ".join(sorted({tr(_REFUSAL_KINDS.get(type(r.error), N_("refused"))) for r in self.refused}))
        refused = ngettext("{n} was refused", "{n} were refused", len(self.refused), n=len(self.refused))
        return ngettext("Queued {n} track; {refused} ({kinds}).", "Queued {n} tracks; {refused} ({kinds}).", added,
                        n=added, refused=refused, kinds=kinds)


# Short labels for the kinds of refusal, for the one-line summary of a playlist load.
_REFUSAL_KINDS: dict[type[QueueError], str] = {
    DuplicateTrackError: N_("already queued"),
    QueueFullError: N_("queue full"),
    TrackTooLongError: N_("too long"),
}
