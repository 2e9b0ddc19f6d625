"""The private-address guard: direct addresses, DNS names, redirects, and the admin allow-list."""

from __future__ import annotations

import asyncio
import re

import pytest

from musicbot.sources.errors import BlockedUrlError, UnsupportedError
from musicbot.sources.guarded_http import GuardedHttp
from musicbot.sources.http import HttpBackend
from musicbot.sources.ssrf import UrlGuard, literal_address
from tests.sources.server import MediaServer

FAKE_DNS = {"intranet.example": ["192.168.1.20"], "mixed.example": ["93.184.216.34", "10.1.2.3"],
            "public.example": ["93.184.216.34", "2606:2800:220:1::1"], "v6.example": ["fd00::5"]}


def fake_dns(host: str) -> list[str]:
    return FAKE_DNS[host]


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/x.mp3", "http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://[::1]:8080/",
    "http://0.0.0.0/", "http://[::ffff:127.0.0.1]/", "http://[fe80::1]/", "http://224.0.0.1/", "http://100.64.0.1/",
    "https://intranet.example/stream", "http://mixed.example/", "http://v6.example/",
    "http://[64:ff9b::7f00:1]/", "http://[::127.0.0.1]/", "http://[fec0::1]/", "http://[2001::7f00:1]/",
    "http://0/", "http://[::]/", "http://255.255.255.255/",
])
async def test_private_targets_are_refused(url: str) -> None:
    with pytest.raises(BlockedUrlError, match="private, loopback or link-local"):
        await UrlGuard(resolve_host=fake_dns).check(url)


async def test_public_targets_pass() -> None:
    guard = UrlGuard(resolve_host=fake_dns)
    await guard.check("https://public.example/song.mp3")
    await guard.check("http://93.184.216.34/")


async def test_allow_list_takes_addresses_cidrs_and_host_names() -> None:
    await UrlGuard(("127.0.0.1",)).check("http://127.0.0.1:9/a.mp3")
    await UrlGuard(("10.0.0.0/8",), resolve_host=fake_dns).check("http://mixed.example/")
    await UrlGuard(("intranet.example",), resolve_host=fake_dns).check("https://intranet.example/")
    await UrlGuard(("::1",)).check("http://[::1]/")
    with pytest.raises(BlockedUrlError):
        await UrlGuard(("127.0.0.1",)).check("http://127.0.0.2/")


async def test_other_schemes_are_unsupported() -> None:
    for url in ("ftp://example.com/a.mp3", "file:///etc/passwd", "gopher://x/"):
        with pytest.raises(UnsupportedError):
            await UrlGuard().check(url)


async def test_a_redirect_to_a_private_address_is_refused(server: MediaServer) -> None:
    guard = UrlGuard(("127.0.0.1",), resolve_host=fake_dns)
    for target in ("http://10.0.0.1/x.mp3", "http://intranet.example/x.mp3", "http://[::1]/"):
        with pytest.raises(BlockedUrlError):
            await HttpBackend(guard).probe(server.url(f"/redirect?to={target}"))
    assert not any(p == "/x.mp3" for p, _ in server.log)


async def test_a_redirect_to_an_allowed_target_is_followed(server: MediaServer) -> None:
    guard = UrlGuard(("127.0.0.1",))
    fetched = await asyncio.to_thread(GuardedHttp(guard).open, server.url("/redirect?to=/files/music.mp3"))
    fetched.response.close()
    assert fetched.url == server.url("/files/music.mp3") and fetched.target.addresses == ("127.0.0.1",)
    track = await HttpBackend(guard).probe(server.url("/redirect?to=/files/music.mp3"))
    assert track is not None and track.title == "music"


@pytest.mark.parametrize(("host", "address"), [
    ("2130706433", "127.0.0.1"), ("0x7f000001", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"), ("127.1", "127.0.0.1"),
    ("0x7f.1", "127.0.0.1"), ("[::ffff:127.0.0.1]", "::ffff:7f00:1"), ("10.1", "10.0.0.1"),
])
def test_every_spelling_of_an_address_is_read_as_that_address(host: str, address: str) -> None:
    parsed = literal_address(host)
    assert parsed is not None and str(parsed) == address
    with pytest.raises(BlockedUrlError, match=re.escape(host.strip("[]"))):
        UrlGuard(resolve_host=fake_dns).vet(f"http://{host}/")  # no lookup: the fake knows no such name


def test_names_that_only_look_numeric_are_looked_up() -> None:
    assert literal_address("1.2.3.4.5") is None and literal_address("cafe.example") is None


def test_the_target_names_the_validated_addresses_in_the_resolvers_order() -> None:
    target = UrlGuard(resolve_host=fake_dns).vet("https://public.example:8443/a.mp3")
    assert target.addresses == ("93.184.216.34", "2606:2800:220:1::1")
    assert (target.scheme, target.host, target.port) == ("https", "public.example", 8443)


async def test_without_the_allow_list_the_local_test_server_is_refused(server: MediaServer) -> None:
    with pytest.raises(BlockedUrlError, match=re.escape("127.0.0.1")):
        await HttpBackend(UrlGuard()).probe(server.url("/files/music.mp3"))
    assert server.log == []
