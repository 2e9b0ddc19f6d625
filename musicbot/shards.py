"""Which guilds a process owns: Discord's shard formula and the range of shards one process runs.

A bot with ``SHARD_COUNT`` set may be split over several processes (``SHARD_IDS``), all on one
database. Everything a process reads of "every guild" from storage (snapshots to resume or drop,
history to expire) must then be limited to the guilds of its own shards; this module is the one
place that says which those are. Pure: no discord.py, no SQLAlchemy (``storage/sharding.py``
turns a range into SQL).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd

SHARD_SHIFT = 22
"""A guild's shard is ``(guild_id >> 22) % shard_count`` (Discord's formula: the id's timestamp bits)."""


def shard_of(guild_id: int, count: int) -> int:
    """The shard (0 … ``count`` − 1) whose gateway session carries ``guild_id``."""
    if count < 1:
        raise ValueError(f"shard count must be at least 1, got {count}")
    return (guild_id >> SHARD_SHIFT) % count


@dataclass(frozen=True)
class ShardRange:
    """The shards one process runs.

    ``count`` None: discord.py picks the count at login (``GET /gateway/bot``) and this process
    runs every shard, so it owns every guild. ``ids`` None: every shard of ``count`` is here.
    Built from the settings (``config.py`` validated them) with ``from_settings``.
    """

    count: int | None = None
    ids: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.count is not None and self.count < 1:
            raise ValueError(f"shard count must be at least 1, got {self.count}")
        if self.ids is not None:
            if self.count is None:
                raise ValueError("shard ids need a shard count")
            if not self.ids or any(not 0 <= i < self.count for i in self.ids):
                raise ValueError(f"shard ids must be within 0..{self.count - 1}, got {self.ids}")
            object.__setattr__(self, "ids", tuple(sorted(set(self.ids))))

    @classmethod
    def from_settings(cls, count: int | None, ids: tuple[int, ...] | None) -> ShardRange:
        """``SHARD_COUNT`` and ``SHARD_IDS``; an empty or complete id list means every shard."""
        if count is None or not ids or set(ids) == set(range(count)):
            return cls(count, None)
        return cls(count, tuple(ids))

    @property
    def owns_every_guild(self) -> bool:
        return self.ids is None

    @property
    def shard_ids(self) -> tuple[int, ...] | None:
        """The shards run here; None when ``count`` is left to discord.py (all of them, however many)."""
        if self.count is None:
            return None
        return self.ids if self.ids is not None else tuple(range(self.count))

    @property
    def runs_shard_zero(self) -> bool:
        """Shard 0's process does what must happen once per bot (registering the slash commands)."""
        return self.ids is None or 0 in self.ids

    def owns(self, guild_id: int) -> bool:
        """Whether ``guild_id``'s shard runs in this process."""
        if self.ids is None or self.count is None:
            return True
        return shard_of(guild_id, self.count) in self.ids

    def lease_keys(self) -> tuple[tuple[int, int], ...]:
        """``(shard_count, shard_id)`` of each lease this process holds (``storage/leases.py``).

        Without ``SHARD_COUNT`` the count is known only after the login, the moment the lease
        must already be held, and the process runs every shard whatever the count: one lease
        ``(1, 0)``, "every guild", which overlaps every other lease, so two such processes on
        one database (or one beside a sharded process) refuse to run rather than both resuming
        and playing the same guilds.
        """
        if self.count is None:
            return ((1, 0),)
        shard_ids = self.shard_ids
        assert shard_ids is not None
        return tuple((self.count, shard) for shard in shard_ids)

    def __str__(self) -> str:
        if self.count is None:
            return "every shard (SHARD_COUNT unset: discord.py's count)"
        if self.ids is None:
            return f"all {self.count} shards" if self.count > 1 else "the only shard"
        return f"shard{'s' if len(self.ids) > 1 else ''} {','.join(map(str, self.ids))} of {self.count}"


def overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Whether two shards ``(count, id)`` share guilds: with counts ``m`` and ``n``, some guild id is in
    both exactly when ``id_a ≡ id_b (mod gcd(m, n))`` (the Chinese remainder theorem on ``id >> 22``).
    Same count: the same shard. ``(1, 0)`` overlaps everything."""
    (count_a, id_a), (count_b, id_b) = a, b
    return (id_a - id_b) % gcd(count_a, count_b) == 0


def describe(key: tuple[int, int]) -> str:
    """A lease key in words: ``shard 1 of 2``, or ``every shard`` for a process without ``SHARD_COUNT``."""
    count, shard = key
    return "every shard (SHARD_COUNT unset or 1)" if count == 1 else f"shard {shard} of {count}"
