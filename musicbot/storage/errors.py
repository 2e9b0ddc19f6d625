"""Errors storage raises; ``str(err)`` is safe to show to the user as is (English; ``localized(err)`` in the
reader's language)."""

from __future__ import annotations

from musicbot.errors import MusicBotError
from musicbot.i18n import Text, lazy


class StorageError(MusicBotError):
    """Base of every error from ``musicbot.storage``."""


class StorageUnavailableError(StorageError):
    """The database could not be reached or timed out. Transient: the same call may work later.

    The write-behind outbox retries on this error; a command that reads (``/playlist load``)
    shows the message and the user tries again.
    """

    def __init__(self, detail: str = "", message: str | Text | None = None) -> None:
        self.detail = detail
        super().__init__(message or lazy("The database is not reachable right now; playback goes on. "
                                         "Try again in a minute."))


class InvalidSettingError(StorageError):
    """A setting value is of the wrong type or out of range. ``field`` names the setting."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        # A translatable problem (``lazy``) stays so; the field is the setting's key, the same in every language.
        super().__init__(Text("{field}: {problem}", {"field": field, "problem": problem}))


class PlaylistError(StorageError):
    """Base of every refusal about a user's playlists."""


class PlaylistExistsError(PlaylistError):
    """``server``: the name is taken among the server's playlists, not the member's own."""

    def __init__(self, name: str, *, server: bool = False) -> None:
        self.name = name
        if server:
            super().__init__(lazy('This server already has a playlist named "{name}": pick another name or delete '
                                  "that one first.", name=name))
        else:
            super().__init__(lazy('You already have a playlist named "{name}": pick another name or delete that '
                                  "one first.", name=name))


class PlaylistNotFoundError(PlaylistError):
    def __init__(self, name: str, *, server: bool = False) -> None:
        self.name = name
        if server:
            super().__init__(lazy('This server has no playlist named "{name}"; `/playlist list` shows its playlists.',
                                  name=name))
        else:
            super().__init__(lazy('You have no playlist named "{name}"; `/playlist list` shows yours.', name=name))


class NoPlaylistHereError(PlaylistError):
    """Nothing of that name among the member's own, the server's or those shared with the server."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(lazy('You have no playlist named "{name}", and neither this server nor its members have one '
                              "shared here; `/playlist list` shows them all.", name=name))


class AmbiguousPlaylistError(PlaylistError):
    """Several members shared a playlist of that name with the server."""

    def __init__(self, name: str, count: int) -> None:
        self.name = name
        super().__init__(lazy('{count} members shared a playlist named "{name}" here: pick one from the suggestions '
                              "as you type the name.", count=count, name=name))


class NotYourPlaylistError(PlaylistError):
    """The playlist is another member's, shared with the server: only its owner changes it."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(lazy('"{name}" is another member\'s playlist shared here: only they can change it. '
                              "`/playlist export` it and import the file to have a copy of your own.", name=name))


class PlaylistNameError(PlaylistError):
    """The name is empty, too long or has control characters."""


class PlaylistTooLargeError(PlaylistError):
    def __init__(self, count: int, limit: int) -> None:
        self.count = count
        self.limit = limit
        super().__init__(lazy("A playlist holds at most {limit} tracks; this one would have {count}.", limit=limit,
                              count=count))


class PlaylistLimitError(PlaylistError):
    def __init__(self, limit: int, *, server: bool = False) -> None:
        self.limit = limit
        if server:
            super().__init__(lazy("This server has {limit} playlists, the most allowed: delete one to save another.",
                                  limit=limit))
        else:
            super().__init__(lazy("You have {limit} playlists, the most allowed: delete one to save another.",
                                  limit=limit))


class EmptyPlaylistError(PlaylistError):
    def __init__(self) -> None:
        super().__init__(lazy("There is nothing to save: the queue is empty."))


class PlaylistFileError(PlaylistError):
    """A playlist file (``/playlist import``) that can't be read: the message names what is wrong and the fix."""


class PlaylistSourceError(PlaylistError):
    """A link given to ``/playlist import`` that is not a readable playlist."""
