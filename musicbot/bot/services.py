"""What cogs, the now-playing panel and the history recorder need from the bot, as a protocol.

They depend on this, not on ``MusicBotClient``: the client module imports them all (to install
them), so a dependency back on the client was an import cycle waiting to happen, and a protocol
says in one place which of the client's many attributes a command may use. ``MusicBotClient``
satisfies it structurally; a test may hand in anything else that does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import discord
    from discord import app_commands

    from musicbot.bot.sessions import SessionManager
    from musicbot.bot.voice_status import VoiceStatusKeeper
    from musicbot.config import Config
    from musicbot.storage import Database, GuildSettings, HistoryRepo, PlaylistRepo, UserSettingsRepo
    from musicbot.telegram.remote import BridgeRemote


class BotServices(Protocol):
    """The music services (sessions, settings, storage) and the few Discord client calls the cogs make."""

    config: Config
    database: Database | None
    sessions: SessionManager
    voice_status: VoiceStatusKeeper
    closing: bool
    started_at: float
    telegram: BridgeRemote  # the Telegram bridge, wherever it runs (telegram/remote.py)

    @property
    def db(self) -> Database: ...

    async def guild_settings(self, guild_id: int) -> GuildSettings: ...

    async def update_guild_settings(self, guild_id: int, actor_id: int, **changes: object) -> GuildSettings: ...

    @property
    def user_settings(self) -> UserSettingsRepo: ...

    @property
    def playlists(self) -> PlaylistRepo: ...

    @property
    def history(self) -> HistoryRepo: ...

    # -- the Discord client
    @property
    def user(self) -> discord.ClientUser | None: ...

    @property
    def guilds(self) -> Sequence[discord.Guild]: ...

    @property
    def latency(self) -> float: ...

    @property
    def shard_count(self) -> int | None: ...

    @property
    def tree(self) -> app_commands.CommandTree[Any]: ...

    def get_guild(self, guild_id: int, /) -> discord.Guild | None: ...

    def add_view(self, view: discord.ui.View, *, message_id: int | None = None) -> None: ...
