"""Running the client until a signal: SIGTERM and SIGINT both shut down gracefully.

discord.py's ``Client.run`` turns only Ctrl-C (KeyboardInterrupt) into a clean close; SIGTERM
(``systemctl stop``, ``docker stop``, Kubernetes) killed the process mid-song, and as PID 1 in a
container an unhandled SIGTERM is ignored until the runtime's SIGKILL. Here both signals start
``client.close()`` (snapshot, leave voice, flush; see ``MusicBotClient.close``), bounded by
``grace_s`` so the process always exits before a supervisor's kill timeout (Docker: 10 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import discord

log = logging.getLogger(__name__)

SHUTDOWN_SIGNALS = (signal.SIGTERM, signal.SIGINT)
GRACE_S = 8.0
"""How long shutdown may take before the process gives up on it (below Docker's default 10 s)."""


async def serve(client: discord.Client, token: str, *, grace_s: float = GRACE_S) -> None:
    """Log in, connect and run until a shutdown signal or until the client closes by itself.

    Errors of the connection itself (a rejected token, Discord unreachable) propagate."""
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
    try:
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
    finally:
        for signum in SHUTDOWN_SIGNALS:
            loop.remove_signal_handler(signum)
