"""A local fake of LRCLIB (``/api/get`` and ``/api/search``), as the bot uses it: point
``MUSICBOT_LYRICS_API`` at ``fake.base_url``. ``add`` a record; ``get`` matches the track and
artist names exactly (case-insensitive) and the duration within 2 s, as LRCLIB does; ``search``
matches words of the title. Can go down (``tests/harness/fake_service.py``)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .fake_service import FakeService, json_answer


def lrc(*lines: tuple[float, str]) -> str:
    """LRC text for (seconds, words) pairs: ``[mm:ss.xx]words`` per line."""
    return "\n".join(f"[{int(t // 60):02d}:{t % 60:05.2f}]{words}" for t, words in lines)


class FakeLrclib(FakeService):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict[str, Any]] = []

    def add(self, track: str, artist: str, duration_s: float, *, synced: str | None = None,
            plain: str | None = None, album: str = "", instrumental: bool = False) -> dict[str, Any]:
        record = {"id": len(self.records) + 1, "name": track, "trackName": track, "artistName": artist,
                  "albumName": album, "duration": duration_s, "instrumental": instrumental,
                  "plainLyrics": plain, "syncedLyrics": synced}
        self.records.append(record)
        return record

    def answer(self, path: str, query: dict[str, str]) -> web.Response:
        if path == "/api/get":
            title, artist = query.get("track_name", "").lower(), query.get("artist_name", "").lower()
            duration = float(query["duration"]) if "duration" in query else None
            for record in self.records:
                if (record["trackName"].lower() == title and record["artistName"].lower() == artist
                        and (duration is None or abs(record["duration"] - duration) <= 2)):
                    return json_answer(record)
            return json_answer({"code": 404, "name": "TrackNotFound", "message": "Failed to find specified track"},
                               404)
        if path == "/api/search":
            words = (query.get("track_name") or query.get("q") or "").lower().split()
            return json_answer([r for r in self.records
                                if words and all(w in r["trackName"].lower() for w in words)])
        return json_answer({"code": 404, "name": "NotFound", "message": "fake: no such route"}, 404)
