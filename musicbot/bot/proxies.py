"""Where the bot reaches Discord: a REST proxy (``DISCORD_API_BASE``, e.g. nirn-proxy), a gateway proxy
(``DISCORD_GATEWAY_URL``), an outbound HTTP proxy (``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY``) and a private
certificate authority (``SSL_CERT_FILE``). Event loop; :func:`apply_proxies` runs once, before login.

What goes where (discord.py 2.7.1):

- REST: every call is a ``discord.http.Route`` built on ``Route.BASE`` (a class attribute read per call),
  including interaction callbacks, followup webhooks and ``@original`` edits (``discord/webhook/async_.py``
  and ``discord/interactions.py`` use the same ``Route`` and the client's own aiohttp session). Setting
  ``Route.BASE`` covers them all; display-only URLs such as ``Webhook.url`` are never requested.
- Gateway: discord.py opens the main gateway at ``GET /gateway/bot``'s URL (no ``SHARD_COUNT``) or at
  ``DiscordWebSocket.DEFAULT_GATEWAY`` (with it, and after an INVALID_SESSION), and resumes at READY's
  ``resume_gateway_url``. All of these, for every shard, pass through one method, ``HTTPClient.ws_connect``,
  which is therefore the seam: it is replaced on the client's ``http`` so a main-gateway URL becomes
  ``DISCORD_GATEWAY_URL`` (discord.py's query, ``v``/``encoding``/``compress``, kept). Voice websockets use the
  same method with ``wss://{endpoint}/?v=8``, recognised by the absence of the ``encoding`` parameter that
  ``DiscordWebSocket.from_client`` always sets, and are not redirected.
- HTTP proxy: chosen per URL from the environment like curl does (``https://``/``wss://`` → ``HTTPS_PROXY``,
  ``http://``/``ws://`` → ``HTTP_PROXY``, lower-case names win, ``NO_PROXY`` host suffixes bypass): REST through
  discord.py's own ``proxy`` option (one REST base, one decision); the gateway and voice websockets in the
  replaced ``ws_connect``. The proxy itself may be ``https://`` (TLS to the proxy, TLS inside for ``https``
  targets; Python ≥ 3.11). Voice audio is UDP and is never proxied. discord.py's aiohttp session has
  ``trust_env`` off, so without this nothing would use these variables.
- ``SSL_CERT_FILE``: aiohttp's verified TLS context is ``ssl.create_default_context()``, and OpenSSL reads
  ``SSL_CERT_FILE``/``SSL_CERT_DIR`` there (certifi is not involved), so REST, the gateway and the voice
  websocket (``wss://``) already trust it. It is checked here because OpenSSL silently ignores a missing or
  unreadable file, which would surface much later as a certificate error on the voice connection.

:func:`discord_routes` (the checks) imports neither discord.py nor aiohttp, so settings can be checked before
the heavy imports; :func:`route_discord` applies them.
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yarl

from musicbot.config import Config
from musicbot.errors import ConfigError

if TYPE_CHECKING:
    import aiohttp
    import discord

log = logging.getLogger(__name__)

DISCORD_API_BASE = "https://discord.com/api/v10"
# A websocket upgrade is an HTTP(S) request: wss:// uses the HTTPS proxy, ws:// the HTTP one (as curl does).
_PROXY_SCHEME = {"https": "https", "wss": "https", "http": "http", "ws": "http"}


@dataclass(frozen=True)
class DiscordRoutes:
    """Validated destinations. ``proxies`` maps ``https``/``http``/``no`` to the environment's values."""

    api_base: str
    gateway_url: yarl.URL | None
    proxies: Mapping[str, str]
    ssl_cert_file: Path | None = None

    def proxy_for(self, url: str | yarl.URL) -> str | None:
        """The HTTP proxy to reach ``url`` through, or None (no variable for its scheme, or NO_PROXY)."""
        target = yarl.URL(url)
        proxy = self.proxies.get(_PROXY_SCHEME.get(target.scheme, target.scheme))
        if proxy is None or target.host is None:
            return None
        return None if _bypassed(target, self.proxies.get("no", "")) else proxy

    def websocket_url(self, url: str) -> str:
        """``url`` as the bot should open it: a main-gateway URL moved to ``DISCORD_GATEWAY_URL``."""
        target = yarl.URL(url)
        if self.gateway_url is None or "encoding" not in target.query:
            return url
        return str(self.gateway_url.with_query({**self.gateway_url.query, **target.query}))


def discord_routes(config: Config, environ: Mapping[str, str] | None = None) -> DiscordRoutes:
    """Read and check the settings; ``ConfigError`` names the variable and what a valid value looks like."""
    env = os.environ if environ is None else environ
    api_base = (config.discord_api_base or DISCORD_API_BASE).rstrip("/")
    base = _url("DISCORD_API_BASE", api_base, ("http", "https"), "http://nirn-proxy:8080/api/v10")
    if not base.path.endswith(("/api/v10", "/api/v9")):
        log.warning("DISCORD_API_BASE=%s does not end in /api/v10: discord.py adds only the route "
                    "(/users/@me, …) to it", api_base)
    gateway = None
    if config.discord_gateway_url:
        gateway = _url("DISCORD_GATEWAY_URL", config.discord_gateway_url.strip(), ("ws", "wss"),
                       "ws://gateway-proxy:7878")
    proxies = _proxy_variables(env)
    for scheme, value in proxies.items():
        if scheme != "no":
            _url(f"{scheme.upper()}_PROXY", value, ("http", "https"), "http://proxy.example:3128")
    return DiscordRoutes(api_base, gateway, proxies, _ca_file(env.get("SSL_CERT_FILE")))


