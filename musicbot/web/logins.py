"""Dashboard sessions: who is logged in, held by the bot, named by a signed cookie.

The browser holds only a signed, HTTP-only, SameSite=Lax cookie naming a random session id (and,
during a login, its ``state`` and PKCE verifier); the user's Discord token and the list of their
guilds stay here. So no token reaches a page's JavaScript, a forged or edited cookie fails its
signature, and logging out (or a restart) ends the session. The guild list is asked of Discord
again when older than ``GUILDS_FRESH_S``, so someone who left a guild loses it within a minute.

Signing: itsdangerous (well kept, small) with a key derived from the OAuth client secret, which
the bot already holds in secret; rotating that secret ends every session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field

from cachetools import TTLCache
from itsdangerous import BadSignature, URLSafeTimedSerializer

from musicbot.web.oauth import DiscordUser, Pkce

SESSION_COOKIE = "musicbot_session"
LOGIN_COOKIE = "musicbot_login"
SESSION_MAX_AGE_S = 7 * 24 * 3600
LOGIN_MAX_AGE_S = 600
GUILDS_FRESH_S = 60.0
MAX_SESSIONS = 10_000


@dataclass
class Login:
    """One logged-in browser."""

    user: DiscordUser
    token: str
    guild_ids: frozenset[int]
    guilds_at: float = field(default_factory=time.monotonic)
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @property
    def guilds_stale(self) -> bool:
        return time.monotonic() - self.guilds_at > GUILDS_FRESH_S


class Logins:
    def __init__(self, client_secret: str) -> None:
        key = hmac.new(client_secret.encode(), b"musicbot dashboard cookies", hashlib.sha256).digest()
        self._sessions = URLSafeTimedSerializer(key, salt="session")
        self._logins = URLSafeTimedSerializer(key, salt="login")
        self._held: TTLCache[str, Login] = TTLCache(MAX_SESSIONS, ttl=SESSION_MAX_AGE_S)

    # ---------------------------------------------------------------- a login in progress
    def start(self) -> tuple[str, Pkce, str]:
        """A new login: its ``state``, PKCE pair, and the cookie value that remembers both."""
        state, pkce = secrets.token_urlsafe(24), Pkce.new()
        return state, pkce, self._logins.dumps({"state": state, "verifier": pkce.verifier})

    def finish(self, cookie: str | None, state: str | None) -> Pkce | None:
        """The PKCE pair of the login this callback belongs to, or None (no such login, expired,
        forged, or a ``state`` that is not its own: a request made by another site)."""
        if not cookie or not state:
            return None
        try:
            data = self._logins.loads(cookie, max_age=LOGIN_MAX_AGE_S)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not hmac.compare_digest(str(data.get("state", "")), state):
            return None
        verifier = str(data.get("verifier", ""))
        return Pkce(verifier, "")

    # ---------------------------------------------------------------- sessions
    def open(self, login: Login) -> str:
        """Remember ``login``; returns the session cookie's value."""
        session_id = secrets.token_urlsafe(32)
        self._held[session_id] = login
        return self._sessions.dumps(session_id)

    def find(self, cookie: str | None) -> Login | None:
        if not cookie:
            return None
        try:
            session_id = self._sessions.loads(cookie, max_age=SESSION_MAX_AGE_S)
        except BadSignature:
            return None
        return self._held.get(session_id) if isinstance(session_id, str) else None

    def close(self, cookie: str | None) -> None:
        if not cookie:
            return
        try:
            session_id = self._sessions.loads(cookie, max_age=SESSION_MAX_AGE_S)
        except BadSignature:
            return
        if isinstance(session_id, str):
            self._held.pop(session_id, None)
