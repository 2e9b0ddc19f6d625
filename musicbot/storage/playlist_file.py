"""The playlist file of ``/playlist export`` and ``/playlist import``: versioned JSON, one track a line.

::

    {
      "format": "musicbot-playlist",
      "version": 1,
      "name": "Road trip",
      "exported_at": "2027-02-03T10:00:00+00:00",
      "generator": "musicbot 0.9.0",
      "tracks": [
        {"title": "Song", "artist": "Band", "url": "https://youtu.be/…", "duration_s": 215.0, "source": "youtube"},
        …
      ]
    }

A track needs ``title`` and ``url``; ``artist``, ``duration_s`` (seconds, null when live or unknown),
``source``, ``album``, ``isrc``, ``thumbnail_url``, ``is_live``, ``genre`` and ``tags`` are optional.
Keys this version does not know are ignored (a later version 1 file may carry more); another
``version`` is refused, naming it. A file is read whole or not at all: the first problem is reported
with the track's number and the field, and nothing is saved.

A file is someone's claim, not a resolved source, so a track's ``id`` (the key of the play caches and
of duplicate checks) is never taken from it: it is made from the link (``track_id_for``), as a link
pasted into ``/play`` would be. Where a track plays from is checked when it plays, as for any link
(private addresses refused, local files only inside the music folder).
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from musicbot.i18n import lazy
from musicbot.storage.errors import PlaylistFileError
from musicbot.storage.playlists import MAX_TRACKS
from musicbot.track import Track

FORMAT = "musicbot-playlist"
VERSION = 1
MAX_FILE_BYTES = 2 * 1024 * 1024  # a 1000-track export is about 0.4 MB; parsing holds the GIL (~5 ms a MB)
MAX_TEXT = 1000  # characters of a title, artist, album or genre
MAX_URL = 4096
MAX_TAGS = 50
_SOURCE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,31}")
_ISRC = re.compile(r"[A-Za-z0-9]{1,20}")
_YOUTUBE_HOSTS = ("youtube.com", "youtu.be", "youtube-nocookie.com")
_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SPOTIFY_TRACK = re.compile(r"https://open\.spotify\.com/(?:intl-[a-z-]+/)?track/([A-Za-z0-9]{22})(?:[/?#].*)?")
_DIRECT = ("http", "radio", "attachment")  # played by the HTTP backend, not yt-dlp (resolver.py)


@dataclass(frozen=True)
class PlaylistFile:
    """A file's playlist: ``name`` as written in it (not checked: the importer may give another)."""

    name: str | None
    tracks: tuple[Track, ...]


@dataclass(frozen=True)
class RawPlaylist:
    """A file's header checked, its tracks not yet (``read_track`` each, so a long file can report progress)."""

    name: str | None
    items: tuple[object, ...]


def encode_playlist(name: str, tracks: Sequence[Track], *, exported_at: datetime, generator: str) -> bytes:
    """The file's bytes: the header pretty, each track one line (readable, and small)."""
    header = {"format": FORMAT, "version": VERSION, "name": name, "exported_at": exported_at.isoformat(),
              "generator": generator}
    lines = [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in header.items()]
    items = ",\n".join("    " + json.dumps(track_item(t), ensure_ascii=False) for t in tracks)
    text = "{\n" + "\n".join(lines) + '\n  "tracks": [\n' + items + "\n  ]\n}\n"
    return text.encode("utf-8")


def track_item(track: Track) -> dict[str, Any]:
    """One track as the file writes it: the fields that say what to play and how it reads; optional ones
    only when set."""
    item: dict[str, Any] = {"title": track.title, "artist": track.artist, "url": track.url,
                            "duration_s": track.duration_s, "source": track.source}
    optional = {"album": track.album, "isrc": track.isrc, "thumbnail_url": track.thumbnail_url,
                "genre": track.genre, "is_live": track.is_live or None, "tags": list(track.tags) or None}
    item.update({k: v for k, v in optional.items() if v is not None})
    return item


