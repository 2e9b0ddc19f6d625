"""One small hierarchy of errors whose messages are safe to show to users."""

from __future__ import annotations

from musicbot.i18n import Text


class MusicBotError(Exception):
    """Base of every error the bot reports to a user; ``str(err)`` is the user-facing message."""


class ConfigError(MusicBotError):
    """A setting (environment variable or TOML key) is missing or invalid."""


class FilterConfigError(MusicBotError):
    """A filter object is malformed. ``field`` names the offending JSON path, e.g. ``timescale.speed``."""

    def __init__(self, field: str, problem: str | Text) -> None:
        self.field = field
        self.problem = str(problem)  # English: the dashboard's API and settings errors quote it
        if isinstance(problem, Text):  # translated where it is shown; the field is the JSON key, never translated
            super().__init__(Text("{field}: {problem}", {"field": field, "problem": problem}) if field else problem)
        else:
            super().__init__(f"{field}: {problem}" if field else problem)


class MediaError(MusicBotError):
    """A file or stream could not be opened or decoded."""


class DiscordUnreachableError(MusicBotError):
    """The bot could not log in to Discord (no network, a proxy, or a rejected token)."""
