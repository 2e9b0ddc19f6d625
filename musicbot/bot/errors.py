"""Refusals the Discord layer itself raises (voice, DJ, permissions, rate limits).

Every one is a ``MusicBotError``: ``str(err)`` is what the user reads, and it says what to do.
"""

from __future__ import annotations

from musicbot.errors import MusicBotError


class CommandRefusedError(MusicBotError):
    """The user may not run this here and now; the message says why and what to do."""


class NotInVoiceError(CommandRefusedError):
    def __init__(self) -> None:
        super().__init__("Join a voice channel first, then try again.")


class WrongVoiceChannelError(CommandRefusedError):
    def __init__(self, channel_mention: str) -> None:
        super().__init__(f"I'm playing in {channel_mention}. Join it to control the music.")


class NotConnectedError(CommandRefusedError):
    def __init__(self) -> None:
        super().__init__("I'm not in a voice channel. Use /play or /join first.")


class NotDJError(CommandRefusedError):
    def __init__(self, role_mention: str) -> None:
        super().__init__(
            f"This needs the DJ role ({role_mention}), or being alone with me in the voice channel."
        )


class SkipNeedsVoteError(CommandRefusedError):
    """No DJ role: skipping at once is for channel managers, the requester, or whoever is alone with the bot."""

    def __init__(self) -> None:
        super().__init__(
            "Skipping without a vote needs the Manage Channels permission, having asked for this track, "
            "or being alone with me. Use /skip to vote."
        )


class ManageServerRequiredError(CommandRefusedError):
    def __init__(self) -> None:
        super().__init__("Changing server settings needs the Manage Server permission.")


class GuildOnlyError(CommandRefusedError):
    def __init__(self) -> None:
        super().__init__("Music commands work in a server, not in direct messages.")


class RateLimitedError(CommandRefusedError):
    def __init__(self, retry_after_s: float, what: str = "commands") -> None:
        self.retry_after_s = retry_after_s
        super().__init__(f"You're sending {what} too fast. Try again in {max(1, round(retry_after_s))} s.")


class BadTimeError(CommandRefusedError):
    def __init__(self, text: str) -> None:
        super().__init__(
            f"“{text[:40]}” is not a time. Use 1:23, 1:02:03, 90 (seconds), +10 or -15."
        )


class RestartingError(CommandRefusedError):
    """Shutdown has begun (SIGTERM): the music will resume after the restart."""

    def __init__(self) -> None:
        super().__init__("I'm restarting, back in a moment: the music carries on where it was. Try again then.")
