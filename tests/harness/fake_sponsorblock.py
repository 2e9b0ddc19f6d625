"""A local fake of SponsorBlock's hashed-prefix lookup (``/api/skipSegments/{prefix}``), as the bot uses
it: point ``MUSICBOT_SPONSORBLOCK_API`` at ``fake.base_url``. ``add`` segments for a video id; the answer
lists every video whose SHA-256 starts with the prefix (as the real one does: the client must pick its
own), filtered by the ``categories`` asked for; 404 when none. Can go down (``fake_service.py``)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aiohttp import web

from .fake_service import FakeService, json_answer


class FakeSponsorBlock(FakeService):
    def __init__(self) -> None:
        super().__init__()
        self.videos: dict[str, list[dict[str, Any]]] = {}

    def add(self, video_id: str, start_s: float, end_s: float, category: str = "sponsor") -> None:
        self.videos.setdefault(video_id, []).append({
            "category": category, "actionType": "skip", "segment": [start_s, end_s],
            "UUID": hashlib.sha256(f"{video_id}{start_s}".encode()).hexdigest(), "votes": 3, "locked": 0,
            "videoDuration": 0,
        })

    def answer(self, path: str, query: dict[str, str]) -> web.Response:
        prefix = path.removeprefix("/api/skipSegments/")
        if prefix == path or not 4 <= len(prefix) <= 32:
            return json_answer({"message": "fake: no such route"}, 404)
        categories = json.loads(query.get("categories", '["sponsor"]'))
        found = []
        for video_id, segments in self.videos.items():
            digest = hashlib.sha256(video_id.encode()).hexdigest()
            chosen = [s for s in segments if s["category"] in categories]
            if digest.startswith(prefix) and chosen:
                found.append({"videoID": video_id, "hash": digest, "segments": chosen})
        return json_answer(found) if found else web.Response(status=404, text="Not Found")
