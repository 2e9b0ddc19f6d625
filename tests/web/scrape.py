"""Reading ``/metrics`` as Prometheus would: over HTTP, parsed with prometheus-client's own parser.

The counters and histograms count for the whole test process, so tests compare two scrapes
(``Scrape.delta``) rather than absolute values.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from musicbot.bot.client import MusicBotClient
from musicbot.config import load_config
from musicbot.session import TrackResolver
from musicbot.storage import Database
from tests.bot.world import FileResolver, World, guild, make_media
from tests.harness.fake_service import OFFLINE_LOOKUPS
from tests.harness.fixtures import FakeDiscord, OfflineBotFactory
from tests.media import FileOpener

# Suffixes Prometheus adds to a family's name in its samples (and PromQL queries them by).
SAMPLE_SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"),
                   "gauge": (), "summary": ("_count", "_sum", "_created"), "info": ("_info",)}


@dataclass(frozen=True)
class Scrape:
    text: str
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]
    families: dict[str, str]  # name → type

    def value(self, name: str, **labels: str) -> float:
        """A sample's value; 0 when absent (a labelled counter before its first increment)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def delta(self, before: Scrape, name: str, **labels: str) -> float:
        return self.value(name, **labels) - before.value(name, **labels)

    def labels(self, name: str) -> list[dict[str, str]]:
        return [dict(labels) for sample, labels in self.samples if sample == name]

    def names(self) -> set[str]:
        """Every name a query may use: the samples' and, for families without samples yet, the family's."""
        names = {name for name, _ in self.samples}
        for family, kind in self.families.items():
            names.update(family + suffix for suffix in ("", *SAMPLE_SUFFIXES.get(kind, ())))
        return names


async def scrape(port: int) -> Scrape:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as resp:
        assert resp.status == 200
        text = await resp.text()
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    families: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        families[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return Scrape(text, samples, families)


async def get_json(port: int, path: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}{path}") as resp:
        return resp.status, await resp.json()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def metrics_world(factory: OfflineBotFactory, fake: FakeDiscord, tmp: Path,
                        resolver: TrackResolver | None = None) -> World:
    """``tests/bot/world.py``'s world, with its ops server on a free port (``bot.config.http_port``)."""
    from musicbot.bot.ratelimit import Rate, RateLimiter

    media = make_media(tmp / "media")
    config = load_config({"MUSICBOT_DATA_DIR": str(tmp / "data"), "MUSICBOT_HTTP_PORT": str(free_port()),
                          **OFFLINE_LOOKUPS}, toml_path=tmp / "none.toml")
    files = FileResolver(media)
    database = await Database.open(config.database_url)
    bot = MusicBotClient(config, resolver=resolver or files, opener=FileOpener(), database=database)
    bot.sessions.idle_leave_s = 60.0  # the tests read the players' gauges; nobody leaves meanwhile
    await factory(bot, guilds=[guild()])
    bot.tree.rate_limiter = RateLimiter(Rate(10_000, 1.0), {})
    return World(bot=bot, fake=fake, resolver=files, config=config, media=media)
