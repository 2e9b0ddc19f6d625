"""/stats through the real command tree: uptime, servers, players and the engine's cost per frame."""

from __future__ import annotations

import asyncio
import re

from tests.bot.answers import command, playing
from tests.bot.world import BOB, World, wait_for


def shown(answer_embeds: list[dict[str, object]]) -> dict[str, str]:
    [embed] = answer_embeds
    fields = embed["fields"]
    assert isinstance(fields, list)
    return {f["name"]: f["value"] for f in fields}


async def test_stats_when_idle(world: World) -> None:
    answer = await command(world, "stats", user=BOB)  # anyone may ask, from anywhere in the server
    assert answer.type == 4 and not answer.ephemeral and answer.error is None
    fields = shown(answer.embeds)
    assert re.fullmatch(r"\d+:\d\d", fields["Uptime"])
    assert fields["Servers"] == "1 (1 shard)"
    assert fields["Players"] == "0 playing · 0 in voice"
    assert fields["Audio engine (filters, output stage, Opus encoding)"].startswith("no filtered frames yet")
    assert fields["Database"] == "ok · 0 writes pending"


async def test_stats_while_playing_reports_the_engine_cost(world: World) -> None:
    session = await playing(world, "long440")
    await wait_for(lambda: session.player.engine.stats.dsp_frames >= 25)
    session.pause()  # discord.py stops reading: the engine's totals hold still while we compare
    await asyncio.sleep(0.2)
    stats = session.player.engine.stats
    frames, seconds = stats.dsp_frames, stats.dsp_seconds
    answer = await command(world, "stats")
    fields = shown(answer.embeds)
    assert fields["Players"] == "1 playing · 1 in voice"
    engine = fields["Audio engine (filters, output stage, Opus encoding)"]
    match = re.match(r"(\d+) µs per frame \((\d+\.\d)% of the 20 ms budget\)\npassthrough: 0% of (\d+) frames", engine)
    assert match, engine
    stats = session.player.engine.stats
    assert (stats.dsp_frames, stats.dsp_seconds) == (frames, seconds)
    assert abs(int(match[1]) - seconds / frames * 1e6) <= 0.51 and int(match[3]) == frames
    assert abs(float(match[2]) - seconds / frames / 0.020 * 100) <= 0.051  # printed with one decimal
