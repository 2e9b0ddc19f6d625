"""The bot's operations endpoints (``web/server.py``): what ``/ready`` and the state gauges of
``/metrics`` read from a ``MusicBotClient``. Everything here runs on the event loop, at a request.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from musicbot.metrics import BotCollector, BotSnapshot
from musicbot.web.dashboard import Dashboard, settings_of
from musicbot.web.server import OpsServer, Readiness, ShardStatus

if TYPE_CHECKING:
    from musicbot.bot.client import MusicBotClient
    from musicbot.session import GuildSession


def ops_server(bot: MusicBotClient) -> OpsServer:
    """The server on ``MUSICBOT_HTTP_HOST:MUSICBOT_HTTP_PORT``, reading ``bot`` at each request."""
    server = OpsServer(port=bot.config.http_port, host=bot.config.http_host,
                       dashboard=Dashboard(settings_of(bot.config)))
    attach(server, bot)
    return server


def attach(server: OpsServer, bot: MusicBotClient) -> None:
    """Make ``server`` (perhaps started before ``bot`` existed) report on ``bot``. Its dashboard is
    served through the cluster bus once the bot opens it (``MusicBotClient.open_storage``)."""
    server.attach(lambda: readiness(bot), [BotCollector(lambda: snapshot(bot))])


def readiness(bot: MusicBotClient) -> Readiness:
    shards = {
        shard_id: ShardStatus(connected=not info.is_closed(), latency_s=_finite(info.latency))
        for shard_id, info in bot.shards.items()
    }
    return Readiness(
        discord_ready=bot.is_ready() and not bot.is_closed(),
        database=None if bot.database is None else bot.database.health(),
        shards=shards,
        stopping=bot.closing,
        telegram=None if bot.telegram_bridge is None else bot.telegram_bridge.readiness(),
    )


def snapshot(bot: MusicBotClient) -> BotSnapshot:
    sessions = bot.sessions.all()
    count = bot.shard_count
    run_here = bot.shard_ids if bot.shard_ids is not None else range(count or 0)
    shard_guilds = dict.fromkeys(run_here, 0)
    shard_players = dict.fromkeys(run_here, 0)
    for guild in bot.guilds:
        shard_guilds[guild.shard_id] = shard_guilds.get(guild.shard_id, 0) + 1
    for session in sessions:
        if _player_active(session):
            shard = session.guild.shard_id
            shard_players[shard] = shard_players.get(shard, 0) + 1
    return BotSnapshot(
        guilds=len(bot.guilds),
        players_active=sum(shard_players.values()),
        queue_tracks=sum(len(session.queue) for session in sessions),
        ready=readiness(bot).ready,
        shard_latency_s={shard: seconds for shard, latency in bot.latencies
                         if (seconds := _finite(latency)) is not None},
        shard_guilds=shard_guilds,
        shard_players=shard_players,
        shard_count=count,
    )


def _player_active(session: GuildSession) -> bool:
    """In voice with a track playing or paused (what ``/stats`` counts as playing)."""
    voice = session.voice
    return voice is not None and voice.is_connected() and session.queue.current is not None


def _finite(seconds: float) -> float | None:
    """discord.py reports ``inf``/``nan`` before the first heartbeat is answered."""
    return seconds if math.isfinite(seconds) else None
