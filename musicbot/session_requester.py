"""Who asks a session for music: a Discord member (the bot joins their voice channel when it is in
none), or someone outside Discord (a Telegram user, through the bridge), credited by name.

Someone outside Discord has no voice channel for the bot to join: their tracks play where the bot
already is, so the rule is the session's, said once here (``NotInVoiceForOutsideError``).
"""

from __future__ import annotations

from dataclasses import dataclass

import discord

from musicbot.errors import MusicBotError
from musicbot.i18n import lazy

MAX_NAME_CHARS = 100


@dataclass(frozen=True)
class OutsideRequester:
    """Someone asking from outside Discord. ``name`` is their own text (escape it wherever it is shown);
    ``via`` says where they asked from (``"Telegram"``)."""

    name: str
    via: str

    @property
    def credit(self) -> str:
        """How the queue and the now-playing panel name them: ``"Ann (Telegram)"``."""
        name = " ".join(self.name.split())[:MAX_NAME_CHARS] or "someone"
        return f"{name} ({self.via})"


Requester = discord.Member | OutsideRequester


class NotInVoiceForOutsideError(MusicBotError):
    def __init__(self, via: str) -> None:
        super().__init__(lazy("The bot is not in a voice channel: start the music in Discord first (/play or /join); "
                              "from then on, requests from {via} play in that channel.", via=via))


def credited(requester: Requester) -> tuple[int | None, str | None]:
    """``(requester_id, requester_name)`` for the queue entry."""
    if isinstance(requester, OutsideRequester):
        return None, requester.credit
    return requester.id, None