def read_header(data: bytes, filename: str = "the file") -> RawPlaylist:
    """The header checked (size, JSON, format, version, track list and its length); ``PlaylistFileError``."""
    file = filename  # quoted “…” in each message
    if len(data) > MAX_FILE_BYTES:
        raise PlaylistFileError(lazy("“{file}” is {size}; a playlist file is at most {max}. Split the playlist, or "
                                     "import its link instead.", file=file, size=_megabytes(len(data)),
                                     max=_megabytes(MAX_FILE_BYTES)))
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise PlaylistFileError(lazy("“{file}” is not text (UTF-8): attach the .json file /playlist export made.",
                                     file=file)) from None
    except json.JSONDecodeError as err:
        raise PlaylistFileError(lazy("“{file}” is not valid JSON (line {line}, column {column}: {problem}). Attach "
                                     "the file /playlist export made, unchanged, or fix it there.", file=file,
                                     line=str(err.lineno), column=str(err.colno), problem=err.msg)) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise PlaylistFileError(lazy('“{file}” is not a musicbot playlist (it has no "format": "{format}"). Attach a '
                                     "file made by /playlist export, or import a playlist link instead.", file=file,
                                     format=FORMAT))
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version != VERSION:
        if isinstance(version, int) and not isinstance(version, bool) and version > VERSION:
            raise PlaylistFileError(lazy("“{file}” is format version {version}, made by a newer musicbot; this bot "
                                         "reads version {supported}. Update the bot, or export the playlist again "
                                         "from a bot of this version.", file=file, version=str(version),
                                         supported=str(VERSION)))
        raise PlaylistFileError(lazy('“{file}” has an unknown format version ({version}); this bot reads "version": '
                                     "{supported}. Export the playlist again with /playlist export.", file=file,
                                     version=_shown(version), supported=str(VERSION)))
    name = document.get("name")
    tracks = document.get("tracks")
    if not isinstance(tracks, list):
        raise PlaylistFileError(lazy('“{file}” has no "tracks" list. Export the playlist again with /playlist export.',
                                     file=file))
    if not tracks:
        raise PlaylistFileError(lazy("“{file}” has no tracks: there is nothing to import.", file=file))
    if len(tracks) > MAX_TRACKS:
        raise PlaylistFileError(lazy("“{file}” has {count} tracks; a playlist holds at most {max}. Split it into "
                                     "smaller files.", file=file, count=len(tracks), max=MAX_TRACKS))
    return RawPlaylist(name if isinstance(name, str) else None, tuple(tracks))


def read_track(number: int, item: object) -> Track:
    """Track ``number`` (1-based) of a file; ``PlaylistFileError`` naming it and the field."""
    where = lazy("Track {number} in the file", number=number)
    if not isinstance(item, Mapping):
        raise PlaylistFileError(lazy("{where} is not a track (an object with a title and a url). Fix or remove it.",
                                     where=where))
    source = _source(item, where)
    url = _url(item, where, source)
    is_live = _bool(item, "is_live", where)
    duration = _duration(item, where)
    try:
        return Track(
            id=track_id_for(source, url),
            title=_text(item, "title", where, required=True) or "",
            artist=_text(item, "artist", where) or "",
            duration_s=None if is_live else duration,
            url=url,
            thumbnail_url=_web_link(item, "thumbnail_url", where),
            is_live=is_live,
            source=source,
            tags=_tags(item, where),
            genre=_text(item, "genre", where),
            isrc=_isrc(item, where),
            album=_text(item, "album", where),
        )
    except ValueError as err:  # Track's own checks; every field was checked above, so this is a bug
        raise PlaylistFileError(lazy("{where} can't be read: {problem}", where=where, problem=str(err))) from err


def decode_playlist(data: bytes, filename: str = "the file") -> PlaylistFile:
    """A whole file at once (``read_header`` then ``read_track`` for each)."""
    raw = read_header(data, filename)
    return PlaylistFile(raw.name, tuple(read_track(i, item) for i, item in enumerate(raw.items, 1)))


def track_id_for(source: str, url: str) -> str:
    """The id a track of this link gets: the same as a link pasted into /play for YouTube videos and Spotify
    tracks (so duplicates and history match), else the link itself under its source."""
    if source == "spotify" and (match := _SPOTIFY_TRACK.fullmatch(url)):
        return f"spotify:{match[1]}"
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if any(host == h or host.endswith("." + h) for h in _YOUTUBE_HOSTS):
        video = parse_qs(parts.query).get("v", [""])[0]
        if not video and (host == "youtu.be" or parts.path.startswith(("/shorts/", "/live/", "/embed/"))):
            video = parts.path.rstrip("/").rsplit("/", 1)[-1]
        if _VIDEO_ID.fullmatch(video):
            return f"youtube:{video}"
    return f"{source}:{url}" if source in ("local", *_DIRECT) else f"url:{url}"


