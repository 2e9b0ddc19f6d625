"""Per-user and per-(user, command) rate limits.

The token buckets are discord.py's own ``app_commands.Cooldown``; what discord.py lacks is a limit
across *all* commands of a user, checked before any command runs, so this module keeps one bucket
per key in a cachetools ``TTLCache`` (idle users are forgotten, memory stays bounded).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass

from cachetools import TTLCache
from discord import app_commands

MAX_TRACKED_KEYS = 50_000


@dataclass(frozen=True)
class Rate:
    """``count`` uses per ``per_s`` seconds."""

    count: int
    per_s: float


# Any user: 8 commands (and clicks) per 10 s. Heavier commands have tighter limits of their own;
# a key names a command by its full name (``playlist save``) or a whole group (``settings``: every
# subcommand shares one bucket).
USER_RATE = Rate(8, 10.0)
COMMAND_RATES: Mapping[str, Rate] = {
    "play": Rate(5, 15.0),
    "search": Rate(3, 15.0),
    "playlist save": Rate(3, 30.0),
    "playlist load": Rate(3, 30.0),
    "playlist import": Rate(3, 60.0),  # a download or a playlist read from Spotify or YouTube, and a big write
    "playlist export": Rate(3, 30.0),
    "shuffle": Rate(3, 10.0),
    "settings": Rate(5, 30.0),
}


class RateLimiter:
    """``retry_after(user_id, command)``: 0.0 when allowed (and counted), else seconds to wait."""

    def __init__(self, user_rate: Rate = USER_RATE, command_rates: Mapping[str, Rate] = COMMAND_RATES) -> None:
        self.user_rate = user_rate
        self.command_rates = dict(command_rates)
        longest = max([user_rate.per_s, *(r.per_s for r in self.command_rates.values())])
        self._buckets: TTLCache[Hashable, app_commands.Cooldown] = TTLCache(MAX_TRACKED_KEYS, ttl=longest)

    def retry_after(self, user_id: int, command: str | None = None) -> float:
        """Checks the user's overall bucket, then the command's; counts only when both allow."""
        keys: list[tuple[Hashable, Rate]] = [((user_id,), self.user_rate)]
        keys += [((user_id, name), self.command_rates[name]) for name in _names_of(command)
                 if name in self.command_rates]
        buckets = [self._bucket(key, rate) for key, rate in keys]
        waits = [bucket.get_retry_after() for bucket in buckets]
        if any(waits):
            return max(waits)
        for bucket in buckets:
            bucket.update_rate_limit()
        return 0.0

    def _bucket(self, key: Hashable, rate: Rate) -> app_commands.Cooldown:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = app_commands.Cooldown(rate.count, rate.per_s)
        return bucket


def _names_of(command: str | None) -> list[str]:
    """``"playlist save"`` → ``["playlist", "playlist save"]``: the groups it belongs to, then itself."""
    if command is None:
        return []
    words = command.split()
    return [" ".join(words[: i + 1]) for i in range(len(words))]
