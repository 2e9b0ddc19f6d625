"""The discord.py client. It loads libopus, opens the database (migrating it), installs the slash
commands and the persistent now-playing views, serves /health, /ready and /metrics, and connects.

It is a ``commands.AutoShardedBot`` only for discord.py's cog machinery (commands grouped per
module, bound per client); there are no prefix commands and no message-content intent.
"""

from __future__ import annotations

import asyncio
import glob
import logging
import os
import time
from typing import TYPE_CHECKING, Any

import av
import discord
from cachetools import TTLCache
from discord.ext import commands

from musicbot.bot.cluster_node import ClusterNode
from musicbot.bot.cogs.all import COGS
from musicbot.bot.components import answer_if_unrouted
from musicbot.bot.ops import attach as attach_ops
from musicbot.bot.ops import ops_server
from musicbot.bot.resume import SessionKeeper
from musicbot.bot.services import BotServices
from musicbot.bot.sessions import SessionManager
from musicbot.bot.telegram_control import TelegramControl
from musicbot.bot.translator import CommandTranslator
from musicbot.bot.tree import MusicTree
from musicbot.bot.voice_status import VoiceStatusKeeper
from musicbot.bot.web_control import WebControl
from musicbot.config import Config
from musicbot.lookups import Lookups
from musicbot.session import StreamTrackOpener, TrackOpener, TrackResolver
from musicbot.shards import ShardRange
from musicbot.storage import (
    Database,
    GuildSettings,
    GuildSettingsRepo,
    HistoryRepo,
    PlaylistRepo,
    StorageUnavailableError,
    UserSettingsRepo,
)
from musicbot.storage import deadline as storage_deadline
from musicbot.storage.leases import LEASE_TTL_S, ShardLeases, ShardTakenError
from musicbot.storage.retention import RetentionJob
from musicbot.telegram.remote import BridgeRemote
from musicbot.telegram.remote import serve_off as serve_bridge_off
from musicbot.voice.protocol import OpusSettings
from musicbot.voice.render_client import EngineFactory
from musicbot.web.cluster_bot import serve_dashboard
from musicbot.web.dashboard_ops import bus_for
from musicbot.web.server import OpsServer

if TYPE_CHECKING:
    from musicbot.telegram.bridge import TelegramBridge

log = logging.getLogger(__name__)

SETTINGS_CACHE_S = 30.0
SETTINGS_READ_S = 1.5  # a control command still answers within Discord's 3 s when the database hangs


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


