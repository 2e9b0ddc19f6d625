"""A ``ShardRange`` as SQL: the rows of the guilds a process owns (``musicbot/shards.py``'s formula, in the
database, so a process reads and deletes only its own shards' rows; ``tests/storage/test_sharding.py``
checks that both backends agree with ``ShardRange.owns``)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from musicbot.shards import SHARD_SHIFT, ShardRange

EVERY_GUILD = ShardRange()


def owned(guild_id: InstrumentedAttribute[int], shards: ShardRange) -> ColumnElement[bool]:
    """``(guild_id >> 22) % count IN (ids)``; always true for a range that owns every guild.

    Both SQLite and Postgres shift and take the remainder of 64-bit integers exactly (guild ids
    are below 2^63)."""
    if shards.ids is None or shards.count is None:
        return sa.true()
    # Written out, not bound: Postgres has ``bigint >> integer`` only, and a bound 22 arrives as a bigint.
    shifted = guild_id.op(">>", return_type=sa.BigInteger)(sa.literal_column(str(SHARD_SHIFT), sa.Integer))
    return (shifted % shards.count).in_(shards.ids)
