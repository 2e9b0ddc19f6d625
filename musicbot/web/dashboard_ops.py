"""The dashboard's operations on the cluster bus (``cluster/``): what a process serving the dashboard
asks of the process that runs a guild's shard, with the types both ends validate, and how the
commands' refusals cross (``KINDS``). Imported by both ends: the bot's side serves these with
``bot/web_control.py`` (``bot/cluster_node.py``), the web side calls them (``web/cluster_bot.py``).

One process (``musicbot run``, no ``REDIS_URL``) goes through the same operations on a ``LocalBus``,
so the dashboard has one code path however the bot is deployed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from musicbot.cluster import Bus, ErrorKinds, LocalBus, Ops, RedisBus
from musicbot.errors import FilterConfigError, MusicBotError
from musicbot.web.library_api import HistoryView, PlaylistView
from musicbot.web.player_api import (
    BadActionError,
    EntryView,
    NotAllowedError,
    PlayerView,
    RightsView,
    TooFastError,
    TrackView,
    UnknownGuildError,
)


class NotReadyError(MusicBotError):
    """The process that runs the guild is still connecting to Discord (503)."""

    def __init__(self) -> None:
        super().__init__("The bot is still connecting to Discord; try again in a few seconds.")


@dataclass(frozen=True)
class Nothing:
    """The arguments of an operation that takes none but its guild."""


@dataclass(frozen=True)
class ForUser:
    user_id: int


@dataclass(frozen=True)
class ActArgs:
    user_id: int
    kind: str
    value: Any = None  # as ``Action.value``; checked again by the serving end (``parse_action`` built it)


@dataclass(frozen=True)
class PlayArgs:
    user_id: int
    query: str
    play_next: bool


@dataclass(frozen=True)
class SearchArgs:
    user_id: int
    words: str


@dataclass(frozen=True)
class SaveArgs:
    user_id: int
    name: str
    overwrite: bool


@dataclass(frozen=True)
class LoadArgs:
    user_id: int
    name: str
    play_next: bool


@dataclass(frozen=True)
class Queued:
    """What ``play`` and ``load_playlist`` queued, and the player after."""

    entries: list[EntryView]
    player: PlayerView


OPS = Ops()
PLAYER = OPS.add("dashboard.player", Nothing, PlayerView)
RIGHTS = OPS.add("dashboard.rights", ForUser, RightsView)
ACT = OPS.add("dashboard.act", ActArgs, PlayerView)
PLAY = OPS.add("dashboard.play", PlayArgs, Queued)
SEARCH = OPS.add("dashboard.search", SearchArgs, list[TrackView])  # type: ignore[arg-type, unused-ignore]  # a generic alias
HISTORY = OPS.add("dashboard.history", Nothing, list[HistoryView])  # type: ignore[arg-type, unused-ignore]
PLAYLISTS = OPS.add("dashboard.playlists", ForUser, list[PlaylistView])  # type: ignore[arg-type, unused-ignore]  # node-wide
SERVER_PLAYLISTS = OPS.add("dashboard.server_playlists", ForUser, list[PlaylistView])  # type: ignore[arg-type, unused-ignore]
SAVE_PLAYLIST = OPS.add("dashboard.save_playlist", SaveArgs, PlaylistView)
LOAD_PLAYLIST = OPS.add("dashboard.load_playlist", LoadArgs, Queued)

# Subclasses before their bases: the first match names the kind.
KINDS = ErrorKinds(
    raised=[(NotReadyError, "not_ready"), (UnknownGuildError, "unknown_guild"), (NotAllowedError, "not_allowed"),
            (TooFastError, "too_fast"),
            (BadActionError, "bad_request"), (FilterConfigError, "bad_request"), (MusicBotError, "refused")],
    rebuild={"not_ready": lambda e: NotReadyError(),
             "unknown_guild": lambda e: UnknownGuildError(),
             "not_allowed": lambda e: NotAllowedError(e.message),
             "too_fast": lambda e: TooFastError(e.message, e.retry_after_s or 1.0),
             "bad_request": lambda e: BadActionError(e.message),
             "refused": lambda e: MusicBotError(e.message)},
)


def bus_for(redis_url: str | None, prefix: str = "musicbot:") -> Bus:
    """The bus of this process: Redis when the bot is scaled out (``REDIS_URL``), else in-process."""
    import musicbot.telegram.ops  # noqa: F401  (registers the Telegram bridge's operations on OPS)

    if redis_url:
        return RedisBus(redis_url, ops=OPS, errors=KINDS, prefix=prefix)
    return LocalBus(ops=OPS, errors=KINDS)
