"""Errors of ``musicbot.sources``, classified for users: each has a short message and says whether
trying again later may help (``retryable``).

Extractors (yt-dlp, spotipy, HTTP) fail with free-form texts; ``classify_ytdlp_error`` maps them to
these classes so that the bot answers "This video is private" rather than a stack trace.
"""

from __future__ import annotations

import re

from musicbot.errors import MediaError, MusicBotError


class SourceError(MusicBotError):
    """A query could not be resolved or a track could not be streamed. ``str(err)`` is for users."""

    kind = "other"  # the label of musicbot_source_failures_total (see failure_kind)
    retryable: bool = False
    default_message = "This could not be played."

    def __init__(self, message: str | None = None, *, detail: str | None = None) -> None:
        self.detail = detail
        """The extractor's own text, for the log; never shown to users."""
        super().__init__(message or self.default_message)


class UnavailableError(SourceError):
    kind = "unavailable"
    default_message = "This video or track is unavailable (it may have been removed)."


class PrivateError(SourceError):
    kind = "private"
    default_message = "This video or playlist is private."


class AgeRestrictedError(SourceError):
    kind = "age_restricted"
    default_message = "This video is age-restricted; the bot needs a signed-in cookies file to play it."


class RegionBlockedError(SourceError):
    kind = "region_blocked"
    default_message = "This is not available in the bot's country."


class RateLimitedError(SourceError):
    kind = "rate_limited"
    retryable = True
    default_message = "The site is rate-limiting the bot; try again in a few minutes."


class NetworkError(SourceError):
    kind = "network"
    retryable = True
    default_message = "A network error stopped this; try again."


class UnsupportedError(SourceError):
    kind = "unsupported"
    default_message = "This link is not supported."


class NotFoundError(SourceError):
    kind = "not_found"
    default_message = "Nothing was found for that."


class BlockedUrlError(SourceError):
    """The URL points at a private, loopback, link-local, multicast or unspecified address."""

    kind = "blocked_url"
    default_message = "That link points at a private or local network address, which the bot refuses to open."


class PlaylistNotReadableError(SourceError):
    kind = "playlist_not_readable"
    default_message = (
        "Spotify does not let the bot read this playlist: since 2026 Spotify only returns the items of "
        "playlists that the bot's app owner owns or collaborates on. Make a copy you own, or share an "
        "album or track link instead."
    )


class SourceDisabledError(SourceError):
    kind = "disabled"
    default_message = "That source is turned off on this bot."


class LocalPathError(SourceError):
    kind = "local_path"
    default_message = "That file is not in the bot's music folder."


# Order matters: the first match wins, and the specific texts come before the generic ones.
_YTDLP_RULES: tuple[tuple[re.Pattern[str], type[SourceError]], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), cls)
    for pattern, cls in (
        (r"sign in to confirm (your|you.re) age|age.restricted|inappropriate for some users", AgeRestrictedError),
        (r"private video|this video is private|playlist is private|private playlist", PrivateError),
        (r"available (in|from) your (country|location)|geo.?restrict|blocked it in your country",
         RegionBlockedError),
        (r"http error 429|too many requests|rate.?limit|sign in to confirm you.re not a bot", RateLimitedError),
        (r"unsupported url|no suitable extractor|is not a valid url", UnsupportedError),
        (r"video unavailable|has been removed|no longer available|does not exist|http error 404|"
         r"account associated with this video has been terminated|this track is not available",
         UnavailableError),
        (r"unable to download webpage|connection (reset|refused|aborted)|timed out|temporary failure|"
         r"name or service not known|network is unreachable|http error 5\d\d|urlopen error|"
         r"remote end closed|eof occurred|transporterror|ssl", NetworkError),
    )
)


def classify_ytdlp_error(exc: BaseException) -> SourceError:
    """Map a yt-dlp ``DownloadError`` (or any extractor exception) to a user-facing ``SourceError``.

    Pure function; called from whichever thread caught the exception.
    """
    if isinstance(exc, SourceError):
        return exc
    text = str(exc)
    for pattern, cls in _YTDLP_RULES:
        if pattern.search(text):
            return cls(detail=text)
    return SourceError("This could not be played (the site returned an unexpected error).", detail=text)


STREAM_FAILURE = "stream"
"""The kind of a ``MediaError``: a stream that could not be opened or decoded, or was given up mid-track."""

SOURCE_FAILURE_KINDS: tuple[str, ...] = (
    *(cls.kind for cls in (
        SourceError, UnavailableError, PrivateError, AgeRestrictedError, RegionBlockedError, RateLimitedError,
        NetworkError, UnsupportedError, NotFoundError, BlockedUrlError, PlaylistNotReadableError,
        SourceDisabledError, LocalPathError,
    )),
    STREAM_FAILURE,
)
"""Every value ``failure_kind`` returns (the ``kind`` label of ``musicbot_source_failures_total``)."""


def failure_kind(error: BaseException) -> str:
    """A short, fixed name for what went wrong with a source: the ``SourceError`` class's ``kind``,
    ``"stream"`` for a ``MediaError``, ``"other"`` for anything else."""
    if isinstance(error, SourceError):
        return error.kind
    if isinstance(error, MediaError):
        return STREAM_FAILURE
    return SourceError.kind
