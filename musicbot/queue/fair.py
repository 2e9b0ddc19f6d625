"""Fair mode: the upcoming order interleaves requesters round-robin so nobody can flood the queue."""

from __future__ import annotations

from collections.abc import Sequence

from musicbot.queue.entry import QueueEntry


def fair_order(entries: Sequence[QueueEntry], playing_requester: int | str | None = None) -> list[QueueEntry]:
    """Reorder ``entries`` into rounds: each requester's first entry, then each one's second, ...

    Each requester's own entries keep their relative order. Within a round, requesters come in
    the order they first appear in ``entries``, except that ``playing_requester`` (whoever
    requested the track playing now) goes last in every round: they just had their turn. Autoplay
    entries (requester None) form their own "requester", so they take turns too.

    The result is fair: if two neighbours share a requester, nobody else has anything after
    them. The function is idempotent, so re-applying it to a fair order changes nothing.
    """
    groups: dict[int | str | None, list[QueueEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.requester_key, []).append(entry)
    order = list(groups)
    if playing_requester in groups and len(order) > 1:
        order.remove(playing_requester)
        order.append(playing_requester)
    result: list[QueueEntry] = []
    depth = 0
    while len(result) < len(entries):
        for requester in order:
            own = groups[requester]
            if depth < len(own):
                result.append(own[depth])
        depth += 1
    return result


def is_fair(entries: Sequence[QueueEntry]) -> bool:
    """True when no requester appears twice in a row while someone else has entries behind them."""
    for i in range(len(entries) - 1):
        requester = entries[i].requester_id
        if entries[i + 1].requester_id == requester and any(
            later.requester_id != requester for later in entries[i + 2 :]
        ):
            return False
    return True
