"""benchmarks/voice_load.py still measures what it claims: every guild's packets, through the real voice stack.

Timing is the benchmark's business (run it on a quiet machine); this only checks the tool works end to end."""

from __future__ import annotations

import asyncio

from benchmarks.voice_load import run_load


def test_the_load_tool_counts_every_guilds_packets() -> None:
    # render="thread": worker processes started here would serve every later test's players.
    results, usage = asyncio.run(run_load(2, 2.0, "full", "thread"))
    assert [r.expected for r in results] == [100, 100]
    assert all(r.packets >= r.expected - 1 for r in results), results
    assert len({r.guild_id for r in results}) == 2
    assert usage["cpu_s"] > 0 and usage["rss_mb"] > 50
