"""``musicbot/shards.py``: Discord's shard formula, what a process owns, and which leases overlap."""

from __future__ import annotations

import random

import pytest

from musicbot.shards import ShardRange, describe, overlap, shard_of


def guild_on(shard: int, count: int, n: int = 0) -> int:
    """A guild id (a snowflake of some moment) whose shard of ``count`` is ``shard``."""
    return ((1_000_000 + n * count + shard) << 22) | 12345


def test_shard_of_is_discords_formula() -> None:
    assert shard_of(0, 1) == 0
    assert shard_of(guild_on(3, 4), 4) == 3
    # Discord's documentation example: (guild_id >> 22) % num_shards.
    assert shard_of(81384788765712384, 2) == (81384788765712384 >> 22) % 2
    with pytest.raises(ValueError, match="at least 1"):
        shard_of(1, 0)


def test_a_range_owns_the_guilds_of_its_shards() -> None:
    two_of_four = ShardRange(4, (2, 0))
    assert two_of_four.ids == (0, 2) and two_of_four.shard_ids == (0, 2)
    assert [two_of_four.owns(guild_on(s, 4)) for s in range(4)] == [True, False, True, False]
    assert two_of_four.runs_shard_zero and not ShardRange(4, (1, 3)).runs_shard_zero
    assert str(two_of_four) == "shards 0,2 of 4" and str(ShardRange(2, (1,))) == "shard 1 of 2"


@pytest.mark.parametrize(("count", "ids"), [(None, None), (4, None), (4, (0, 1, 2, 3)), (4, ())])
def test_a_range_without_ids_or_with_all_of_them_owns_every_guild(count: int | None,
                                                                  ids: tuple[int, ...] | None) -> None:
    shards = ShardRange.from_settings(count, ids)
    assert shards.owns_every_guild and shards.runs_shard_zero
    assert all(shards.owns(random.getrandbits(63)) for _ in range(100))


def test_lease_keys() -> None:
    assert ShardRange().lease_keys() == ((1, 0),)  # SHARD_COUNT unset: one lease for every shard
    assert ShardRange(3).lease_keys() == ((3, 0), (3, 1), (3, 2))
    assert ShardRange(4, (1, 3)).lease_keys() == ((4, 1), (4, 3))


def test_bad_ranges_are_refused() -> None:
    for count, ids in ((0, None), (None, (0,)), (2, (2,)), (2, (-1,))):
        with pytest.raises(ValueError):
            ShardRange(count, ids)


def test_overlap_is_whether_some_guild_is_on_both_shards() -> None:
    """Checked against the guilds themselves: a guild of every residue of lcm(counts)."""
    for count_a in range(1, 7):
        for count_b in range(1, 7):
            for a in range(count_a):
                for b in range(count_b):
                    shared = any(shard_of(guild_on(r, 60), count_a) == a and shard_of(guild_on(r, 60), count_b) == b
                                 for r in range(60))
                    assert overlap((count_a, a), (count_b, b)) == shared, (count_a, a, count_b, b)


def test_describe() -> None:
    assert describe((2, 1)) == "shard 1 of 2"
    assert describe((1, 0)) == "every shard (SHARD_COUNT unset or 1)"
