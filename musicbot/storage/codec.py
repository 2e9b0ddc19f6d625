"""``Track`` ⇄ JSON objects, as stored in JSON columns (playlists, history, snapshots).

Reading is lenient about keys a newer or older version added or left out, so a database
written by another version of the bot still loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from musicbot.track import Track


def track_to_json(track: Track) -> dict[str, Any]:
    return {
        "id": track.id,
        "title": track.title,
        "artist": track.artist,
        "duration_s": track.duration_s,
        "url": track.url,
        "thumbnail_url": track.thumbnail_url,
        "is_live": track.is_live,
        "source": track.source,
        "tags": list(track.tags),
        "genre": track.genre,
        "isrc": track.isrc,
        "album": track.album,
    }


def track_from_json(obj: Mapping[str, Any]) -> Track:
    duration = obj.get("duration_s")
    return Track(
        id=str(obj["id"]),
        title=str(obj.get("title", "")),
        artist=str(obj.get("artist", "")),
        duration_s=None if duration is None else float(duration),
        url=str(obj.get("url", "")),
        thumbnail_url=_opt_str(obj.get("thumbnail_url")),
        is_live=bool(obj.get("is_live", False)),
        source=str(obj.get("source", "youtube")),
        tags=tuple(str(t) for t in obj.get("tags") or ()),
        genre=_opt_str(obj.get("genre")),
        isrc=_opt_str(obj.get("isrc")),
        album=_opt_str(obj.get("album")),
    )


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)
