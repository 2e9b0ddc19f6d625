"""``musicbot web``: the dashboard and its API alone, with no gateway connection, for a bot scaled out
over several processes (issue 17). Every question about a guild goes over Redis (``REDIS_URL``) to
the process that runs its shard (``web/cluster_bot.py``), so web processes can be restarted and
scaled apart from the shards. ``/health`` and ``/ready`` answer as for the bot (ready once serving).

Logins are held by the process that made them: behind a load balancer with more than one web
process, route each browser to one of them (sticky sessions), or run one.
"""

from __future__ import annotations

import asyncio
import logging

from musicbot.config import Config
from musicbot.errors import ConfigError

log = logging.getLogger(__name__)


def check_web_config(config: Config) -> None:
    """The settings ``musicbot web`` cannot do without, each named with its fix (``ConfigError``)."""
    if not config.dashboard_on:
        raise ConfigError("musicbot web serves the dashboard: set MUSICBOT_WEB_URL, DISCORD_CLIENT_ID and "
                          "DISCORD_CLIENT_SECRET (see the README's Dashboard section)")
    if not config.redis_url:
        raise ConfigError("musicbot web reaches the bot's processes through Redis: set REDIS_URL to the one "
                          "they use (a single process serves its own dashboard: musicbot run)")
    if not config.http_port:
        raise ConfigError("musicbot web serves on MUSICBOT_HTTP_PORT: set it to a port, not 0")


def run_web(config: Config) -> None:
    """Serve until SIGTERM or SIGINT; ``BusUnreachableError`` when Redis cannot be reached at start."""
    asyncio.run(_main(config))


async def _main(config: Config) -> None:
    from musicbot.bot.lifecycle import SHUTDOWN_SIGNALS, stop_on_signals
    from musicbot.cluster import NodeInfo
    from musicbot.web.cluster_bot import serve_dashboard
    from musicbot.web.dashboard import Dashboard, settings_of
    from musicbot.web.dashboard_ops import bus_for
    from musicbot.web.server import OpsServer, Readiness

    stop = stop_on_signals()
    bus = bus_for(config.redis_url, config.redis_prefix)
    stopping = False
    try:
        await bus.start(NodeInfo.new("web", config.shard_count or 1, http=f"{config.http_host}:{config.http_port}"))
        dashboard = Dashboard(settings_of(config))
        await serve_dashboard(dashboard, bus)
        ops = OpsServer(port=config.http_port, host=config.http_host, dashboard=dashboard,
                        readiness=lambda: Readiness(discord_ready=True, database=None, web_only=True,
                                                    stopping=stopping))
        await ops.start()
        log.info("dashboard for the bot's processes on %s", config.web_url)
        await stop.wait()
        stopping = True
        await ops.stop()
    finally:
        await bus.stop()
        loop = asyncio.get_running_loop()
        for signum in SHUTDOWN_SIGNALS:
            loop.remove_signal_handler(signum)
