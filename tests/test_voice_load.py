"""benchmarks/voice_load.py still measures what it claims: every guild's packets, through the real voice stack.

Timing is the benchmark's business (run it on a quiet machine); this only checks the tool works end to end."""

from __future__ import annotations

import asyncio

from benchmarks.voice_load import GuildResult, late_bursts, run_load


def test_the_load_tool_counts_every_guilds_packets() -> None:
    # render="thread": worker processes started here would serve every later test's players.
    results, usage = asyncio.run(run_load(2, 2.0, "full", "thread"))
    assert [r.expected for r in results] == [100, 100]
    assert all(r.packets >= r.expected - 1 for r in results), results
    assert len({r.guild_id for r in results}) == 2
    assert usage["cpu_s"] > 0 and usage["rss_mb"] > 50
    # The steady figure leaves the start-up out: a part of the whole run's CPU, streams per core from it.
    assert usage["steady_cores"] > 0 and usage["streams_per_core"] == 2 / usage["steady_cores"]
    assert all(r.first_at > 0 for r in results)  # where late packets are placed in time from


def _result(guild_id: int, first_at: float, late_at: tuple[float, ...]) -> GuildResult:
    return GuildResult(guild_id, 1500, 1500, 0.0, 0.0, 0.0, len(late_at), 0, first_at=first_at, late_at=late_at)


def test_late_packets_are_told_apart_by_when_they_came() -> None:
    # Three guilds late at once 5 s in (the whole machine stalled), one guild alone 12 s in.
    results = [
        _result(1, 100.0, (105.00, 105.02)),
        _result(2, 100.5, (105.01,)),
        _result(3, 101.0, (105.04, 112.0)),
    ]
    assert late_bursts(results) == [(5.0, 4, 3), (12.0, 1, 1)]
    assert late_bursts([_result(1, 100.0, ())]) == []
