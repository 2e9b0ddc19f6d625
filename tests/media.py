"""Test-side access to the generated media helpers, and ``FileOpener``: a session's track opener for
local files (a ``Decoder``, handed over once it has audio buffered)."""

from __future__ import annotations

import asyncio
import time

from musicbot.errors import MediaError
from musicbot.sources.decoder import Decoder
from musicbot.sources.synth import music_like, opus_packets, read_wav, tone, write_audio
from musicbot.track import Track

__all__ = ["FileOpener", "music_like", "opus_packets", "read_wav", "tone", "write_audio"]


class FileOpener:
    """Opens a ``Decoder`` on ``track.url`` and waits (in a worker thread) until it has audio buffered."""

    async def open(self, track: Track, *, start_s: float = 0.0) -> Decoder:
        decoder = Decoder(track.url, start_s=start_s).start()

        def ready() -> None:
            decoder.wait_open(5.0)
            deadline = time.perf_counter() + 5.0
            while decoder.buffered_frames < 2 and time.perf_counter() < deadline:
                time.sleep(0.002)

        try:
            await asyncio.to_thread(ready)
        except MediaError:
            decoder.close()
            raise
        return decoder
