"""One-time link codes: ``/telegram link chat_id`` in Discord makes one (shown only to the server
manager who asked), and an admin of that chat sends it back with ``/confirm CODE`` within
``CODE_TTL_S``. Knowing a chat's id is not enough to link it: the code proves that someone who
manages the Discord server also administers the chat.

A code is 8 characters of an alphabet without look-alikes (32⁸ ≈ 10¹²: not guessed in 10 minutes at
Telegram's pace), good once, for its chat only; a guild has one pending code at a time (a new
``/telegram link`` replaces it). Held in the bridge's memory: a restart forgets them, and the
manager asks again. Event loop only.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

CODE_TTL_S = 600.0
CODE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


@dataclass(frozen=True)
class PendingLink:
    code: str
    guild_id: int
    guild_name: str
    chat_id: int
    chat_title: str
    user_id: int  # the Discord user who asked
    expires_at: float  # on the injected clock


class PendingLinks:
    def __init__(self, clock: Callable[[], float] = time.monotonic, ttl_s: float = CODE_TTL_S) -> None:
        self._clock = clock
        self.ttl_s = ttl_s
        self._by_code: dict[str, PendingLink] = {}

    def new(self, guild_id: int, guild_name: str, chat_id: int, chat_title: str, user_id: int) -> PendingLink:
        self._forget_expired()
        for code in [c for c, p in self._by_code.items() if p.guild_id == guild_id]:
            del self._by_code[code]  # one pending link per guild: the newest request wins
        code = "".join(secrets.choice(CODE_CHARS) for _ in range(CODE_LENGTH))
        pending = PendingLink(code, guild_id, guild_name, chat_id, chat_title, user_id, self._clock() + self.ttl_s)
        self._by_code[code] = pending
        return pending

    def peek(self, chat_id: int, code: str) -> PendingLink | None:
        """The pending link ``code`` names for ``chat_id``, unexpired; None otherwise (a wrong code, an
        expired one, or one made for another chat all read the same to whoever typed it)."""
        self._forget_expired()
        pending = self._by_code.get(code)
        return pending if pending is not None and pending.chat_id == chat_id else None

    def take(self, pending: PendingLink) -> None:
        """The code was used: it is good once."""
        self._by_code.pop(pending.code, None)

    def _forget_expired(self) -> None:
        now = self._clock()
        for code in [c for c, p in self._by_code.items() if p.expires_at <= now]:
            del self._by_code[code]
