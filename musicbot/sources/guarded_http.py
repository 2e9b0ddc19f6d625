"""The one HTTP client of ``musicbot.sources``: every byte the bot fetches for a user's link goes
through it — the probe of a direct link (``http.py``), yt-dlp's requests (``ytdlp_http.py``) and
the media bytes FFmpeg decodes (``remote_file.py``).

Why one client and not checks in front of three (aiohttp, yt-dlp's handlers, FFmpeg's http):
each of those resolves the name again and follows redirects on its own, so a check before them
cannot bind what they connect to (issue 14: a later GET redirected FFmpeg to 127.0.0.1; a name
that answered a public address to the check answered 127.0.0.1 to FFmpeg). Here:

* the host is resolved once per connection by the ``UrlGuard`` (``vet``), every address checked,
  and the socket connects to a *validated address* — urllib3's pool is keyed by that IP, with the
  URL's name kept for the Host header, TLS SNI and the certificate check (``server_hostname``,
  ``assert_hostname``: urllib3's public knobs for exactly this, so no socket code of our own);
* redirects are never followed by urllib3: ``open`` follows them itself, vetting each hop before
  a byte is sent to it.

Blocking: call from worker or decoder threads. urllib3's ``PoolManager`` is thread-safe, so one
client (and its keep-alive connections) is shared by all of them.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import certifi
import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error

from musicbot.i18n import lazy
from musicbot.sources.errors import NetworkError, UnsupportedError
from musicbot.sources.ssrf import Target, UrlGuard, literal_address

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_TIMEOUT_S = 10.0
USER_AGENT = "musicbot/0.1"
# Credentials meant for one site are not handed to the next one a redirect names.
_ORIGIN_BOUND_HEADERS = ("authorization", "cookie", "proxy-authorization")

HeaderHook = Callable[[str, dict[str, str]], None]
"""Called before each hop with its URL and the headers about to be sent (may change them)."""
ResponseHook = Callable[[str, urllib3.BaseHTTPResponse], None]
"""Called after each hop with its URL and response (e.g. to keep its cookies)."""


@dataclass(frozen=True)
class Fetched:
    """A response after redirects: its final URL and the validated target it came from."""

    response: urllib3.BaseHTTPResponse
    url: str
    target: Target


class GuardedHttp:
    """HTTP(S) to validated addresses only, redirects followed hop by hop under the guard."""

    def __init__(self, guard: UrlGuard, *, user_agent: str = USER_AGENT,
                 timeout_s: float = DEFAULT_TIMEOUT_S, ca_file: str | None = None) -> None:
        """``ca_file``: the certificates TLS servers are verified against (default: certifi's)."""
        self.guard = guard
        self.user_agent = user_agent
        self.timeout_s = timeout_s
        # certifi: the same CA bundle yt-dlp and requests use, so a slim container without system
        # certificates verifies the same sites. (FFmpeg, which fetched media before, verified none.)
        self._tls = ssl.create_default_context(cafile=ca_file or certifi.where())
        self._pools = urllib3.PoolManager(num_pools=32, maxsize=4, ssl_context=self._tls)

    def request(self, url: str, *, method: str = "GET", headers: Mapping[str, str] | None = None,
                body: bytes | None = None, timeout_s: float | None = None, target: Target | None = None,
                redirected: bool = False) -> urllib3.BaseHTTPResponse:
        """One request, redirects *not* followed, sent to a validated address of ``target``
        (vetted now when not given). The body is left unread (``preload_content=False``)."""
        target = target or self.guard.vet(url, redirected=redirected)
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent = {"User-Agent": self.user_agent, **(headers or {}), "Host": _host_header(target)}
        timeout = urllib3.Timeout(connect=timeout_s or self.timeout_s, read=timeout_s or self.timeout_s)
        failure: Exception | None = None
        for address in target.addresses:  # in the resolver's order, as a system connect would try them
            pool = self._pools.connection_from_host(address, target.port, target.scheme,
                                                    pool_kwargs=self._pool_kwargs(target))
            try:
                return pool.urlopen(method, path, body=body, headers=sent, redirect=False, retries=False,
                                    assert_same_host=False, preload_content=False, timeout=timeout)
            except (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError) as err:
                failure = err  # this address is unreachable: the next validated one may not be
            except (Urllib3Error, OSError) as err:
                raise NetworkError(lazy("Could not reach {host}; try again.", host=target.host),
                                   detail=str(err)) from err
        raise NetworkError(lazy("Could not reach {host}; try again.", host=target.host),
                           detail=str(failure)) from failure

    def open(self, url: str, *, method: str = "GET", headers: Mapping[str, str] | None = None,
             body: bytes | None = None, timeout_s: float | None = None, target: Target | None = None,
             before_hop: HeaderHook | None = None, after_hop: ResponseHook | None = None) -> Fetched:
        """``request`` plus redirects (at most ``MAX_REDIRECTS``), each hop vetted before it is sent.

        ``target`` pins the first hop to addresses validated earlier (a resume connects where the
        stream was; its name is not looked up again). Raises ``BlockedUrlError`` for a refused
        hop, ``UnsupportedError`` for too many redirects, ``NetworkError`` for transport failures.
        """
        current, sent, hop_target = url, dict(headers or {}), target
        for hop in range(MAX_REDIRECTS + 1):
            if hop_target is None:
                hop_target = self.guard.vet(current, redirected=hop > 0)
            if before_hop is not None:
                before_hop(current, sent)
            response = self.request(current, method=method, headers=sent, body=body, timeout_s=timeout_s,
                                    target=hop_target)
            if after_hop is not None:
                after_hop(current, response)
            location = response.headers.get("Location") if response.status in REDIRECT_STATUSES else None
            if location is None:
                return Fetched(response, current, hop_target)
            # the redirect's own body is not wanted; closing (not draining) also bounds a hostile one
            response.close()
            following = urljoin(current, location)
            if (response.status == 303 and method != "HEAD") or (response.status in (301, 302) and method == "POST"):
                method, body = "GET", None  # what browsers (and yt-dlp's own handlers) do
                sent = {k: v for k, v in sent.items() if k.lower() not in ("content-type", "content-length")}
            if _origin(following) != _origin(current):
                sent = {k: v for k, v in sent.items() if k.lower() not in _ORIGIN_BOUND_HEADERS}
            current, hop_target = following, None
        raise UnsupportedError(lazy("That link redirects too many times."))

    def close(self) -> None:
        self._pools.clear()

    @staticmethod
    def _pool_kwargs(target: Target) -> dict[str, object]:
        if target.scheme != "https":
            return {}
        # connect to the IP, but speak TLS to (and check the certificate of) the name in the URL
        return {"server_hostname": target.host, "assert_hostname": target.host}


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def _host_header(target: Target) -> str:
    host = f"[{target.host}]" if ":" in target.host and literal_address(target.host) else target.host
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"
