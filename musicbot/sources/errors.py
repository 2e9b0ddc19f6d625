"""Errors of ``musicbot.sources``, classified for users: each has a short message and says whether
trying again later may help (``retryable``).

Extractors (yt-dlp, spotipy, HTTP) fail with free-form texts; ``classify_ytdlp_error`` maps them to
these classes so that the bot answers "This video is private" rather than a stack trace.
"""

from __future__ import annotations

import re

from musicbot.errors import MediaError, MusicBotError
from musicbot.i18n import N_, Clause, Text, lazy


class SourceError(MusicBotError):
    """A query could not be resolved or a track could not be streamed. ``str(err)`` is for users."""

    kind = "other"  # the label of musicbot_source_failures_total (see failure_kind)
    retryable: bool = False
    default_message = N_("This could not be played.")

    def __init__(self, message: str | Text | None = None, *, detail: str | None = None) -> None:
        self.detail = detail
        """The extractor's own text, for the log; never shown to users."""
        super().__init__(message or lazy(self.default_message))


class UnavailableError(SourceError):
    kind = "unavailable"
    default_message = N_("This video or track is unavailable (it may have been removed).")


class PrivateError(SourceError):
    kind = "private"
    default_message = N_("This video or playlist is private.")


class AgeRestrictedError(SourceError):
    kind = "age_restricted"
    default_message = N_("This video is age-restricted; the bot needs a signed-in cookies file to play it.")


class RegionBlockedError(SourceError):
    kind = "region_blocked"
    default_message = N_("This is not available in the bot's country.")


class RateLimitedError(SourceError):
    kind = "rate_limited"
    retryable = True
    default_message = N_("The site is rate-limiting the bot; try again in a few minutes.")


class NetworkError(SourceError):
    kind = "network"
    retryable = True
    default_message = N_("A network error stopped this; try again.")


class UnsupportedError(SourceError):
    kind = "unsupported"
    default_message = N_("This link is not supported.")


class NotFoundError(SourceError):
    kind = "not_found"
    default_message = N_("Nothing was found for that.")


class BlockedUrlError(SourceError):
    """The URL points at a private, loopback, link-local, multicast or unspecified address."""

    kind = "blocked_url"
    default_message = N_("That link points at a private or local network address, which the bot refuses to open.")


class PlaylistNotReadableError(SourceError):
    kind = "playlist_not_readable"
    default_message = N_(
        "Spotify does not let the bot read this playlist: since 2026 Spotify only returns the items of "
        "playlists that the bot's app owner owns or collaborates on. Make a copy you own, or share an "
        "album or track link instead."
    )


class SourceDisabledError(SourceError):
    kind = "disabled"
    default_message = N_("That source is turned off on this bot.")


class LocalPathError(SourceError):
    kind = "local_path"
    default_message = N_("That file is not in the bot's music folder.")


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
    return SourceError(lazy("This could not be played (the site returned an unexpected error)."), detail=text)


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


class BadMediaError(MediaError):
    """The file itself is the problem (not audio we can read, damaged, cut short): trying again,
    or from another position, cannot help. ``str(err)`` is for users; ``detail`` for the log."""

    retryable = False

    def __init__(self, message: str | Text, *, detail: str | None = None) -> None:
        self.detail = detail
        super().__init__(message)


NOT_AUDIO = N_("This is not an audio file the bot can read, or it is damaged.")
EMPTY = N_("The file is empty or cut short.")

# FFmpeg's error classes (PyAV's names) → what users read. Matched by name so that this module,
# which every layer imports, stays free of PyAV; HTTP texts such as "Server returned 4XX Client
# Error, but not one of 40{0,1,3,4}" never reach a user.
_FFMPEG_WORDS: dict[str, tuple[str, bool]] = {  # class name → (message, file's fault)
    "InvalidDataError": (NOT_AUDIO, True),
    "PatchWelcomeError": (NOT_AUDIO, True),  # a codec feature FFmpeg lacks: as unreadable to us
    "DecoderNotFoundError": (N_("The file's audio format is not supported."), True),
    "DemuxerNotFoundError": (N_("The file's format is not supported."), True),
    "EOFError": (EMPTY, True),
    "HTTPNotFoundError": (N_("The server says the file is not there (HTTP 404)."), True),
    "HTTPForbiddenError": (N_("The server refused access to the file (HTTP 403)."), True),
    "HTTPUnauthorizedError": (N_("The server wants a login for this file (HTTP 401)."), True),
    "HTTPBadRequestError": (N_("The server refused the request for the file (HTTP 400)."), True),
    "HTTPTooManyRequestsError": (
        N_("The server is rate-limiting the bot (HTTP 429); try again in a few minutes."), False),
    "HTTPOtherClientError": (N_("The server refused the request for the file (an HTTP 4xx error)."), True),
    "HTTPServerError": (N_("The server failed (an HTTP 5xx error); try again later."), False),
    "TimeoutError": (N_("The server did not answer in time; try again later."), False),
}


def media_failure(error: BaseException, *, position_s: float | None = None) -> MediaError:
    """A user-facing ``MediaError`` for a failure of FFmpeg (or PyAV) on a file or stream: at open
    (``position_s`` None) or while playing at ``position_s``. The original text goes to ``detail``.

    Pure function; called from the decoder thread.
    """
    detail = f"{type(error).__name__}: {error}"
    for cls in type(error).__mro__:
        if cls.__name__ in _FFMPEG_WORDS:
            message, files_fault = _FFMPEG_WORDS[cls.__name__]
            break
    else:
        if isinstance(error, ConnectionError):
            message, files_fault = N_("The connection to the server failed; try again later."), False
        elif isinstance(error, UnicodeDecodeError):  # tags that are not text: PyAV refuses the file
            message, files_fault = NOT_AUDIO, True
        else:
            message, files_fault = N_("The file could not be read."), False
    text = lazy(message)
    if position_s is not None:
        text = lazy("Playback stopped at {position}: {reason}", position=clock(position_s), reason=Clause(text))
    return BadMediaError(text, detail=detail) if files_fault else _retryable_media_error(text, detail)


def _retryable_media_error(message: Text, detail: str) -> MediaError:
    error = MediaError(message)
    error.__notes__ = [detail]  # for the log's traceback; the message stays the user's
    return error


def clock(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``) for a position users read."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
