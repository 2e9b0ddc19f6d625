"""Server-side request forgery guard: links that lead into the bot's own network are refused.

A user could paste ``http://169.254.169.254/`` (cloud metadata) or a hostname that resolves to
``10.0.0.5`` and make the bot fetch it. Every hostname is resolved and *every* address checked,
because one private address among several is enough for a connection to land there.

Checking is not enough on its own: whoever connects must connect to the address that was
checked. ``UrlGuard.vet`` returns a ``Target`` naming the validated addresses, and the one HTTP
client of the sources (``sources/guarded_http.py``) connects to those, never to the name, and
follows redirects itself, vetting each hop. A name whose DNS answer changes between the check
and the connection (DNS rebinding) therefore changes nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from musicbot.i18n import lazy
from musicbot.sources.errors import BlockedUrlError, NetworkError, UnsupportedError

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
HostResolver = Callable[[str], Sequence[str]]
"""Blocking ``hostname -> addresses`` lookup (the guard's seam: tests inject a fake, e.g. one that
rebinds). Called from worker and decoder threads, never from the event loop."""

_CARRIER_NAT = ipaddress.ip_network("100.64.0.0/10")
# The characters of an IPv4 address in any spelling inet_aton accepts: 2130706433, 0x7f000001, 0177.0.0.1, 127.1
_IPV4_SPELLING = re.compile(r"[0-9a-fx.]+", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def system_resolve(host: str) -> list[str]:
    """Every address the system resolver gives for ``host``, in its order of preference (blocking)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        raise NetworkError(lazy("The host {host} could not be found.", host=host), detail=str(err)) from err
    # getaddrinfo sorts by RFC 6724 (reachable families first): keep that order, drop repeats
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def literal_address(host: str) -> IpAddress | None:
    """``host`` as an IP address when it is one in any spelling a URL parser accepts, else None.

    FFmpeg, yt-dlp and glibc read ``2130706433``, ``0x7f000001``, ``0177.0.0.1`` and ``127.1``
    as 127.0.0.1 (inet_aton's rules, which WHATWG URLs follow too); ``ipaddress`` alone does not.
    ``socket.inet_aton`` is that parser, so it is used rather than a hand-written one.
    """
    text = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if _IPV4_SPELLING.fullmatch(text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


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


@dataclass(frozen=True)
class Target:
    """Where a vetted URL may be fetched: the only addresses a connection for it may use."""

    scheme: str
    host: str
    """The name as written in the URL (for the Host header, SNI and the certificate check)."""
    port: int
    addresses: tuple[str, ...]
    """Validated addresses, in the resolver's order of preference."""

    def same_origin(self, other: Target) -> bool:
        return (self.scheme, self.host, self.port) == (other.scheme, other.host, other.port)


class UrlGuard:
    """Checks http(s) URLs against the private-address rule, with an admin allow-list.

    ``allowed_hosts`` holds hostnames, IP addresses or CIDRs (``MUSICBOT_ALLOWED_HOSTS``); a
    hostname on the list is allowed whatever it resolves to, an address or network exempts the
    addresses inside it. ``vet`` is blocking (any thread but the event loop's), ``check`` its
    coroutine for the event loop.
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

    def vet(self, url: str, *, redirected: bool = False) -> Target:
        """The ``Target`` of ``url``: its host resolved once and every address checked.

        Blocking (DNS): call from a worker or decoder thread. Raises ``UnsupportedError`` for
        other schemes, ``NetworkError`` when the name does not resolve, ``BlockedUrlError`` when
        any address is refused (``redirected`` words the message for a redirect's target).
        """
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            if scheme:
                raise UnsupportedError(lazy("Only http and https links are supported, not {scheme}.", scheme=scheme))
            raise UnsupportedError(lazy("Only http and https links are supported, not this."))
        host = (parts.hostname or "").rstrip(".").lower()
        if not host:
            raise UnsupportedError(lazy("That link has no host name."))
        try:
            port = parts.port or _DEFAULT_PORTS[scheme]
        except ValueError as err:
            raise UnsupportedError(lazy("That link has an invalid port.")) from err
        literal = literal_address(host)
        if literal is not None:
            addresses: list[IpAddress] = [literal]
        else:
            resolved = self._resolve_host(host)
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolved]
            if not addresses:
                raise NetworkError(lazy("The host {host} could not be found.", host=host))
        if host not in self._allowed_names:
            for address in addresses:
                if not self._address_allowed(address):
                    where = host if host.strip("[]") == str(address) else f"{host} ({address})"
                    if redirected:
                        raise BlockedUrlError(lazy(
                            "Refused: the link redirects to {where}, which is a private, loopback or link-local "
                            "address. An admin can allow it with MUSICBOT_ALLOWED_HOSTS.", where=where))
                    raise BlockedUrlError(lazy(
                        "Refused: {where} is a private, loopback or link-local address. An admin can allow it "
                        "with MUSICBOT_ALLOWED_HOSTS.", where=where))
        return Target(scheme, host, port, tuple(str(a) for a in addresses))

    async def check(self, url: str) -> Target:
        """``vet`` from the event loop (the DNS lookup runs in a worker thread)."""
        return await asyncio.to_thread(self.vet, url)
