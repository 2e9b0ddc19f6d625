"""Discord login for the dashboard: OAuth2's authorization code flow with ``state`` and PKCE
(RFC 7636), scopes ``identify guilds``.

Every Discord address comes from the API base (``DISCORD_API_BASE``, default Discord's), so a
proxy, or the fake Discord of the tests, serves the login too: ``{base}/oauth2/authorize``
(Discord answers it there as well as at ``discord.com/oauth2/authorize``), ``{base}/oauth2/token``,
``{base}/users/@me`` and ``{base}/users/@me/guilds``. Hand-written on aiohttp, which the bot
already has: the flow is four requests, and an OAuth library would bring its own HTTP client.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

SCOPES = "identify guilds"
DEFAULT_API_BASE = "https://discord.com/api/v10"
TIMEOUT = aiohttp.ClientTimeout(total=10)


class LoginError(Exception):
    """The login did not go through; the message says why, in users' words."""


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(64)  # 86 characters of the unreserved set (RFC 7636: 43-128)
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"))


@dataclass(frozen=True)
class DiscordUser:
    id: str
    name: str
    avatar: str | None


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    client_secret: str
    redirect_uri: str
    api_base: str = DEFAULT_API_BASE

    def authorize_url(self, state: str, pkce: Pkce) -> str:
        query = {"client_id": self.client_id, "response_type": "code", "redirect_uri": self.redirect_uri,
                 "scope": SCOPES, "state": state, "code_challenge": pkce.challenge,
                 "code_challenge_method": "S256", "prompt": "none"}
        return f"{self.api_base}/oauth2/authorize?{urlencode(query)}"

    async def exchange(self, http: aiohttp.ClientSession, code: str, pkce: Pkce) -> str:
        """The user's access token for ``code``."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
                "code_verifier": pkce.verifier}
        credentials = {"Authorization": aiohttp.BasicAuth(self.client_id, self.client_secret).encode()}
        async with http.post(f"{self.api_base}/oauth2/token", data=form, headers=credentials,
                             timeout=TIMEOUT) as response:
            body = await _json(response)
        token = body.get("access_token")
        if response.status != 200 or not isinstance(token, str):
            raise LoginError("Discord did not accept the login; start it again from the dashboard.")
        return token

    async def user(self, http: aiohttp.ClientSession, token: str) -> DiscordUser:
        body = await self._get(http, token, "/users/@me")
        if not isinstance(body, dict) or not isinstance(body.get("id"), str):
            raise LoginError("Discord did not say who you are; log in again.")
        name = body.get("global_name") or body.get("username") or body["id"]
        return DiscordUser(body["id"], str(name), body.get("avatar"))

    async def guild_ids(self, http: aiohttp.ClientSession, token: str) -> frozenset[int]:
        """The guilds the user is in (Discord answers up to 200, which covers a member of the bot's)."""
        body = await self._get(http, token, "/users/@me/guilds")
        if not isinstance(body, list):
            raise LoginError("Discord did not list your servers; log in again.")
        return frozenset(int(g["id"]) for g in body if isinstance(g, dict) and str(g.get("id", "")).isdigit())

    async def _get(self, http: aiohttp.ClientSession, token: str, path: str) -> Any:
        headers = {"Authorization": f"Bearer {token}"}
        async with http.get(f"{self.api_base}{path}", headers=headers, timeout=TIMEOUT) as response:
            if response.status == 401:
                raise LoginError("Your Discord login has expired; log in again.")
            if response.status != 200:
                raise LoginError(f"Discord answered {response.status}; try again in a moment.")
            return await _json(response)


async def _json(response: aiohttp.ClientResponse) -> Any:
    try:
        return await response.json(content_type=None)
    except ValueError:
        return {}
