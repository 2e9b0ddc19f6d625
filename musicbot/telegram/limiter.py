"""When the bridge may send the next message to a chat, within Telegram's limits.

Telegram's rules for bots (core.telegram.org/bots/faq, "My bot is hitting limits"): no more than one
message a second in a chat, no more than 20 messages a minute in a group, about 30 a second overall.
Edits are limited too, undocumented; one message edited at most every few seconds is what stays clear
of "Too Many Requests" in practice. Over a limit, Telegram answers 429 with ``retry_after`` and may
hold the bot back for much longer than it would have waited: staying under is cheaper than reacting.

So, per chat: every send (a message or an edit) at least ``message_gap_s`` after the last one; in a
group (negative chat id) at most ``group_per_minute`` sends in any 60 s, edits counted as well; the
same message edited at most every ``edit_gap_s``; across chats at most ``global_per_second``.
Pure bookkeeping on an injected clock (``outbox.py`` waits; tests drive the clock).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_S = 60.0
EDITS_REMEMBERED = 1000  # messages whose last edit is remembered (older ones are long past their gap)


@dataclass(frozen=True)
class TelegramLimits:
    message_gap_s: float = 1.0
    group_per_minute: int = 20
    edit_gap_s: float = 3.0
    global_per_second: int = 25  # Telegram's ~30, with a margin for what the bot sends outside the outboxes


class SendLimiter:
    """Event loop. ``delay_s`` says how long to wait before a send; ``sent`` records one that went."""

    def __init__(self, limits: TelegramLimits | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits or TelegramLimits()
        self._clock = clock
        self._last: dict[int, float] = {}  # chat → its last send
        self._window: dict[int, deque[float]] = {}  # group chat → its sends of the last minute
        self._edits: OrderedDict[tuple[int, int], float] = OrderedDict()  # (chat, message) → its last edit
        self._everywhere: deque[float] = deque()  # every send of the last second

    def delay_s(self, chat_id: int, *, edit_of: int | None = None) -> float:
        """Seconds until a send to ``chat_id`` (an edit of message ``edit_of``) is within the limits; 0: now."""
        now = self._clock()
        limits = self.limits
        waits = [0.0]
        last = self._last.get(chat_id)
        if last is not None:
            waits.append(last + limits.message_gap_s - now)
        window = self._trimmed(self._window.get(chat_id), now - WINDOW_S)
        if _is_group(chat_id) and window is not None and len(window) >= limits.group_per_minute:
            waits.append(window[len(window) - limits.group_per_minute] + WINDOW_S - now)
        if edit_of is not None:
            edited = self._edits.get((chat_id, edit_of))
            if edited is not None:
                waits.append(edited + limits.edit_gap_s - now)
        everywhere = self._trimmed(self._everywhere, now - 1.0)
        if everywhere is not None and len(everywhere) >= limits.global_per_second:
            waits.append(everywhere[len(everywhere) - limits.global_per_second] + 1.0 - now)
        return max(waits)

    def sent(self, chat_id: int, *, edit_of: int | None = None) -> None:
        now = self._clock()
        self._last[chat_id] = now
        if _is_group(chat_id):
            self._window.setdefault(chat_id, deque()).append(now)
        if edit_of is not None:
            self._edits[(chat_id, edit_of)] = now
            self._edits.move_to_end((chat_id, edit_of))
            while len(self._edits) > EDITS_REMEMBERED:
                self._edits.popitem(last=False)
        self._everywhere.append(now)

    @staticmethod
    def _trimmed(times: deque[float] | None, since: float) -> deque[float] | None:
        while times and times[0] <= since:
            times.popleft()
        return times


def _is_group(chat_id: int) -> bool:
    """Groups, supergroups and channels have negative ids; a private chat's is the user's (positive)."""
    return chat_id < 0
