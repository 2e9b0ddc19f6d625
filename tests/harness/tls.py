"""A self-signed certificate for 127.0.0.1, made in the test, for the fake's TLS voice endpoint.

discord.py hard-codes ``wss://`` for voice; a bot running as a subprocess cannot be patched to use ``ws://``
(the in-process harness does that with ``make_offline``), so the fake really serves TLS and the bot trusts the
certificate only through ``SSL_CERT_FILE``. Made with the ``openssl`` command (the ``cryptography`` package is
not a dependency of the project).
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class SelfSignedCert:
    cert: Path  # PEM certificate: what SSL_CERT_FILE points at (it is its own CA)
    key: Path  # PEM private key, unencrypted


def openssl_available() -> bool:
    return shutil.which("openssl") is not None


def make_self_signed_cert(folder: Path, *, ip: str = "127.0.0.1", days: int = 2) -> SelfSignedCert:
    """A fresh RSA key and certificate valid for ``ip`` (subjectAltName, which hostname checks use)."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "fake-discord.pem", folder / "fake-discord.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", str(days),
         "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={ip}",
         "-addext", f"subjectAltName=IP:{ip}", "-addext", "basicConstraints=critical,CA:TRUE"],
        check=True, capture_output=True, timeout=60,
    )
    return SelfSignedCert(cert, key)


def server_context(cert: SelfSignedCert) -> ssl.SSLContext:
    """The fake's side of the TLS handshake."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert.cert, cert.key)
    return context


def client_context(cert: SelfSignedCert) -> ssl.SSLContext:
    """A client context that trusts only ``cert`` (for in-process checks of the TLS endpoint)."""
    return ssl.create_default_context(cafile=str(cert.cert))


__all__ = ["SelfSignedCert", "client_context", "make_self_signed_cert", "openssl_available", "server_context"]
