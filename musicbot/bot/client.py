"""The discord.py client. It loads libopus, opens the database (migrating it), serves /health,
/ready and /metrics, and connects; the slash commands plug into it (issue 7)."""

from __future__ import annotations

import glob
import logging
import os

import av
import discord

from musicbot.config import Config
from musicbot.storage import Database
from musicbot.web.server import OpsServer

log = logging.getLogger(__name__)


def load_bundled_opus() -> str | None:
    """Point discord.py at the libopus inside the PyAV wheel, so no system libopus is needed.

    Returns the library path, or None when discord.py already had one loaded.
    """
    if discord.opus.is_loaded():
        return None
    base = os.path.dirname(av.__file__)
    candidates = sorted(glob.glob(base + ".libs/libopus*.so*") + glob.glob(os.path.join(base, ".dylibs", "libopus*")))
    if not candidates:
        log.warning("no libopus found in the PyAV wheel; voice needs a system libopus")
        return None
    discord.opus.load_opus(candidates[0])
    return candidates[0]


class MusicBotClient(discord.AutoShardedClient):
    """Needs only the non-privileged intents: guilds and voice states."""

    def __init__(self, config: Config) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.voice_states = True
        # SHARD_IDS lets several processes split one bot's shards; unset means all of them here.
        if config.shard_ids:
            super().__init__(intents=intents, shard_count=config.shard_count, shard_ids=list(config.shard_ids))
        else:
            super().__init__(intents=intents, shard_count=config.shard_count)
        self.config = config
        self.database: Database | None = None
        self._ops: OpsServer | None = None

    async def setup_hook(self) -> None:
        path = load_bundled_opus()
        if path:
            log.info("libopus loaded from %s", path)
        self.database = await Database.open(self.config.database_url)  # applies migrations
        if self.config.http_port:
            self._ops = OpsServer(port=self.config.http_port, database_health=self.database.health,
                                  discord_ready=self.is_ready)
            await self._ops.start()

    async def close(self) -> None:
        """Shutdown (SIGTERM/SIGINT): stop serving, write everything pending, then disconnect."""
        if self._ops is not None:
            await self._ops.stop()
        if self.database is not None:
            await self.database.close()
        await super().close()

    async def on_ready(self) -> None:
        log.info("connected as %s in %d guilds", self.user, len(self.guilds))


def run_bot(config: Config) -> None:
    token = config.require_token()
    if config.discord_api_base:
        discord.http.Route.BASE = config.discord_api_base.rstrip("/")
    client = MusicBotClient(config)
    client.run(token, log_handler=None)