def route_discord(client: discord.Client, routes: DiscordRoutes) -> None:
    """Point ``client`` (before it logs in) at ``routes``."""
    from discord.http import Route

    Route.BASE = routes.api_base  # a class attribute: there is one Discord per process
    http = client.http
    http.proxy = routes.proxy_for(routes.api_base)
    # Proxy credentials stay in the URL (aiohttp sends them as Proxy-Authorization); its proxy_auth argument
    # is deprecated (aiohttp 3.14 warns).

    async def ws_connect(url: str, *, compress: int = 0) -> aiohttp.ClientWebSocketResponse:
        # discord.py's HTTPClient.ws_connect, with the destination and its proxy chosen per URL (its own uses
        # the one ``proxy`` of the client). The session is discord.py's (its mangled attribute, which
        # discord.py's own interactions.py reads too), so the websocket response class and connector are its.
        target = routes.websocket_url(url)
        session: aiohttp.ClientSession = http._HTTPClient__session  # type: ignore[attr-defined]
        options: dict[str, Any] = {
            "max_msg_size": 0,
            "timeout": _ws_timeout(),
            "autoclose": False,
            "headers": {"User-Agent": http.user_agent},
            "compress": compress,
        }
        socket: aiohttp.ClientWebSocketResponse = await session.ws_connect(
            target, proxy=routes.proxy_for(target), **options
        )
        return socket

    http.ws_connect = ws_connect  # type: ignore[method-assign]


def apply_proxies(client: discord.Client, config: Config, environ: Mapping[str, str] | None = None) -> DiscordRoutes:
    """Check the settings and route ``client`` through them, saying in the log where everything goes."""
    routes = discord_routes(config, environ)
    route_discord(client, routes)
    rest_proxy = routes.proxy_for(routes.api_base)
    log.info("Discord REST at %s%s", routes.api_base, f" through proxy {_redact(rest_proxy)}" if rest_proxy else "")
    gateway = str(routes.gateway_url) if routes.gateway_url is not None else None
    proxy = routes.proxy_for(gateway or "wss://gateway.discord.gg/")
    via = f" through proxy {_redact(proxy)}" if proxy else ""
    if gateway is not None:
        log.info("Discord gateway at %s for every shard, resume and reconnect%s", gateway, via)
    elif proxy:
        log.info("Discord gateway and voice websockets%s", via)
    if routes.ssl_cert_file is not None:
        log.info("TLS trusts the certificates in SSL_CERT_FILE=%s", routes.ssl_cert_file)
    return routes


def _proxy_variables(env: Mapping[str, str]) -> dict[str, str]:
    """``https``/``http``/``no`` from ``*_PROXY`` variables, lower-case names winning (urllib's rule)."""
    found: dict[str, str] = {}
    for lower_only in (False, True):
        for name, value in env.items():
            wanted = name.lower() in ("https_proxy", "http_proxy", "no_proxy") and (not lower_only or name.islower())
            if wanted and value.strip():
                found[name.lower().removesuffix("_proxy")] = value.strip()
    for scheme in ("https", "http"):
        if scheme in found and "://" not in found[scheme]:
            found[scheme] = "http://" + found[scheme]  # curl's reading of "proxy:3128"
    return found


def _url(name: str, value: str, schemes: tuple[str, ...], example: str) -> yarl.URL:
    try:
        url = yarl.URL(value)
    except ValueError:
        url = yarl.URL()
    if url.scheme not in schemes or not url.host:
        allowed = " or ".join(f"{s}://" for s in schemes)
        raise ConfigError(f"{name}={_redact(value)} is not a {allowed} URL: use something like {example}")
    return url


def _ca_file(value: str | None) -> Path | None:
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise ConfigError(f"SSL_CERT_FILE={path} is not a file: point it at a PEM bundle of the CA certificates "
                          "to trust, or unset it")
    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, OSError) as err:
        raise ConfigError(f"SSL_CERT_FILE={path} holds no PEM certificate OpenSSL can read ({err})") from None
    return path


def _ws_timeout() -> Any:
    import aiohttp

    try:  # as discord.py does: a float before aiohttp 3.10 (pyproject allows 3.9)
        return aiohttp.ClientWSTimeout(ws_close=30.0)
    except (AttributeError, TypeError):
        return 30.0


def _bypassed(url: yarl.URL, no_proxy: str) -> bool:
    """NO_PROXY as urllib and curl read it: ``*``, or comma-separated host names, domain suffixes (a leading dot
    optional) and addresses, each optionally with ``:port``. No CIDR ranges."""
    host = (url.host or "").lower()
    for entry in (e.strip().lower().lstrip(".") for e in no_proxy.split(",")):
        if entry == "*":
            return True
        if not entry:
            continue
        name, _, port = entry.partition(":") if entry.count(":") == 1 else (entry, "", "")
        if (host == name or host.endswith("." + name)) and (not port or port == str(url.port)):
            return True
    return False


def _redact(url: str) -> str:
    """``url`` with any password replaced, for logs and errors."""
    try:
        parsed = yarl.URL(url)
    except ValueError:
        return url
    return str(parsed.with_password("***")) if parsed.password else url


__all__ = ["DISCORD_API_BASE", "DiscordRoutes", "apply_proxies", "discord_routes", "route_discord"]
