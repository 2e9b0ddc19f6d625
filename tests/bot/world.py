"""A whole MusicBotClient against the offline harness: one guild, a text and a voice channel, a DJ role,
three members, generated media files for ``/play`` queries, SQLite in a temp folder.

Queries: a key of ``MEDIA`` plays that file (``"a440"``: 1 s of 440 Hz …); ``"list:a440,a660"`` resolves to a
playlist; ``"search:<words>"`` returns search candidates (all of ``MEDIA``); anything else is "not found".
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord
import numpy as np

from musicbot.bot.client import MusicBotClient
from musicbot.bot.ratelimit import Rate, RateLimiter
from musicbot.config import Config, load_config
from musicbot.queue import OfflineRecommender
from musicbot.sources.errors import NotFoundError
from musicbot.sources.models import Resolved, ResolvedKind
from musicbot.sources.synth import sweep, tone, write_audio
from musicbot.storage import Database
from musicbot.track import Track
from tests.harness import FakeDiscord, guild_payload, join_voice, member, role, user
from tests.harness.fake_service import OFFLINE_LOOKUPS
from tests.harness.fixtures import OfflineBotFactory
from tests.harness.payloads import Payload
from tests.media import FileOpener

GUILD, TEXT, VOICE, VOICE2 = 1000, 1001, 1002, 1003
DJ_ROLE = 1500
ALICE = user(5001, "alice")  # plain member
BOB = user(5002, "bob")  # plain member
DJ = user(5003, "dj")  # has the DJ role
ADMIN = user(5004, "admin")  # has Manage Server through the admin role
ADMIN_ROLE = 1501

# name → (frequency Hz, seconds)
MEDIA: dict[str, tuple[float, float]] = {
    "a440": (440.0, 1.0),
    "a660": (660.0, 1.0),
    "long440": (440.0, 6.0),
    "long660": (660.0, 6.0),
}


def make_media(root: Path) -> dict[str, Path]:
    root.mkdir(parents=True, exist_ok=True)
    return {name: write_audio(root / f"{name}.flac", tone(hz, seconds)) for name, (hz, seconds) in MEDIA.items()}


SWEEP_S = 30.0  # ``add_sweep``: a tone rising 20 Hz a second, so the pitch heard says the position


def add_sweep(world: World) -> str:
    """Make ``/play sweep`` play a 30 s ``synth.sweep`` (for tests that check where playback is)."""
    world.media["sweep"] = world.resolver.media["sweep"] = write_audio(
        world.media["a440"].parent / "sweep.flac", sweep(SWEEP_S))
    return "sweep"


def track_for(name: str, path: Path) -> Track:
    _, seconds = MEDIA.get(name, (0.0, SWEEP_S))
    return Track(id=f"local:{name}", title=f"Tone {name}", artist="Generator", duration_s=seconds,
                 url=str(path), source="local")


class FileResolver:
    def __init__(self, media: dict[str, Path]) -> None:
        self.media = media
        self.queries: list[str] = []

    async def resolve(self, query: str) -> Resolved:
        self.queries.append(query)
        text = query.strip()
        if text.startswith("list:"):
            names = [n for n in text[5:].split(",") if n in self.media]
            if names:
                return Resolved(ResolvedKind.PLAYLIST, tuple(track_for(n, self.media[n]) for n in names), "Mix")
        if text.startswith("search:"):
            return Resolved(ResolvedKind.SEARCH, tuple(track_for(n, p) for n, p in self.media.items()))
        if text in self.media:
            return Resolved(ResolvedKind.TRACK, (track_for(text, self.media[text]),))
        raise NotFoundError(f"Nothing was found for “{text[:80]}”.")

    async def search(self, words: str, limit: int = 5) -> list[Track]:
        hits = [track_for(n, p) for n, p in self.media.items() if words.lower() in n]
        if not hits:
            raise NotFoundError(f"Nothing was found for “{words[:80]}”.")
        return hits[:limit]


def guild(**kw: Any) -> Payload:
    """The test guild: @everyone without Manage Server, a DJ role and an admin role."""
    everyone_permissions = kw.pop("everyone_permissions", discord.Permissions.general() | discord.Permissions.voice()
                                  | discord.Permissions.text())
    everyone_permissions.manage_guild = False
    everyone_permissions.administrator = False
    return guild_payload(
        GUILD,
        text_id=TEXT,
        voice_id=[VOICE, VOICE2],
        roles=[role(DJ_ROLE, "DJ", permissions=0, position=1),
               role(ADMIN_ROLE, "Admin", permissions=discord.Permissions(manage_guild=True), position=2)],
        members=[ALICE, BOB, member(DJ, roles=[DJ_ROLE]), member(ADMIN, roles=[ADMIN_ROLE])],
        everyone_permissions=everyone_permissions,
        **kw,
    )


@dataclass
class World:
    bot: MusicBotClient
    fake: FakeDiscord
    resolver: FileResolver
    config: Config
    media: dict[str, Path]
    members: dict[int, discord.Member] = field(default_factory=dict)

    @property
    def guild(self) -> discord.Guild:
        g = self.bot.get_guild(GUILD)
        assert g is not None
        return g

    async def join(self, who: Payload, channel_id: int = VOICE) -> discord.Member:
        roles = {DJ["id"]: [DJ_ROLE], ADMIN["id"]: [ADMIN_ROLE]}.get(who["id"], [])
        m = await join_voice(self.bot, GUILD, channel_id, member(who, roles=roles))
        self.members[m.id] = m
        return m


async def build_world(factory: OfflineBotFactory, fake: FakeDiscord, tmp: Path, *,
                      settings: Mapping[str, str] | None = None, **guild_kw: Any) -> World:
    """``settings``: more of the bot's settings (``TELEGRAM_TOKEN``…), as the environment would give them."""
    media = make_media(tmp / "media")
    # Lookups go to a closed local port unless ``settings`` names the fakes: no test reaches lrclib.net.
    config = load_config({"MUSICBOT_DATA_DIR": str(tmp / "data"), "MUSICBOT_HTTP_PORT": "0", **OFFLINE_LOOKUPS,
                          **(settings or {})}, toml_path=tmp / "none.toml")
    resolver = FileResolver(media)
    database = await Database.open(config.database_url)
    bot = MusicBotClient(config, resolver=resolver, opener=FileOpener(), database=database)
    bot.sessions.idle_leave_s = 0.5
    # Autoplay recommends from the generated media: no test may reach YouTube.
    bot.sessions.recommender = OfflineRecommender([track_for(n, p) for n, p in media.items()])
    await factory(bot, guilds=[guild(**guild_kw)])
    # Tests fire many commands per second as one user; rate-limit tests install tight limits themselves.
    bot.tree.rate_limiter = RateLimiter(Rate(10_000, 1.0), {})
    return World(bot=bot, fake=fake, resolver=resolver, config=config, media=media)


async def restart_world(factory: OfflineBotFactory, world: World, **guild_kw: Any) -> World:
    """Shut ``world``'s client down and start a new one on the same data dir, database file and fake Discord:
    what a restart looks like from Discord's side (messages and their buttons stay, in-memory state is gone)."""
    await world.bot.close()
    database = await Database.open(world.config.database_url)
    bot = MusicBotClient(world.config, resolver=world.resolver, opener=FileOpener(), database=database)
    bot.sessions.idle_leave_s = 0.5
    bot.sessions.recommender = OfflineRecommender([track_for(n, p) for n, p in world.media.items()])
    await factory(bot, guilds=[guild(**guild_kw)])
    bot.tree.rate_limiter = RateLimiter(Rate(10_000, 1.0), {})
    return World(bot=bot, fake=world.fake, resolver=world.resolver, config=world.config, media=world.media)


async def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.005)


__all__ = ["ADMIN", "ALICE", "BOB", "DJ", "DJ_ROLE", "GUILD", "SWEEP_S", "TEXT", "VOICE", "VOICE2", "World",
           "add_sweep", "build_world", "np", "restart_world", "wait_for"]
