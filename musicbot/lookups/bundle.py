"""``Lookups``: the outside services a bot talks to, built once from the settings and shared by
every guild's session (their caches too)."""

from __future__ import annotations

from dataclasses import dataclass

from musicbot.lookups.lrclib import LrclibClient
from musicbot.lookups.sponsorblock import SponsorBlockClient


@dataclass(frozen=True)
class Lookups:
    """None: that feature is unavailable (tests of other things, a bot built without it)."""

    lyrics: LrclibClient | None = None
    segments: SponsorBlockClient | None = None

    @classmethod
    def at(cls, lyrics_api: str, sponsorblock_api: str) -> Lookups:
        """Clients of the services at these base URLs (``MUSICBOT_LYRICS_API``, ``MUSICBOT_SPONSORBLOCK_API``)."""
        return cls(LrclibClient(lyrics_api), SponsorBlockClient(sponsorblock_api))

    async def close(self) -> None:
        for client in (self.lyrics, self.segments):
            if client is not None:
                await client.close()
