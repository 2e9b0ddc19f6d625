"""Refusals the Discord layer itself raises (voice, DJ, permissions, rate limits).

Every one is a ``MusicBotError`` whose message says what to do: ``localized(err)`` in the reader's
language (``musicbot.i18n``), ``str(err)`` in English.
"""

from __future__ import annotations

from musicbot.errors import MusicBotError
from musicbot.i18n import Text, lazy


class CommandRefusedError(MusicBotError):
    """The user may not run this here and now; the message says why and what to do."""


class NotInVoiceError(CommandRefusedError):
    def __init__(self) -> None:
        super().__init__(lazy("Join a voice channel first, then try again."))


class WrongVoiceChannelError(CommandRefusedError):
    def __init__(self, channel_mention: str) -> None:
        super().__init__(lazy("I'm playing in {channel}. Join it to control the music.", channel=channel_mention))


class NotConnectedError(CommandRefusedError):
    def __init__(self) -> None:
        super().__init__(lazy("I'm not in a voice channel. Use /play or /join first."))


class NotDJError(CommandRefusedError):
    def __init__(self, role_mention: str | Text) -> None:
        super().__init__(lazy("This needs the DJ role ({role}), or being alone with me in the voice channel.",
                              role=role_mention))


class SkipNeedsVoteError(CommandRefusedError):
    """No DJ role: skipping at once is for channel managers, the requester, or whoever is alone with the bot."""

    def __init__(self) -> None:
        super().__init__(lazy("Skipping without a vote needs the Manage Channels permission, having asked for this "
                              "track, or being alone with me. Use /skip to vote."))


class ManageServerRequiredError(CommandRefusedError):
    def __init__(self) -> None:
        super().__init__(lazy("Changing server settings needs the Manage Server permission."))


class GuildOnlyError(CommandRefusedError):
    def __init__(self) -> None:
        super().__init__(lazy("Music commands work in a server, not in direct messages."))


class RateLimitedError(CommandRefusedError):
    def __init__(self, retry_after_s: float, what: str = "commands") -> None:
        self.retry_after_s = retry_after_s
        seconds = max(1, round(retry_after_s))
        if what == "clicks":
            message = lazy("You're sending clicks too fast. Try again in {seconds} s.", seconds=seconds)
        elif what == "commands":
            message = lazy("You're sending commands too fast. Try again in {seconds} s.", seconds=seconds)
        else:  # the dashboard's "requests": its API answers in English
            message = Text("You're sending {what} too fast. Try again in {seconds} s.", {"what": what,
                                                                                          "seconds": seconds})
        super().__init__(message)


class BadTimeError(CommandRefusedError):
    def __init__(self, text: str) -> None:
        super().__init__(lazy("“{text}” is not a time. Use 1:23, 1:02:03, 90 (seconds), +10 or -15.", text=text[:40]))


class RestartingError(CommandRefusedError):
    """Shutdown has begun (SIGTERM): the music will resume after the restart."""

    def __init__(self) -> None:
        super().__init__(lazy("I'm restarting, back in a moment: the music carries on where it was. Try again then."))