def export_filename(name: str) -> str:
    """``Road trip`` → ``road-trip.musicbot-playlist.json`` (ASCII: every client shows and saves it alike)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", ascii_name).strip("-").lower()[:40].strip("-")
    return f"{slug or 'playlist'}.musicbot-playlist.json"


# ---------------------------------------------------------------- one field each
def _text(item: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    value = item.get(key)
    if value is None or (value == "" and not required):
        if required:
            raise PlaylistFileError(lazy('{where} has no "{key}". Add one, or remove that track.', where=where,
                                         key=key))
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise PlaylistFileError(lazy('{where}: "{key}" must be text, not {value}.', where=where, key=key,
                                     value=_shown(value)))
    if len(value) > MAX_TEXT:
        raise PlaylistFileError(lazy('{where}: "{key}" is {length} characters; at most {max}.', where=where, key=key,
                                     length=len(value), max=MAX_TEXT))
    return value


def _source(item: Mapping[str, Any], where: str) -> str:
    value = item.get("source")
    if value is None:  # a hand-written file: what the link says (yt-dlp's generic extractor takes any page)
        url = item.get("url")
        if isinstance(url, str) and _SPOTIFY_TRACK.fullmatch(url.strip()):
            return "spotify"
        if isinstance(url, str) and track_id_for("youtube", url.strip()).startswith("youtube:"):
            return "youtube"
        return "generic"
    if not isinstance(value, str) or not _SOURCE.fullmatch(value):
        raise PlaylistFileError(lazy('{where}: "source" must be a source name such as "youtube", "spotify" or '
                                     '"soundcloud", not {value}.', where=where, value=_shown(value)))
    return value


def _url(item: Mapping[str, Any], where: str, source: str) -> str:
    url = item.get("url")
    if not isinstance(url, str) or not url.strip():
        raise PlaylistFileError(lazy('{where} has no "url" (the link to play). Add it, or remove that track.',
                                     where=where))
    url = url.strip()
    if len(url) > MAX_URL:
        raise PlaylistFileError(lazy('{where}: "url" is {length} characters; at most {max}.', where=where,
                                     length=len(url), max=MAX_URL))
    if source == "local":  # a file in the music folder: a path or a file:// link, checked when it plays
        if "://" in url and not url.startswith("file://"):
            raise PlaylistFileError(lazy('{where}: a local track\'s "url" is a path in the music folder, not {url}.',
                                         where=where, url=url[:80]))
        return url
    if source == "spotify" and not _SPOTIFY_TRACK.fullmatch(url):
        raise PlaylistFileError(lazy('{where}: a Spotify track\'s "url" must be its https://open.spotify.com/track/… '
                                     "link.", where=where))
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise PlaylistFileError(lazy('{where}: "url" must be a web link (http or https), not {url}.', where=where,
                                     url=url[:80]))
    return url


def _web_link(item: Mapping[str, Any], key: str, where: str) -> str | None:
    value = item.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_URL or urlsplit(value).scheme not in ("http", "https"):
        raise PlaylistFileError(lazy('{where}: "{key}" must be a web link (http or https) or null.', where=where,
                                     key=key))
    return value


def _duration(item: Mapping[str, Any], where: str) -> float | None:
    value = item.get("duration_s")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise PlaylistFileError(lazy('{where}: "duration_s" must be seconds (a number ≥ 0) or null, not {value}.',
                                     where=where, value=_shown(value)))
    return float(value)


def _bool(item: Mapping[str, Any], key: str, where: str) -> bool:
    value = item.get(key, False)
    if not isinstance(value, bool):
        raise PlaylistFileError(lazy('{where}: "{key}" must be true or false, not {value}.', where=where, key=key,
                                     value=_shown(value)))
    return value


def _isrc(item: Mapping[str, Any], where: str) -> str | None:
    value = item.get("isrc")
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _ISRC.fullmatch(value):
        raise PlaylistFileError(lazy('{where}: "isrc" must be an ISRC code (letters and digits), not {value}.',
                                     where=where, value=_shown(value)))
    return value


def _tags(item: Mapping[str, Any], where: str) -> tuple[str, ...]:
    value = item.get("tags")
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_TAGS or not all(
            isinstance(t, str) and len(t) <= 100 for t in value):
        raise PlaylistFileError(lazy('{where}: "tags" must be a list of at most {max} short texts.', where=where,
                                     max=MAX_TAGS))
    return tuple(value)


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False) if value is not None else "null"
    return text if len(text) <= 40 else text[:39] + "…"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
