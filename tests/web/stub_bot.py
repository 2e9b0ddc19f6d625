"""The bot's side of the dashboard (``bot/web_control.py``'s interface), for tests of the login and
API layer: guilds, one player whose pause a test flips, and actions refused as the commands
refuse someone outside the voice channel. The real bot's answers are checked through
``musicbot run`` in test_dashboard.py."""

from __future__ import annotations

from dataclasses import dataclass

from musicbot.web.dashboard import GuildSummary
from musicbot.web.library_api import HistoryView, PlaylistView
from musicbot.web.player_api import (
    Action,
    EntryView,
    NotAllowedError,
    PlayerView,
    Right,
    RightsView,
    TrackView,
    UnknownGuildError,
)

NOT_IN_VOICE = "Join a voice channel first, then try again."


@dataclass
class StubBot:
    guilds: list[GuildSummary]
    paused: bool = False

    async def dashboard_guilds(self) -> list[GuildSummary]:
        return self.guilds

    def _known(self, guild_id: int) -> None:
        if guild_id not in [g.id for g in self.guilds]:
            raise UnknownGuildError()

    async def player(self, guild_id: int) -> PlayerView:
        self._known(guild_id)
        return PlayerView(True, "1", "Music", None, 0.0, self.paused, 100, "off", False, {}, 0.0, [], [], 0, 0.0)

    async def rights(self, guild_id: int, user_id: int) -> RightsView:
        self._known(guild_id)
        no = Right(False, NOT_IN_VOICE)
        return RightsView(False, no, no, no, ["distortion"])

    async def act(self, guild_id: int, user_id: int, action: Action) -> PlayerView:
        self._known(guild_id)
        raise NotAllowedError(NOT_IN_VOICE)

    async def play(self, guild_id: int, user_id: int, query: str,
                   play_next: bool) -> tuple[list[EntryView], PlayerView]:
        raise NotAllowedError(NOT_IN_VOICE)

    async def search(self, guild_id: int, user_id: int, words: str) -> list[TrackView]:
        return [TrackView(f"{words} (live)", "Someone", None, "https://example.org/a", None),
                TrackView(words, "Someone", 183.5, "https://example.org/b", "https://example.org/b.jpg")]

    async def history(self, guild_id: int) -> list[HistoryView]:
        self._known(guild_id)
        return [HistoryView("Song", "Band", "https://example.org/s", "4001", False, "2026-12-05T08:00:00+00:00", None)]

    async def playlists(self, user_id: int) -> list[PlaylistView]:
        return [PlaylistView("mine", 2, 400.0, "2026-12-05T08:00:00+00:00", "yours", "mine")]

    async def server_playlists(self, guild_id: int, user_id: int) -> list[PlaylistView]:
        self._known(guild_id)
        return [PlaylistView("Party", 12, 2400.0, "2026-12-05T08:00:00+00:00", "server", "#7"),
                PlaylistView("mine", 3, 600.0, "2026-12-05T08:00:00+00:00", "shared", "#9")]

    async def save_playlist(self, guild_id: int, user_id: int, name: str, overwrite: bool) -> PlaylistView:
        self._known(guild_id)
        return PlaylistView(name, 0, 0.0, "2026-12-05T08:00:00+00:00", "yours", name)

    async def load_playlist(self, guild_id: int, user_id: int, name: str,
                            play_next: bool) -> tuple[list[EntryView], PlayerView]:
        raise NotAllowedError(NOT_IN_VOICE)
