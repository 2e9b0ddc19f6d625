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
    """``server``: the name is taken among the server's playlists, not the member's own."""

    def __init__(self, name: str, *, server: bool = False) -> None:
        self.name = name
        whose = "This server already has" if server else "You already have"
        super().__init__(f'{whose} a playlist named "{name}": pick another name or delete that one first.')


class PlaylistNotFoundError(PlaylistError):
    def __init__(self, name: str, *, server: bool = False) -> None:
        self.name = name
        if server:
            super().__init__(f'This server has no playlist named "{name}"; `/playlist list` shows its playlists.')
        else:
            super().__init__(f'You have no playlist named "{name}"; `/playlist list` shows yours.')


class NoPlaylistHereError(PlaylistError):
    """Nothing of that name among the member's own, the server's or those shared with the server."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f'You have no playlist named "{name}", and neither this server nor its members have one '
                         "shared here; `/playlist list` shows them all.")


class AmbiguousPlaylistError(PlaylistError):
    """Several members shared a playlist of that name with the server."""

    def __init__(self, name: str, count: int) -> None:
        self.name = name
        super().__init__(f'{count} members shared a playlist named "{name}" here: pick one from the suggestions '
                         "as you type the name.")


class NotYourPlaylistError(PlaylistError):
    """The playlist is another member's, shared with the server: only its owner changes it."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f'"{name}" is another member\'s playlist shared here: only they can change it. '
                         "`/playlist export` it and import the file to have a copy of your own.")


class PlaylistNameError(PlaylistError):
    """The name is empty, too long or has control characters."""


class PlaylistTooLargeError(PlaylistError):
    def __init__(self, count: int, limit: int) -> None:
        self.count = count
        self.limit = limit
        super().__init__(f"A playlist holds at most {limit} tracks; this one would have {count}.")


class PlaylistLimitError(PlaylistError):
    def __init__(self, limit: int, *, server: bool = False) -> None:
        self.limit = limit
        whose = "This server has" if server else "You have"
        super().__init__(f"{whose} {limit} playlists, the most allowed: delete one to save another.")


class EmptyPlaylistError(PlaylistError):
    def __init__(self) -> None:
        super().__init__("There is nothing to save: the queue is empty.")


class PlaylistFileError(PlaylistError):
    """A playlist file (``/playlist import``) that can't be read: the message names what is wrong and the fix."""


class PlaylistSourceError(PlaylistError):
    """A link given to ``/playlist import`` that is not a readable playlist."""
