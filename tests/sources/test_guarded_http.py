"""The guarded client itself: which address it connects to, what it sends, and the file PyAV reads."""

from __future__ import annotations

import io
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from musicbot.sources.errors import NetworkError
from musicbot.sources.guarded_http import GuardedHttp
from musicbot.sources.remote_file import RemoteFile
from musicbot.sources.ssrf import UrlGuard
from tests.sources.server import MediaServer, serve
from tests.sources.ssrf_servers import Servers, serve_attack


@pytest.fixture(scope="module")
def attack(media_dir: Path) -> Iterator[Servers]:
    with serve_attack(media_dir) as servers:
        yield servers


def test_it_connects_to_the_next_validated_address_when_one_is_unreachable(attack: Servers) -> None:
    attack.reset()
    # 127.0.0.3 has nothing listening on the port; 127.0.0.1 has (both allowed here, as an admin would)
    guard = UrlGuard(("127.0.0.0/8",), resolve_host=lambda host: ["127.0.0.3", "127.0.0.1"])
    fetched = GuardedHttp(guard).open(f"http://two.example:{attack.port}/song")
    fetched.response.close()
    assert fetched.response.status == 200
    assert attack.secret.log == [f"two.example:{attack.port}/song"]  # the name travels in the Host header


def test_the_name_is_looked_up_once_per_request_not_by_the_connection(attack: Servers) -> None:
    attack.reset()
    lookups: list[str] = []

    def resolve(host: str) -> list[str]:
        lookups.append(host)
        return ["127.0.0.2"]

    # "localhost" would be 127.0.0.1 to the system; the validated answer is what is connected to
    fetched = GuardedHttp(UrlGuard(("127.0.0.2",), resolve_host=resolve)).open(
        f"http://localhost:{attack.port}/r/once/music.wav")
    fetched.response.close()
    assert lookups == ["localhost"]
    assert attack.secret.log == [] and attack.public.log


def read_exactly(remote: RemoteFile, size: int) -> bytes:
    """``read`` returns what has arrived (as PyAV expects); collect ``size`` bytes or the end."""
    parts: list[bytes] = []
    while size > 0 and (part := remote.read(size)):
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def test_remote_file_reads_and_seeks_like_the_file_itself(server: MediaServer, media_dir: Path) -> None:
    data = (media_dir / "music.mp3").read_bytes()
    remote = RemoteFile(GuardedHttp(UrlGuard(("127.0.0.1",))), server.url("/files/music.mp3"))
    assert remote.seekable() and remote.length == len(data)
    assert read_exactly(remote, 100) == data[:100]
    remote.seek(-128, io.SEEK_END)
    assert read_exactly(remote, 128) == data[-128:]
    assert read_exactly(remote, 10) == b""
    remote.seek(1000)
    assert read_exactly(remote, 50) == data[1000:1050]
    remote.seek(1050 + 5000)  # a short hop forward reads through the open body: no new request
    requests = len(server.log)
    assert read_exactly(remote, 10) == data[6050:6060]
    assert len(server.log) == requests
    remote.close()


@pytest.fixture(scope="module")
def tls_server(media_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MediaServer, Path]]:
    """An HTTPS server on 127.0.0.2 with a certificate for ``media.test`` from a throwaway CA
    (made with the openssl command line: no library for it is installed)."""
    folder = tmp_path_factory.mktemp("tls")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=musicbot test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=media.test")
    (folder / "san.ext").write_text("subjectAltName=DNS:media.test\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "san.ext")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "server.pem", folder / "server.key")
    with serve(media_dir, host="127.0.0.2", tls=context) as server:
        yield server, folder / "ca.pem"


def test_https_connects_to_the_validated_address_and_checks_the_certificate_of_the_name(
        tls_server: tuple[MediaServer, Path]) -> None:
    server, ca = tls_server
    port = server.base.rsplit(":", 1)[1]
    guard = UrlGuard(("127.0.0.2",), resolve_host=lambda host: ["127.0.0.2"])
    http = GuardedHttp(guard, ca_file=str(ca))
    fetched = http.open(f"https://media.test:{port}/files/music.mp3")
    assert fetched.response.status == 200 and fetched.response.read(4)
    fetched.response.close()
    # same address, another name: the server's certificate is not for it, so nothing is exchanged
    with pytest.raises(NetworkError) as caught:
        http.open(f"https://other.test:{port}/files/music.mp3")
    assert "doesn't match 'media.test'" in str(caught.value.detail)
