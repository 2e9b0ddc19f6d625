"""Server-side request forgery guard: links that lead into the bot's own network are refused.

A user could paste ``http://169.254.169.254/`` (cloud metadata) or a hostname that resolves to
``10.0.0.5`` and make the bot fetch it. Every hostname is resolved and *every* address checked,
because one private address among several is enough for a connection to land there. Redirects
are followed here, hop by hop, so that a public URL cannot bounce the bot onto a private one.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Sequence
from urllib.parse import urljoin, urlsplit

import aiohttp

from musicbot.sources.errors import BlockedUrlError, NetworkError, UnsupportedError

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
HostResolver = Callable[[str], Sequence[str]]
"""Blocking ``hostname -> addresses`` lookup; run in a worker thread. Tests inject a fake."""

MAX_REDIRECTS = 5
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CARRIER_NAT = ipaddress.ip_network("100.64.0.0/10")


def system_resolve(host: str) -> list[str]:
    """Every address the system resolver gives for ``host`` (blocking: call from a worker thread)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        raise NetworkError(f"The host {host} could not be found.", detail=str(err)) from err
    return sorted({str(info[4][0]) for info in infos})


def is_forbidden_address(address: IpAddress) -> bool:
    """True for addresses a public link must never reach (IPv4-mapped IPv6 is checked as IPv4)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return is_forbidden_address(embedded)
        if address.is_site_local:
            return True
    elif address in _CARRIER_NAT:  # 100.64/10 is not "private" to Python but is internal all the same
        return True
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
    )


class UrlGuard:
    """Checks http(s) URLs against the private-address rule, with an admin allow-list.

    ``allowed_hosts`` holds hostnames, IP addresses or CIDRs (``MUSICBOT_ALLOWED_HOSTS``); a
    hostname on the list is allowed whatever it resolves to, an address or network exempts the
    addresses inside it. ``check``/``follow_redirects`` are coroutines for the event loop; the
    DNS lookup runs in a worker thread.
    """

    def __init__(self, allowed_hosts: Sequence[str] = (), *, resolve_host: HostResolver = system_resolve) -> None:
        self._allowed_names: set[str] = set()
        self._allowed_nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in allowed_hosts:
            text = entry.strip().strip("[]").lower()
            try:
                self._allowed_nets.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                self._allowed_names.add(text.rstrip("."))
        self._resolve_host = resolve_host

    def _address_allowed(self, address: IpAddress) -> bool:
        return not is_forbidden_address(address) or any(address in net for net in self._allowed_nets)

    async def check(self, url: str) -> None:
        """Raise ``BlockedUrlError`` if ``url``'s host is or resolves to a forbidden address."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise UnsupportedError(f"Only http and https links are supported, not {parts.scheme or 'this'}.")
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise UnsupportedError("That link has no host name.")
        if host in self._allowed_names:
            return
        try:
            literal: IpAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            addresses: list[IpAddress] = [literal]
        else:
            resolved = await asyncio.to_thread(self._resolve_host, host)
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolved]
            if not addresses:
                raise NetworkError(f"The host {host} could not be found.")
        for address in addresses:
            if not self._address_allowed(address):
                where = host if literal is not None else f"{host} ({address})"
                raise BlockedUrlError(
                    f"Refused: {where} is a private, loopback or link-local address. "
                    "An admin can allow it with MUSICBOT_ALLOWED_HOSTS.",
                )

    async def follow_redirects(self, url: str, session: aiohttp.ClientSession) -> str:
        """Check ``url`` and every redirect it leads to; return the final URL (at most 5 hops).

        Uses HEAD without following redirects automatically, so each Location is checked
        before any request reaches it. Servers that reject HEAD are retried with a GET whose
        body is not read.
        """
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            await self.check(current)
            location = await _redirect_target(session, current)
            if location is None:
                return current
            current = urljoin(current, location)
        raise UnsupportedError("That link redirects too many times.")


async def _redirect_target(session: aiohttp.ClientSession, url: str) -> str | None:
    try:
        for method in ("HEAD", "GET"):
            async with session.request(method, url, allow_redirects=False) as resp:
                if resp.status in (405, 501) and method == "HEAD":
                    continue
                if resp.status in _REDIRECT_STATUSES:
                    return resp.headers.get("Location")
                return None
    except (aiohttp.ClientError, TimeoutError) as err:
        raise NetworkError(detail=str(err)) from err
    return None