class MusicBotClient(commands.AutoShardedBot):
    """Needs only the non-privileged intents: guilds and voice states.

    ``resolver``/``opener``/``database`` may be injected (tests); by default they are built from
    ``config`` in ``setup_hook``.
    """

    def __init__(
        self,
        config: Config,
        *,
        resolver: TrackResolver | None = None,
        opener: TrackOpener | None = None,
        database: Database | None = None,
        ops: OpsServer | None = None,
        engines: EngineFactory | None = None,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.voice_states = True
        options: dict[str, Any] = {"shard_count": config.shard_count}
        # SHARD_IDS lets several processes split one bot's shards; unset means all of them here.
        if config.shard_ids:
            options["shard_ids"] = list(config.shard_ids)
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=intents,
            tree_cls=MusicTree,
            allowed_mentions=discord.AllowedMentions.none(),
            **options,
        )
        self.config = config
        self.database = database
        # The guilds this process owns: resume, snapshot clean-up and history retention touch only theirs.
        self.shard_range = ShardRange.from_settings(config.shard_count, config.shard_ids)
        self.leases: ShardLeases | None = None  # taken in open_storage, before anything reaches Discord
        self.lease_lost: ShardTakenError | None = None  # another process took a shard of ours: we stop
        self.lease_ttl_s = LEASE_TTL_S  # renewed every third of it (tests shorten it)
        self.started_at = time.time()
        self._resolver = resolver
        self._opener = opener
        self._ops = ops  # started already (bot/lifecycle.py): it reports on this client from now on
        if ops is not None:
            attach_ops(ops, self)
        self._settings_cache: TTLCache[int, GuildSettings] = TTLCache(10_000, ttl=SETTINGS_CACHE_S)
        self._settings_repo: GuildSettingsRepo | None = None
        self._settings_repo_db: Database | None = None
        self._commands_installed = False
        self.sync_on_start = True  # register changed slash commands in setup_hook (see bot/sync.py)
        # True from the start of shutdown: sessions are torn down then, not ended by users, so the
        # now-playing panels keep their (persistent) buttons for after the restart.
        self.closing = False
        # Where the players' engines render: render workers under ``musicbot run`` (bot/lifecycle.py),
        # else this process.
        # LRCLIB and SponsorBlock (issue 19), shared by every guild's session with their caches.
        self.lookups = Lookups.at(config.lyrics_api, config.sponsorblock_api)
        self.sessions: SessionManager = SessionManager(
            self, resolver=_Unready(), opener=_Unready(), on_change=self._session_changed,
            engines=engines or EngineFactory(opus=opus_settings(config)), lookups=self.lookups,
            on_lyric_line=self._lyric_line_changed,
        )
        # The voice channel's status shows the track (bot/voice_status.py).
        self.voice_status = VoiceStatusKeeper(self)
        # Snapshots of every session, and their resume after a restart (bot/resume.py).
        self.keeper = SessionKeeper(self, interval_s=config.snapshot_interval_s, max_age_s=config.snapshot_max_age_s,
                                    listener_wait_s=self.sessions.idle_leave_s)
        self._closed: asyncio.Task[None] | None = None
        self._lease_stop: asyncio.Task[None] | None = None
        # Deletes plays older than each guild's /settings history-retention, now and every 6 h.
        self.retention = RetentionJob(lambda: self.database, shards=self.shard_range)
        # This process on the cluster bus (Redis with REDIS_URL, else in-process): it answers the
        # dashboard's questions about its guilds, wherever the dashboard runs (bot/cluster_node.py),
        # and the Telegram bridge's (bot/telegram_control.py).
        bus = bus_for(config.redis_url, config.redis_prefix)
        web = WebControl(self)
        self.telegram_control = TelegramControl(self, web)
        serve_also = [self.telegram_control.serve]
        # The bridge itself runs once per bot (Telegram allows one reader of a bot's updates): in shard 0's
        # process. aiogram is imported only when TELEGRAM_TOKEN is set.
        self.telegram_bridge: TelegramBridge | None = None
        if self.shard_range.runs_shard_zero and config.telegram_token:
            from musicbot.telegram.bridge import TelegramBridge

            self.telegram_bridge = TelegramBridge(token=config.telegram_token, api_base=config.telegram_api_base,
                                                  bus=bus, database=lambda: self.database)
            serve_also.append(self.telegram_bridge.serve)
        elif self.shard_range.runs_shard_zero:
            serve_also.append(serve_bridge_off)
        self.cluster = ClusterNode(self, bus, web, serve_also)
        self.telegram = BridgeRemote(bus, enabled=config.telegram_token is not None)

    # ---------------------------------------------------------------- start-up
    async def install_commands(self) -> None:
        """Add every cog (slash commands) and persistent view; no network needed (``musicbot sync --dry-run``)."""
        if self._commands_installed:
            return
        self._commands_installed = True
        services: BotServices = self  # the cogs see the client through this protocol (checked here by mypy)
        for cog in COGS:
            await self.add_cog(cog(services))  # type: ignore[call-arg, unused-ignore]
        # Names, descriptions and choices in every shipped language (bot/translator.py), in what sync registers.
        await self.tree.set_translator(CommandTranslator())

    async def login(self, token: str) -> None:
        """The ops endpoints first: ``/health`` answers (and ``/ready`` says what it waits for)
        while the login, the database migration and the command sync run, or fail."""
        await self.start_ops_server()
        await super().login(token)

    async def start_ops_server(self) -> None:
        """``/health``, ``/ready``, ``/metrics`` on ``MUSICBOT_HTTP_HOST:MUSICBOT_HTTP_PORT`` (port 0: off)."""
        if self._ops is None and self.config.http_port:
            self._ops = ops_server(self)
            await self._ops.start()

    async def open_storage(self) -> None:
        """The database (migrated) and the leases of this process's shards (``storage/leases.py``), renewed from
        now on. ``musicbot run`` calls it before the login, so a process whose shards another one runs
        (``ShardTakenError``) stops having sent Discord nothing; ``setup_hook`` calls it again (a no-op then).
        """
        if self.database is None:
            self.database = await Database.open(self.config.database_url)  # applies migrations
        if self.leases is None:
            leases = ShardLeases(self.database, self.shard_range, ttl_s=self.lease_ttl_s, on_lost=self._shards_lost)
            try:
                await leases.claim()
            except BaseException:
                await self.database.close()
                self.database = None
                raise
            leases.start()
            self.leases = leases
            log.info("running %s as %s", self.shard_range, leases.owner)
        if not self.cluster.opened:
            # Before the login too: a Redis that cannot be reached (REDIS_URL) stops the start here.
            http = f"{self.config.http_host}:{self.config.http_port}" if self.config.http_port else None
            await self.cluster.open(http)
            if self._ops is not None:
                await serve_dashboard(self._ops.dashboard, self.cluster.bus)

    def _shards_lost(self, error: ShardTakenError) -> None:
        """A renewal found a shard of ours run by another process (our lease expired in a database outage):
        two processes must not play the same guilds, so this one stops (``musicbot run`` exits 1)."""
        self.lease_lost = error
        self._lease_stop = asyncio.get_running_loop().create_task(self.close())

    async def setup_hook(self) -> None:
        path = load_bundled_opus()
        if path:
            log.info("libopus loaded from %s", path)
        await self.open_storage()
        resolver = self._resolver
        opener = self._opener
        if resolver is None or opener is None:
            from musicbot.sources.resolver import Resolver
            from musicbot.sources.stream import StreamOpener

            built = Resolver.from_config(self.config)
            resolver = resolver or built
            opener = opener or StreamTrackOpener(StreamOpener(built))
        self.sessions.resolver, self.sessions.opener = resolver, opener
        await self.install_commands()
        if self.telegram_bridge is not None:
            await self.telegram_bridge.start()  # its own tasks: nothing it meets reaches the Discord side
        if self.sync_on_start and not self.shard_range.runs_shard_zero:
            # Registration is once per bot, not per process: Discord rate-limits it.
            log.info("slash commands not registered here (%s): shard 0's process or `musicbot sync` does that",
                     self.shard_range)
        elif self.sync_on_start:
            from musicbot.bot.sync import sync_if_changed  # sync.py builds on this module

            await sync_if_changed(self)

    # ---------------------------------------------------------------- shared services
    @property
    def db(self) -> Database:
        if self.database is None:
            raise StorageUnavailableError("the database is not open yet")
        return self.database

    def _guild_settings_repo(self) -> GuildSettingsRepo:
        # One repository for the client's life: it remembers the last settings read per guild and
        # answers from that memory during a database outage (DJ checks keep working), which a
        # repository made per call would forget.
        db = self.db
        if self._settings_repo is None or self._settings_repo_db is not db:
            self._settings_repo, self._settings_repo_db = GuildSettingsRepo(db), db
        return self._settings_repo

    async def guild_settings(self, guild_id: int) -> GuildSettings:
        """The guild's settings (cached briefly: every control command checks the DJ role).

        With the database down and nothing cached, the defaults: music keeps working.
        """
        cached = self._settings_cache.get(guild_id)
        if cached is not None:
            return cached
        try:
            # Bounded, and without deferring a command's answer: a hanging database means defaults.
            with storage_deadline.quick(SETTINGS_READ_S):
                settings = await self._guild_settings_repo().get(guild_id)
        except StorageUnavailableError:
            log.warning("guild settings unavailable for %s; using defaults", guild_id)
            return GuildSettings(guild_id)
        self._settings_cache[guild_id] = settings
        return settings

    async def update_guild_settings(self, guild_id: int, actor_id: int, **changes: object) -> GuildSettings:
        settings = await self._guild_settings_repo().update(guild_id, actor_id=actor_id, **changes)
        self._settings_cache[guild_id] = settings
        session = self.sessions.get(guild_id)
        if session is not None:
            self.sessions.apply_settings(session, settings)
        if "voice_status" in changes:
            self.voice_status.setting_saved(guild_id)
        return settings

    @property
    def user_settings(self) -> UserSettingsRepo:
        return UserSettingsRepo(self.db)

    @property
    def playlists(self) -> PlaylistRepo:
        return PlaylistRepo(self.db)

    @property
    def history(self) -> HistoryRepo:
        return HistoryRepo(self.db)

    def _session_changed(self, guild_id: int) -> None:
        """A session's now-playing state may have changed; the panel (if installed) listens here."""
        self.keeper.changed(guild_id)
        self.cluster.changed(guild_id)
        self.voice_status.changed(guild_id)
        self.dispatch("session_changed", guild_id)

    def _lyric_line_changed(self, guild_id: int) -> None:
        """The synced lyric line sung now changed: the panel and the dashboard show it (nothing to save)."""
        self.cluster.changed(guild_id)
        self.dispatch("lyric_line_changed", guild_id)

    # ---------------------------------------------------------------- events
    def dispatch(self, event_name: str, /, *args: Any, **kwargs: Any) -> None:
        # discord.py dispatches "interaction" right after routing a component to its view: the one
        # moment to tell whether a view takes it (a listener task would run after the view's own).
        if event_name == "interaction" and args and isinstance(args[0], discord.Interaction):
            answer_if_unrouted(args[0])
        super().dispatch(event_name, *args, **kwargs)

    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        await self.sessions.on_voice_state_update(member, before, after)
        self.keeper.on_voice_state_update(member, after)

    async def on_ready(self) -> None:
        log.info("connected as %s in %d guilds", self.user, len(self.guilds))
        self.cluster.ready()
        if self.database is not None:
            self.keeper.start()
            self.retention.start()
            await self.keeper.resume_all()

    async def close(self) -> None:
        """Shutdown (SIGTERM/SIGINT; ``bot/lifecycle.py``): refuse new commands, snapshot every
        session, leave voice (which ends the open plays in the history), write everything
        pending, release the shard leases, disconnect. Safe to call more than once."""
        if self._closed is None:
            self._closed = asyncio.get_running_loop().create_task(self._shutdown())
        await asyncio.shield(self._closed)

    async def _shutdown(self) -> None:
        self.closing = True  # from here on interactions are answered "restarting" (tree.py)
        if self.telegram_bridge is not None:
            await self.telegram_bridge.stop()  # before the sessions end: the chats are not told of a restart
        await self.keeper.stop()
        await self.retention.stop()
        if self.database is not None and self.lease_lost is None:  # else the snapshots are the new owner's
            resuming = self.keeper.save_all()
            log.info("shutting down: %d sessions will resume after the restart", resuming)
        await self.sessions.close()
        await self.voice_status.close()  # the statuses of the channels just left, cleared
        await self.lookups.close()
        # Leaving voice ended each open play; the history listeners those ends dispatched run now,
        # before the database closes and writes what they queued.
        await asyncio.sleep(0)
        if self.database is not None:
            if self.leases is not None:
                # The last snapshots written before the shards are free: a process taking them over resumes those.
                await self.database.outbox.flush()
                await self.leases.release()
            await self.database.close()
        await self.cluster.close()
        if self._ops is not None:
            await self._ops.stop()
        await super().close()


class _Unready:
    """Stands in for the resolver/opener until ``setup_hook`` builds them; using it is a bug."""

    async def resolve(self, query: str) -> Any:
        raise RuntimeError("the bot is not set up yet")

    async def open(self, track: Any, *, start_s: float = 0.0) -> Any:
        raise RuntimeError("the bot is not set up yet")


def opus_settings(config: Config) -> OpusSettings:
    return OpusSettings(config.opus_complexity, config.opus_fec, config.opus_expected_loss_pct)
