"""A guild's player over the dashboard's API: what it plays (``GET /api/v1/guilds/{id}/player``) and
playback actions (``POST /api/v1/guilds/{id}/player/{action}``).

The values here are plain data; the bot fills them and carries the actions out under the slash
commands' rules (``bot/web_control.py``). A refusal keeps the commands' own sentence: 403 for who
may not (not in the voice channel, not a DJ, a skip that needs a vote), 409 for what cannot be done
now (nothing playing, already paused).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol

from musicbot.errors import MusicBotError

ACTIONS = ("pause", "resume", "skip", "previous", "stop", "seek", "volume", "loop", "shuffle", "clear", "move",
           "remove", "filters", "preset")
LOOP_MODES = ("off", "track", "queue")
MAX_VOLUME_PERCENT = 200


class UnknownGuildError(MusicBotError):
    def __init__(self) -> None:
        super().__init__("That is not one of your servers with the bot in it.")


class NotAllowedError(MusicBotError):
    """Who may not act (403), in the commands' words; other ``MusicBotError``s are what cannot be
    done now (409)."""


class TooFastError(MusicBotError):
    """The user's rate limit, shared with their slash commands (429)."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class BadActionError(MusicBotError):
    """The request itself is wrong (400)."""


@dataclass(frozen=True)
class EntryView:
    entry_id: int
    title: str
    artist: str
    duration_s: float | None
    url: str
    artwork_url: str | None
    requester_id: str | None
    autoplay: bool
    requester_name: str | None = None  # who asked from outside Discord (a Telegram user), when requester_id is None


@dataclass(frozen=True)
class PlayerView:
    connected: bool
    channel_id: str | None
    channel_name: str | None
    current: EntryView | None
    position_s: float
    paused: bool
    volume: int  # percent
    loop: str
    autoplay: bool
    filters: dict[str, Any]  # Lavalink's filter JSON, as /filter takes it
    crossfade_s: float
    listeners: list[tuple[str, str]]  # (id, name)
    queue: list[EntryView]  # the first 100 upcoming
    queue_length: int
    # When the bot took this view (seconds since the epoch): a page that gets the answer to its own
    # request and a pushed update in either order keeps the newer one.
    as_of: float
    # Issue 19. position_s and length_s are as heard: SponsorBlock's skipped stretches are not counted.
    length_s: float | None = None  # the current track's length (None: live or unknown)
    lyric_line: str | None = None  # the synced lyric line sung now (pushed when it changes)
    skipped: str | None = None  # what SponsorBlock last left out of this track, e.g. "sponsor read (0:31)"

    def as_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["listeners"] = [{"id": i, "name": n} for i, n in self.listeners]
        return body


@dataclass(frozen=True)
class Right:
    allowed: bool
    why_not: str | None  # the commands' own refusal, when not allowed


@dataclass(frozen=True)
class RightsView:
    """What the user may do on the server now, as the commands would decide it (shown by the page
    ahead of time; every request is still checked)."""

    dj: bool  # has the DJ role, or Manage Server
    control: Right  # pause, volume, filters, queue edits: in the bot's voice channel, and a DJ where one is set
    add: Right  # play, load a playlist: in a voice channel (the bot's, when it is in one)
    skip: Right  # skip without a vote
    forbidden_filters: list[str]  # the filters this server does not allow (Lavalink's keys)


@dataclass(frozen=True)
class Action:
    kind: str
    value: Any = None  # what the kind takes: percent, mode, seconds, (from, to), position, filter JSON, name


@dataclass(frozen=True)
class TrackView:
    """A search result to pick from."""

    title: str
    artist: str
    duration_s: float | None
    url: str
    artwork_url: str | None


class PlayerBot(Protocol):
    async def player(self, guild_id: int) -> PlayerView: ...

    async def rights(self, guild_id: int, user_id: int) -> RightsView: ...

    async def act(self, guild_id: int, user_id: int, action: Action) -> PlayerView: ...

    async def play(self, guild_id: int, user_id: int, query: str,
                   play_next: bool) -> tuple[list[EntryView], PlayerView]:
        """Queue ``query`` (words or a link) as /play does; the entries it queued."""

    async def search(self, guild_id: int, user_id: int, words: str) -> list[TrackView]:
        """As /search, asked in ``guild_id`` (its process runs the search)."""


MAX_QUERY_CHARS = 500  # as /play's option


def parse_play(body: Any) -> tuple[str, bool]:
    query = body.get("query") if isinstance(body, dict) else None
    play_next = body.get("next", False) if isinstance(body, dict) else False
    if not isinstance(query, str) or not query.strip() or len(query) > MAX_QUERY_CHARS:
        raise BadActionError(f'Send what to play as {{"query": words or a link, up to {MAX_QUERY_CHARS} characters, '
                             '"next": true to put it first}.')
    if not isinstance(play_next, bool):
        raise BadActionError('"next" is true or false.')
    return query.strip(), play_next


def parse_search(words: str | None) -> str:
    if words is None or not words.strip() or len(words) > MAX_QUERY_CHARS:
        raise BadActionError(f"Search with ?q=words (1 to {MAX_QUERY_CHARS} characters).")
    return words.strip()


def parse_action(kind: str, body: Any) -> Action:
    """The action ``kind`` with its value from the JSON ``body``; ``BadActionError`` naming what is wrong."""
    if kind not in ACTIONS:
        raise BadActionError(f"Unknown action “{kind[:40]}”: use one of {', '.join(ACTIONS)}.")
    if kind == "volume":
        percent = body.get("percent") if isinstance(body, dict) else None
        if not isinstance(percent, int) or isinstance(percent, bool) or not 0 <= percent <= MAX_VOLUME_PERCENT:
            raise BadActionError(f"Send the volume as {{\"percent\": 0–{MAX_VOLUME_PERCENT}}}.")
        return Action(kind, percent)
    if kind == "loop":
        mode = body.get("mode") if isinstance(body, dict) else None
        if mode not in LOOP_MODES:
            raise BadActionError(f"Send the loop mode as {{\"mode\": \"{'|'.join(LOOP_MODES)}\"}}.")
        return Action(kind, mode)
    if kind == "seek":
        seconds = body.get("position_s") if isinstance(body, dict) else None
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not 0 <= seconds < 1e7:
            raise BadActionError('Send where to jump as {"position_s": seconds from the start}.')
        return Action(kind, float(seconds))
    if kind == "move":
        where = (body.get("from"), body.get("to")) if isinstance(body, dict) else (None, None)
        if not all(_position(p) for p in where):
            raise BadActionError('Send the move as {"from": its position in the queue, "to": the new one} (from 1).')
        return Action(kind, where)
    if kind == "remove":
        position = body.get("position") if isinstance(body, dict) else None
        if not _position(position):
            raise BadActionError('Send the track to remove as {"position": its position in the queue} (from 1).')
        return Action(kind, position)
    if kind == "filters":
        if not isinstance(body, dict):
            raise BadActionError("Send the filters as a JSON object, as Lavalink's /filter takes them.")
        return Action(kind, body)
    if kind == "preset":
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not 0 < len(name) <= 40:
            raise BadActionError('Send the preset as {"name": "nightcore"} (see /filter preset).')
        return Action(kind, name)
    return Action(kind)


def _position(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 10_000
