"""Discord's OAuth2 as the dashboard uses it, for :class:`~tests.harness.fake_discord.FakeDiscord`
(``fake.oauth = FakeOAuth(...)``): ``/oauth2/authorize`` (the user approves at once), ``/oauth2/token``
(client credentials, the code, its redirect URI and the PKCE verifier all checked, as Discord does),
``/users/@me`` and ``/users/@me/guilds`` for a bearer token.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import BasicAuth, web

Payload = dict[str, Any]


def _json(obj: Any, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(obj).encode(), status=status, headers={"Content-Type": "application/json"})


@dataclass
class FakeOAuth:
    client_id: str
    client_secret: str
    user: Payload
    guilds: list[Payload]
    redirect_uris: tuple[str, ...] = ()  # registered in the "developer portal"; empty: any
    codes: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> (redirect_uri, challenge)
    tokens: set[str] = field(default_factory=set)
    authorize_queries: list[dict[str, str]] = field(default_factory=list)

    async def handle(self, request: web.Request, path: str) -> web.StreamResponse | None:
        if path == "/oauth2/authorize" and request.method == "GET":
            return self._authorize(dict(request.query))
        if path == "/oauth2/token" and request.method == "POST":
            return await self._token(request)
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            if auth.removeprefix("Bearer ") not in self.tokens:
                return _json({"message": "401: Unauthorized", "code": 0}, 401)
            if path == "/users/@me":
                return _json(self.user)
            if path == "/users/@me/guilds":
                return _json(self.guilds)
            return _json({"message": "fake oauth: not for a bearer token", "code": 0}, 403)
        return None

    def _authorize(self, query: dict[str, str]) -> web.StreamResponse:
        self.authorize_queries.append(query)
        redirect = query.get("redirect_uri", "")
        scopes = set(query.get("scope", "").split())
        if (query.get("client_id") != self.client_id or query.get("response_type") != "code"
                or not {"identify", "guilds"} <= scopes or query.get("code_challenge_method") != "S256"
                or not query.get("code_challenge") or (self.redirect_uris and redirect not in self.redirect_uris)):
            return _json({"message": "Invalid OAuth2 request", "query": query}, 400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = (redirect, query["code_challenge"])
        return web.HTTPFound(f"{redirect}?{urlencode({'code': code, 'state': query.get('state', '')})}")

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        try:
            auth = BasicAuth.decode(request.headers.get("Authorization", ""))
        except ValueError:
            return _json({"error": "invalid_client"}, 401)
        if (auth.login, auth.password) != (self.client_id, self.client_secret):
            return _json({"error": "invalid_client"}, 401)
        issued = self.codes.pop(str(form.get("code", "")), None)
        if form.get("grant_type") != "authorization_code" or issued is None:
            return _json({"error": "invalid_grant"}, 400)
        redirect, challenge = issued
        digest = hashlib.sha256(str(form.get("code_verifier", "")).encode()).digest()
        if form.get("redirect_uri") != redirect or base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != challenge:
            return _json({"error": "invalid_grant", "error_description": "PKCE or redirect_uri mismatch"}, 400)
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return _json({"access_token": token, "token_type": "Bearer", "expires_in": 604800,
                      "refresh_token": secrets.token_urlsafe(24), "scope": "identify guilds"})
