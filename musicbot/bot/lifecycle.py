"""The process's life under ``musicbot run``: start-up in an order that keeps ``/health`` answering,
then the client until SIGTERM or SIGINT, then a graceful, bounded shutdown.

Start-up: the ops server (``/health``, ``/ready``) comes first, within a fraction of a second of
the process starting; the bot's imports (discord.py, numpy, PyAV: seconds) and the render workers'
start run in worker threads meanwhile, so the event loop answers probes the whole time and
``/ready`` says it waits for the start-up. Then the database and the leases of this process's shards
(``storage/leases.py``): shards another running process holds end the start there, with exit code 1 and
a message naming that process, before anything is sent to Discord.

Signals: discord.py's ``Client.run`` turns only Ctrl-C (KeyboardInterrupt) into a clean close;
SIGTERM (``systemctl stop``, ``docker stop``, Kubernetes) killed the process mid-song, and as PID 1
in a container an unhandled SIGTERM is ignored until the runtime's SIGKILL. Here both signals
start ``client.close()`` (snapshot, leave voice, flush; see ``MusicBotClient.close``), bounded by
``GRACE_S`` so the process always exits before a supervisor's kill timeout (Docker: 10 s).

This module imports nothing heavy at load time: ``cli.py`` imports it right after the settings
are validated.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
from typing import TYPE_CHECKING

from musicbot.config import Config
from musicbot.errors import DiscordUnreachableError

if TYPE_CHECKING:
    import discord

    from musicbot.voice.processes import RenderProcesses
    from musicbot.web.server import OpsServer

log = logging.getLogger(__name__)

SHUTDOWN_SIGNALS = (signal.SIGTERM, signal.SIGINT)
GRACE_S = 8.0
"""How long shutdown may take before the process gives up on it (below Docker's default 10 s)."""


def run_bot(config: Config, role: str = "all") -> None:
    """``musicbot run``: returns after a graceful shutdown; raises ``DiscordUnreachableError`` when
    Discord rejects the token or cannot be reached. ``role`` "all" serves the dashboard here too;
    "bot" leaves it to ``musicbot web`` processes (scaled out, ``REDIS_URL``)."""
    asyncio.run(_main(config, role))


async def _main(config: Config, role: str = "all") -> None:
    token = config.require_token()
    stop = stop_on_signals()
    try:
        ops = await _early_ops_server(config, dashboard=role == "all")
        # Off the event loop: /health keeps answering while these take their seconds.
        await asyncio.to_thread(importlib.import_module, "musicbot.bot.client")
        from musicbot.voice.processes import prepare_for_voice

        workers = await asyncio.to_thread(prepare_for_voice)
        if stop.is_set():
            log.info("stopped during start-up")
            if ops is not None:
                await ops.stop()
            return
        try:
            await _serve_mapped(config, token, stop, ops, workers)
        finally:
            if workers is not None:
                await asyncio.to_thread(workers.stop)
    finally:
        loop = asyncio.get_running_loop()
        for signum in SHUTDOWN_SIGNALS:
            loop.remove_signal_handler(signum)


async def _early_ops_server(config: Config, *, dashboard: bool) -> OpsServer | None:
    if not config.http_port:
        return None
    from musicbot.web.dashboard import Dashboard, settings_of
    from musicbot.web.server import OpsServer, Readiness

    ops = OpsServer(port=config.http_port, host=config.http_host,
                    readiness=lambda: Readiness(discord_ready=False, database=None, starting=True),
                    dashboard=Dashboard(settings_of(config) if dashboard else None))
    await ops.start()
    return ops


async def _serve_mapped(config: Config, token: str, stop: asyncio.Event, ops: OpsServer | None,
                        workers: RenderProcesses | None) -> None:
    import aiohttp
    import discord

    from musicbot.bot.client import MusicBotClient, opus_settings
    from musicbot.bot.proxies import apply_proxies
    from musicbot.voice.render_client import EngineFactory

    # Filters and encoding in the render workers (started as guilds start playing), else here.
    engines = EngineFactory(opus=opus_settings(config)) if workers is None else \
        EngineFactory(connect=workers.connect, opus=opus_settings(config))
    client = MusicBotClient(config, ops=ops, engines=engines)
    apply_proxies(client, config)  # DISCORD_API_BASE, DISCORD_GATEWAY_URL, HTTPS_PROXY, SSL_CERT_FILE
    try:
        # The database and this process's shard leases first: shards another process runs stop the
        # start here (ShardTakenError, exit 1) before anything is sent to Discord.
        await client.open_storage()
    except BaseException:
        if ops is not None:
            await ops.stop()
        raise
    try:
        await serve(client, token, stop)
        if client.lease_lost is not None:
            raise client.lease_lost
    except discord.LoginFailure as error:
        raise DiscordUnreachableError(
            "Discord rejected DISCORD_TOKEN: copy the bot's token again from "
            "https://discord.com/developers/applications (Bot → Reset Token)"
        ) from error
    except aiohttp.ClientConnectionError as error:
        raise DiscordUnreachableError(
            f"cannot reach Discord at {discord.http.Route.BASE} ({error}): check the network, DNS and any "
            "proxy settings of this machine"
        ) from error


def stop_on_signals() -> asyncio.Event:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            log.warning("%s again: already shutting down", signal.Signals(signum).name)
            return
        log.info("%s: shutting down gracefully", signal.Signals(signum).name)
        stop.set()

    for signum in SHUTDOWN_SIGNALS:
        loop.add_signal_handler(signum, on_signal, signum)
    return stop


async def serve(client: discord.Client, token: str, stop: asyncio.Event, *, grace_s: float = GRACE_S) -> None:
    """Log in, connect and run until ``stop`` is set (a signal) or the client closes by itself.

    Errors of the connection itself (a rejected token, Discord unreachable) propagate."""
    async with client:  # closes the client (and its HTTP session) on every way out
        runner = asyncio.create_task(client.start(token))
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if runner in done:
            stopper.cancel()
            runner.result()  # a connection error propagates
            return
        try:
            await asyncio.wait_for(client.close(), grace_s)
        except TimeoutError:
            log.error("shutdown took longer than %.0f s; exiting without waiting for the rest", grace_s)
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await runner
