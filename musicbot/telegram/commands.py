"""What a Telegram message or button asks for, as a value: parsed and checked once, here, so the
handlers (``handlers.py``) match on values and every bad input gets its own clear answer.

Commands are ``/name args`` or, in groups, ``/name@botname args``: a command addressed to another
bot is not ours (``None``), and neither is plain text. Buttons carry a short ``callback_data`` (at
most 64 bytes, Telegram's limit) made by ``button_data`` and read back by ``parse_button``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from musicbot.dsp.presets import EQ_PRESETS, FILTER_PRESETS

MAX_QUERY_CHARS = 500
MAX_VOLUME_PERCENT = 200
MAX_CALLBACK_BYTES = 64
FILTERS_OFF = "off"


@dataclass(frozen=True)
class Play:
    query: str


@dataclass(frozen=True)
class ShowQueue:
    page: int  # from 1


@dataclass(frozen=True)
class NowPlaying:
    pass


@dataclass(frozen=True)
class Pause:
    pass


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class Skip:
    pass


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class Volume:
    percent: int


@dataclass(frozen=True)
class Filter:
    preset: str  # a key of the filter or EQ presets, or FILTERS_OFF


@dataclass(frozen=True)
class Listeners:
    pass


@dataclass(frozen=True)
class ChatId:
    pass


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Confirm:
    code: str


@dataclass(frozen=True)
class BadInput:
    """A command of ours with arguments that do not fit: ``message`` says what would."""

    message: str


Command = (Play | ShowQueue | NowPlaying | Pause | Resume | Skip | Stop | Volume | Filter | Listeners | ChatId | Help
           | Confirm)

PRESETS = sorted({*FILTER_PRESETS, *EQ_PRESETS, FILTERS_OFF})
# (name, what it does) for /help and Telegram's command menu (setMyCommands), in that order.
MENU: tuple[tuple[str, str], ...] = (
    ("play", "Play or queue a song: words or a link"),
    ("np", "What is playing now"),
    ("queue", "The queue, page by page"),
    ("pause", "Pause the music"),
    ("resume", "Resume the music"),
    ("skip", "Skip to the next track"),
    ("stop", "Stop and clear the queue"),
    ("volume", "Set the volume, 0-200"),
    ("filter", "A sound preset, e.g. nightcore (off: none)"),
    ("list", "Who is listening in the voice channel"),
    ("id", "This chat's id, for /telegram link in Discord"),
    ("help", "What the bot can do here"),
)

_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,64}))?(?:\s+(.*))?$", re.S)


def parse(text: str | None, bot_username: str) -> Command | BadInput | None:
    """The command ``text`` is, for the bot ``bot_username``; None when it is none of ours."""
    if not text or not text.startswith("/"):
        return None
    match = _COMMAND.match(text.strip())
    if match is None:
        return None
    name, to, rest = match.group(1).lower(), match.group(2), (match.group(3) or "").strip()
    if to is not None and to.lower() != bot_username.lower():
        return None  # for another bot in the group
    if name in ("help", "start"):
        return Help()
    if name == "id":
        return ChatId()
    if name in ("np", "nowplaying"):
        return NowPlaying()
    if name in ("list", "listeners"):
        return Listeners()
    simple: dict[str, Command] = {"pause": Pause(), "resume": Resume(), "skip": Skip(), "stop": Stop()}
    if name in simple:
        return simple[name]
    if name == "play":
        return _play(rest)
    if name == "queue":
        return _queue(rest)
    if name == "volume":
        return _volume(rest)
    if name == "filter":
        return _filter(rest)
    if name == "confirm":
        code = normalized_code(rest)
        return Confirm(code) if code else BadInput("Send the code Discord showed: /confirm CODE")
    return None  # not a command of ours: a group may have other bots


def _play(rest: str) -> Play | BadInput:
    if not rest:
        return BadInput("What should I play? Send /play with words or a link, e.g. /play never gonna give you up")
    if len(rest) > MAX_QUERY_CHARS:
        return BadInput(f"That is too long: up to {MAX_QUERY_CHARS} characters of words or a link.")
    return Play(" ".join(rest.split()))


def _queue(rest: str) -> ShowQueue | BadInput:
    if not rest:
        return ShowQueue(1)
    if not rest.isdigit() or not 1 <= int(rest) <= 1000:
        return BadInput("Send /queue, or /queue with a page number, e.g. /queue 2")
    return ShowQueue(int(rest))


def _volume(rest: str) -> Volume | BadInput:
    number = rest.removesuffix("%").strip()
    if not number.isdigit() or not 0 <= int(number) <= MAX_VOLUME_PERCENT:
        return BadInput(f"Send the volume as a number from 0 to {MAX_VOLUME_PERCENT}, e.g. /volume 80")
    return Volume(int(number))


def _filter(rest: str) -> Filter | BadInput:
    key = rest.strip().lower()
    if key not in PRESETS:
        return BadInput(f"Send a preset: /filter nightcore. Presets: {', '.join(PRESETS)}.")
    return Filter(key)


def normalized_code(text: str) -> str:
    """A typed code as issued: upper case, without spaces or dashes."""
    return re.sub(r"[\s-]", "", text).upper()[:32]


# ---------------------------------------------------------------- buttons
@dataclass(frozen=True)
class TogglePause:
    entry_id: int  # the track the button was shown for


@dataclass(frozen=True)
class SkipTrack:
    entry_id: int


@dataclass(frozen=True)
class StopButton:
    pass


@dataclass(frozen=True)
class QueuePage:
    page: int


Button = TogglePause | SkipTrack | StopButton | QueuePage


def button_data(button: Button) -> str:
    if isinstance(button, TogglePause):
        data = f"p:{button.entry_id}"
    elif isinstance(button, SkipTrack):
        data = f"s:{button.entry_id}"
    elif isinstance(button, StopButton):
        data = "x"
    else:
        data = f"q:{button.page}"
    assert len(data.encode()) <= MAX_CALLBACK_BYTES
    return data


def parse_button(data: str | None) -> Button | None:
    """The button ``data`` came from; None for data this bot never made (an old or forged button)."""
    match = re.fullmatch(r"([psq]):(\d{1,18})|x", data or "")
    if match is None:
        return None
    if match.group(0) == "x":
        return StopButton()
    number = int(match.group(2))
    if match.group(1) == "p":
        return TogglePause(number)
    return SkipTrack(number) if match.group(1) == "s" else QueuePage(number)
