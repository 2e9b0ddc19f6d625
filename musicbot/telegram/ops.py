"""The Telegram bridge's operations on the cluster bus, registered on the dashboard's ``OPS`` (one
registry: both ends of every bus import it) with the dashboard's error kinds (``KINDS``).

Two kinds:
- a guild's, served by whichever bot process runs its shard (``bot/telegram_control.py``): the player
  as Telegram shows it (``STATE``), an action (``ACT``), play (``PLAY``). The bridge asks them for the
  guild its chat is linked to, wherever that guild plays.
- the bridge's own, served node-wide by the process that runs shard 0, where the bridge is
  (``bridge.py``): begin a link (``BEGIN_LINK``), its status (``STATUS``), mention the chat's members
  (``MENTION_ALL``). The Discord cog asks them from any process (``remote.py``).

The player is the dashboard's ``PlayerView`` (the same answer its ``PLAYER`` operation gives), with
what a chat needs besides: who asked for each track by name (a Discord member's display name, or a
Telegram user's) and the plays that ended lately (skipped or finished), for the mirror's events.
"""

from __future__ import annotations

from dataclasses import dataclass

from musicbot.errors import MusicBotError
from musicbot.web.dashboard_ops import OPS
from musicbot.web.player_api import EntryView, PlayerView

MAX_QUERY_CHARS = 500  # as /play's option
ACT_KINDS = ("pause", "resume", "toggle", "skip", "stop", "volume", "preset")


class BridgeRefusal(MusicBotError):
    """What the bridge cannot do now (off, not connected, not in that chat), in words for the user."""


OFF_MESSAGE = ("The Telegram bridge is off: set TELEGRAM_TOKEN to a bot token from @BotFather and restart the bot "
               "(the README's Telegram section says how).")


@dataclass(frozen=True)
class ChatUser:
    """Who sent a command in the linked chat: their Telegram id, their name (their own text: escape it
    wherever it is shown), and whether they are an admin of the chat (asked of Telegram, cached briefly)."""

    user_id: int
    name: str
    chat_admin: bool


@dataclass(frozen=True)
class AskState:
    actor: ChatUser | None  # None: the bridge's own mirror


@dataclass(frozen=True)
class Ended:
    """A play that ended: ``seq`` grows with every end in the process that ran it (the bridge tells
    the new ones by it), ``outcome`` is ``PlayOutcome``'s value."""

    seq: int
    entry_id: int
    title: str
    outcome: str


@dataclass(frozen=True)
class ChatPlayer:
    player: PlayerView
    requesters: dict[int, str]  # entry id → who asked, as a name ("autoplay" for autoplay's picks)
    ended: list[Ended]  # the last few, oldest first


@dataclass(frozen=True)
class ChatAction:
    actor: ChatUser
    kind: str  # one of ACT_KINDS
    # volume: percent; preset: its name; skip: the entry id the button was for (None: whatever plays)
    value: int | str | None = None


@dataclass(frozen=True)
class ChatPlay:
    actor: ChatUser
    query: str


@dataclass(frozen=True)
class ChatQueued:
    entries: list[EntryView]
    state: ChatPlayer


@dataclass(frozen=True)
class LinkRequest:
    guild_id: int
    guild_name: str
    chat_id: int
    user_id: int  # the Discord user who ran /telegram link


@dataclass(frozen=True)
class LinkCode:
    code: str
    chat_title: str
    expires_in_s: float
    bot_username: str


@dataclass(frozen=True)
class StatusRequest:
    chat_id: int | None  # the guild's linked chat, if any: its own problems are told too


@dataclass(frozen=True)
class BridgeStatus:
    state: str  # bridge.BridgeState's value
    since: str | None  # ISO 8601, when it entered that state
    last_error: str | None
    bot_username: str | None
    chat_problem: str | None  # the linked chat's: "removed from the chat since …"


@dataclass(frozen=True)
class MentionRequest:
    guild_id: int
    by: str  # the Discord member's display name
    reason: str


@dataclass(frozen=True)
class Mentioned:
    members: int
    messages: int


STATE = OPS.add("telegram.state", AskState, ChatPlayer)
ACT = OPS.add("telegram.act", ChatAction, ChatPlayer)
PLAY = OPS.add("telegram.play", ChatPlay, ChatQueued)
BEGIN_LINK = OPS.add("telegram.begin_link", LinkRequest, LinkCode)  # node-wide: the bridge's process
STATUS = OPS.add("telegram.status", StatusRequest, BridgeStatus)  # node-wide
MENTION_ALL = OPS.add("telegram.mention_all", MentionRequest, Mentioned)  # node-wide
