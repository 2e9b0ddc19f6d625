"""``/stats`` (SPEC §1 info group): uptime, servers, players, and what the audio engine costs.

The engine cost comes from each player's ``EngineStats``: the time spent in the filter chain, the
output stage (normalizer, volume, limiter) and the Opus encoder per frame that went through them.
Passthrough frames cost next to nothing, so they are counted apart.
The numbers cover the sessions that exist now (a session keeps its engine across tracks).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import discord
from discord import app_commands

from musicbot.bot.cogs.base import Interaction, MusicCog
from musicbot.bot.format import format_duration
from musicbot.bot.replies import OK_COLOUR, reply
from musicbot.i18n import N_, ngettext, number, percent, tr
from musicbot.session import GuildSession
from musicbot.storage import HealthState

FRAME_BUDGET_US = 20_000.0  # one frame is 20 ms of audio


@dataclass(frozen=True)
class EngineTotals:
    dsp_frames: int
    passthrough_frames: int
    underruns: int
    dsp_seconds: float

    @property
    def us_per_dsp_frame(self) -> float | None:
        return self.dsp_seconds / self.dsp_frames * 1e6 if self.dsp_frames else None


def engine_totals(sessions: list[GuildSession]) -> EngineTotals:
    stats = [s.player.engine.stats for s in sessions]
    return EngineTotals(
        dsp_frames=sum(s.dsp_frames for s in stats),
        passthrough_frames=sum(s.passthrough_frames for s in stats),
        underruns=sum(s.underruns for s in stats),
        dsp_seconds=sum(s.dsp_seconds for s in stats),
    )


def is_playing(session: GuildSession) -> bool:
    voice = session.voice
    return voice is not None and voice.is_connected() and session.queue.current is not None


HEALTH_WORDS = {HealthState.OK: N_("ok"), HealthState.DEGRADED: N_("degraded"), HealthState.DOWN: N_("down")}


def engine_text(totals: EngineTotals) -> str:
    per_frame = totals.us_per_dsp_frame
    if per_frame is None:
        cost = tr("no filtered frames yet")
    else:
        cost = tr("{us} µs per frame ({share} of the 20 ms budget)", us=number(per_frame),
                  share=percent(per_frame / FRAME_BUDGET_US, 1))
    frames = totals.dsp_frames + totals.passthrough_frames
    passthrough = percent(totals.passthrough_frames / frames) if frames else "—"
    return cost + "\n" + tr("passthrough: {share} of {frames} frames · underruns: {underruns}", share=passthrough,
                            frames=frames, underruns=totals.underruns)


class InfoCog(MusicCog):
    @app_commands.command(name="stats", description="Uptime, servers, players and audio engine cost")
    async def stats(self, interaction: Interaction) -> None:
        sessions = self.bot.sessions.all()
        connected = [s for s in sessions if s.voice is not None and s.voice.is_connected()]
        playing = [s for s in connected if is_playing(s)]
        embed = discord.Embed(title="📊 " + tr("Stats"), colour=OK_COLOUR)
        embed.add_field(name=tr("Uptime"), value=format_duration(max(0.0, time.time() - self.bot.started_at)))
        shards = self.bot.shard_count or 1
        embed.add_field(name=tr("Servers"), value=ngettext("{guilds} ({n} shard)", "{guilds} ({n} shards)", shards,
                                                           guilds=len(self.bot.guilds), n=shards))
        embed.add_field(name=tr("Players"), value=tr("{playing} playing · {connected} in voice", playing=len(playing),
                                                     connected=len(connected)))
        embed.add_field(name=tr("Audio engine (filters, output stage, Opus encoding)"),
                        value=engine_text(engine_totals(sessions)), inline=False)
        latency = self.bot.latency
        if math.isfinite(latency):
            embed.add_field(name=tr("Gateway latency"), value=tr("{ms} ms", ms=number(latency * 1000)))
        if self.bot.database is not None:
            health = self.bot.database.health()
            state = tr(HEALTH_WORDS[health.state]) if health.state in HEALTH_WORDS else health.state.value
            embed.add_field(name=tr("Database"), value=ngettext("{state} · {n} write pending",
                                                                "{state} · {n} writes pending", health.pending_writes,
                                                                state=state, n=health.pending_writes))
        await reply(interaction, embed=embed)
