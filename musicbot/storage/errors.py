"""Errors storage raises; ``str(err)`` is safe to show to the user as is."""

from __future__ import annotations

from musicbot.errors import MusicBotError


class StorageError(MusicBotError):
    """Base of every error from ``musicbot.storage``."""


class StorageUnavailableError(StorageError):
    """The database could not be reached or timed out. Transient: the same call may work later.

    The write-behind outbox retries on this error; a command that reads (``/playlist load``)
    shows the message and the user tries again.
    """

    def __init__(self, detail: str = "", message: str | None = None) -> None:
        self.detail = detail
        super().__init__(message or "The database is not reachable right now; playback goes on. Try again in a minute.")


class InvalidSettingError(StorageError):
    """A setting value is of the wrong type or out of range. ``field`` names the setting."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class PlaylistError(StorageError):
    """Base of every refusal about a user's playlists."""


class PlaylistExistsError(PlaylistError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f'You already have a playlist named "{name}": pick another name or delete that one first.')


class PlaylistNotFoundError(PlaylistError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f'You have no playlist named "{name}"; `/playlist list` shows yours.')


class PlaylistNameError(PlaylistError):
    """The name is empty, too long or has control characters."""


class PlaylistTooLargeError(PlaylistError):
    def __init__(self, count: int, limit: int) -> None:
        self.count = count
        self.limit = limit
        super().__init__(f"A playlist holds at most {limit} tracks; this one would have {count}.")


class PlaylistLimitError(PlaylistError):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"You have {limit} playlists, the most allowed: delete one to save another.")


class EmptyPlaylistError(PlaylistError):
    def __init__(self) -> None:
        super().__init__("There is nothing to save: the queue is empty.")
