"""yt-dlp's requests through ``GuardedHttp``: a yt-dlp ``RequestHandler`` and a ``YoutubeDL`` that
has no other.

yt-dlp's own handlers (urllib, requests, curl_cffi, websockets) resolve names and follow redirects
by themselves; checking only the URL handed to yt-dlp let an HTML page redirect it to 127.0.0.1
(issue 14, case c: the secret was fetched three times before the bot refused the result). Here
every request an extractor makes — its redirects included — is vetted and sent to a validated
address, and a refusal ends the extraction (a ``RequestError``, which extractors do not treat as
a network hiccup to retry or work around).

Proxies are not used: the guard must see the address the bot connects to. (The bot configures
none for yt-dlp; one from the environment was honoured before, and is not now.)
Runs in the worker threads of ``ytdlp.py``'s extractions.
"""

from __future__ import annotations

import functools
import urllib.request
from collections.abc import Iterable
from email.message import Message
from typing import Any

import urllib3
import yt_dlp
from yt_dlp.networking.common import RequestHandler, Response
from yt_dlp.networking.exceptions import CertificateVerifyError, HTTPError, RequestError, TransportError

from musicbot.sources.errors import BlockedUrlError, NetworkError, SourceError
from musicbot.sources.guarded_http import GuardedHttp

# What urllib3 can decode here (gzip, deflate, and br/zstd when their packages are installed)
ACCEPT_ENCODING = urllib3.util.make_headers(accept_encoding=True)["accept-encoding"]


class GuardedRH(RequestHandler):  # type: ignore[misc]  # yt-dlp ships no type information
    """Sends yt-dlp's requests with ``GuardedHttp``: cookies, timeouts, redirects per yt-dlp's rules."""

    _SUPPORTED_URL_SCHEMES = ("http", "https")
    # None skips yt-dlp's proxy checks: proxies are ignored on purpose (see the module's docstring)
    _SUPPORTED_PROXY_SCHEMES = None
    _SUPPORTED_FEATURES = None

    def __init__(self, *, http: GuardedHttp, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._http = http

    def _check_extensions(self, extensions: dict[str, Any]) -> None:
        super()._check_extensions(extensions)
        for handled in ("cookiejar", "timeout", "keep_header_casing", "legacy_ssl"):
            extensions.pop(handled, None)  # legacy_ssl: the guarded client keeps its modern TLS settings

    def _send(self, request: Any) -> Response:
        headers: dict[str, str] = dict(self._get_headers(request))
        headers.setdefault("Accept-Encoding", ACCEPT_ENCODING)
        jar = self._get_cookiejar(request)
        explicit_cookie = any(k.lower() == "cookie" for k in headers)

        def before_hop(url: str, sent: dict[str, str]) -> None:
            cookie = None if explicit_cookie else jar.get_cookie_header(url)
            if cookie:
                sent["Cookie"] = cookie

        def after_hop(url: str, response: urllib3.BaseHTTPResponse) -> None:
            jar.extract_cookies(_CookieCarrier(_message(response)), urllib.request.Request(url))

        try:
            fetched = self._http.open(
                request.url, method=request.method, headers=headers, body=_body(request.data),
                timeout_s=self._calculate_timeout(request), before_hop=before_hop, after_hop=after_hop,
            )
        except BlockedUrlError as err:
            raise RequestError(str(err), cause=err) from err
        except NetworkError as err:
            cause = err.__cause__ or err
            if any(sign in str(err.detail) for sign in ("CERTIFICATE_VERIFY_FAILED", "doesn't match")):
                raise CertificateVerifyError(cause=cause) from err
            raise TransportError(cause=cause) from err
        except SourceError as err:  # too many redirects, an unsupported scheme in a Location
            raise RequestError(str(err), cause=err) from err
        response = fetched.response
        result = Response(fp=response, url=fetched.url, headers=_message(response), status=response.status,
                          reason=response.reason)
        if not 200 <= result.status < 300:
            raise HTTPError(result)
        return result


class GuardedYoutubeDL(yt_dlp.YoutubeDL):  # type: ignore[misc]
    """A ``YoutubeDL`` whose only request handler is ``GuardedRH``: no request can take another way."""

    def __init__(self, params: dict[str, Any], *, http: GuardedHttp) -> None:
        self._guarded_http = http  # before super().__init__, which may already send requests
        super().__init__(params)

    @functools.cached_property
    def _request_director(self) -> Any:
        # yt-dlp's documented way to build its director, with our handler as the whole list
        return self.build_request_director([functools.partial(GuardedRH, http=self._guarded_http)])


class _CookieCarrier:
    """What ``http.cookiejar`` reads a response's cookies from: ``info()`` with ``get_all``."""

    def __init__(self, headers: Message) -> None:
        self._headers = headers

    def info(self) -> Message:
        return self._headers


def _message(response: urllib3.BaseHTTPResponse) -> Message:
    message = Message()
    for name, value in response.headers.iteritems():  # repeated headers (Set-Cookie) one by one
        message.add_header(name, value)
    return message


def _body(data: Any) -> bytes | None:
    """yt-dlp's request data as bytes (read once, so a 307/308 redirect can send it again)."""
    if data is None or isinstance(data, bytes):
        return data
    if hasattr(data, "read"):
        return bytes(data.read())
    if isinstance(data, Iterable):
        return b"".join(data)
    raise TypeError(f"unsupported request data: {type(data).__name__}")
