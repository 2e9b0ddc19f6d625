"""The outbox's batching: runs of one statement become one executemany, order kept."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from musicbot.storage.outbox import StatementOp, WriteOp, _runs

A = sa.text("A")
B = sa.text("B")


async def _other(session: AsyncSession) -> None:
    return None


def test_runs_group_consecutive_ops_of_one_statement_only() -> None:
    a1, a2, a3 = StatementOp(A, {"n": 1}), StatementOp(A, {"n": 2}), StatementOp(A, {"n": 3})
    b1 = StatementOp(B, {"n": 1})
    ops: list[WriteOp] = [a1, a2, b1, a3, _other, a1, a2, a3]
    assert _runs(ops) == [[a1, a2], b1, a3, _other, [a1, a2, a3]]
    assert _runs([]) == []
    assert _runs([a1]) == [a1]
