"""What a ``GuildSession`` resolves queries and opens tracks with (event loop)."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from musicbot.sources.models import Resolved
from musicbot.track import Track
from musicbot.voice.player import TrackStream


class TrackResolver(Protocol):
    async def resolve(self, query: str) -> Resolved: ...


class TrackOpener(Protocol):
    """Opens a track for playing; the returned stream is open (``packet_mode`` is known)."""

    async def open(self, track: Track, *, start_s: float = 0.0) -> TrackStream: ...


class StreamTrackOpener:
    """The production ``TrackOpener``: ``sources.stream.StreamOpener`` plus a wait until audio is buffered."""

    def __init__(self, opener: Any, *, ready_timeout_s: float = 15.0) -> None:
        self._opener = opener  # a StreamOpener; Any keeps the import graph of tests light
        self._timeout = ready_timeout_s

    async def open(self, track: Track, *, start_s: float = 0.0) -> TrackStream:
        stream = await self._opener.open(track, start_s=start_s)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        # packet_mode is only known once the first chunk is decoded; the player needs it at start.
        while stream.buffered_frames == 0 and loop.time() < deadline:
            await asyncio.sleep(0.01)
        result: TrackStream = stream
        return result
