"""The packet's seal and send made with the GIL held (voice/gil_held.py) do what discord.py's calls
did: the same sealed bytes as PyNaCl's binding, the datagram delivered, a failure an OSError."""

from __future__ import annotations

import os
import socket

import pytest
from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_decrypt, crypto_aead_xchacha20poly1305_ietf_encrypt
from nacl.exceptions import CryptoError

from musicbot.voice import gil_held
from musicbot.voice.gil_held import Sealer, send_datagram


def test_a_sealed_packet_is_what_pynacl_makes_and_opens() -> None:
    key, header, nonce = os.urandom(32), os.urandom(12), os.urandom(4) + bytes(20)
    sealer = Sealer(key)
    assert gil_held._encrypt is not None  # this PyNaCl exports libsodium's function: the held call is used
    for size in (3, 320, 1275):
        payload = os.urandom(size)
        sealed = sealer.seal(payload, header, nonce)
        assert sealed == crypto_aead_xchacha20poly1305_ietf_encrypt(payload, header, nonce, key)
        assert crypto_aead_xchacha20poly1305_ietf_decrypt(sealed, header, nonce, key) == payload


def test_a_bad_key_or_an_oversized_packet_is_refused_with_a_reason() -> None:
    with pytest.raises(CryptoError, match="16 bytes, not 32"):
        Sealer(bytes(16))
    with pytest.raises(CryptoError, match="too large"):
        Sealer(bytes(32)).seal(bytes(5000), b"", bytes(24))


def test_a_datagram_reaches_the_other_end_and_a_failed_send_raises() -> None:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.setblocking(False)  # as discord.py's voice socket
    sender.connect(receiver.getsockname())
    try:
        send_datagram(sender, b"\x90\x78rtp")
        receiver.settimeout(2)
        assert receiver.recv(100) == b"\x90\x78rtp"
        unconnected = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with pytest.raises(OSError), unconnected:
            send_datagram(unconnected, b"nowhere to go")  # as sendall: no destination
    finally:
        sender.close()
        receiver.close()


def test_without_the_held_functions_the_usual_calls_do_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """A PyNaCl or C library that does not export them: nacl.bindings' function and sendall."""
    key, header, nonce, payload = os.urandom(32), os.urandom(12), os.urandom(4) + bytes(20), os.urandom(200)
    held = Sealer(key).seal(payload, header, nonce)
    monkeypatch.setattr(gil_held, "_encrypt", None)
    monkeypatch.setattr(gil_held, "_send", None)
    assert Sealer(key).seal(payload, header, nonce) == held
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    with receiver, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.connect(receiver.getsockname())
        send_datagram(sender, b"plain")
        receiver.settimeout(2)
        assert receiver.recv(100) == b"plain"
