"""``ServiceClient``: GET JSON from one outside service under its base URL, with a timeout.

Every failure of the service itself (no answer within ``LOOKUP_TIMEOUT_S``, a refused connection,
a 5xx, a body that is not JSON, a 429) becomes one ``ServiceDownError`` naming the service, so
callers have one thing to catch and users read one sentence. A 404 is an answer, not a failure:
both LRCLIB and SponsorBlock say "nothing here" with it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp

from musicbot import __version__
from musicbot.errors import MusicBotError
from musicbot.i18n import lazy

log = logging.getLogger(__name__)

# Long enough for a slow answer from across the world, short enough that /lyrics answers before
# Discord's 3 s (it is deferred) turns into a user waiting on a spinner for a minute.
LOOKUP_TIMEOUT_S = 5.0
# LRCLIB asks clients to say who they are; SponsorBlock is happy with it too.
USER_AGENT = f"musicbot/{__version__} (self-hosted Discord music bot)"


class ServiceDownError(MusicBotError):
    """The outside service did not answer usefully; ``str()`` is the users' sentence."""

    def __init__(self, service: str, detail: str) -> None:
        super().__init__(lazy("{service} is not answering right now; try again in a minute.", service=service))
        self.service = service
        self.detail = detail


class ServiceClient:
    """One service's HTTP client (event loop). The aiohttp session is made on first use, so the
    client can be built before the event loop runs; ``close`` frees it."""

    def __init__(self, name: str, base_url: str, *, timeout_s: float = LOOKUP_TIMEOUT_S) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self.requests = 0  # made so far (tests and /stats read it)

    async def get_json(self, path: str, params: dict[str, str]) -> Any | None:
        """The JSON answer to ``GET base + path``; None for a 404. Raises ``ServiceDownError``."""
        session = self._session_or_new()
        url = self.base_url + path
        self.requests += 1
        try:
            async with session.get(url, params=params) as response:
                if response.status == 404:
                    return None
                if response.status != 200:
                    raise ServiceDownError(self.name, f"HTTP {response.status} from {url}")
                text = await response.text()
        except (aiohttp.ClientError, TimeoutError) as error:
            raise ServiceDownError(self.name, f"{type(error).__name__}: {error}") from error
        try:
            return json.loads(text)
        except ValueError as error:
            raise ServiceDownError(self.name, f"not JSON from {url}") from error

    def _session_or_new(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # trust_env: the same HTTPS_PROXY/NO_PROXY the rest of the bot honours.
            self._session = aiohttp.ClientSession(timeout=self._timeout, trust_env=True,
                                                  headers={"User-Agent": USER_AGENT})
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
