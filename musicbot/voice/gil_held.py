"""The two C calls of every voice packet, made without handing the GIL over: sealing (libsodium's
XChaCha20-Poly1305, the AEAD discord.py uses) and the UDP send.

Why: a call that releases the GIL (cffi's calls, ``socket.sendall``) lets any thread waiting for
it take it, and the sender then waits for it back until that thread's switch interval runs out
(1 ms, ``voice/processes.py``). Each packet's two calls take a few µs of C; releasing the GIL for
them bought nothing, and while other threads were busy it cost the sender up to a millisecond a
call: 100 guilds starting at once (``benchmarks/voice_load.py``, passthrough) sent 500-3,700
packets late in their first second, 36-87 with these calls. ``ctypes.PyDLL`` is the standard
library's way to call C with the GIL held; the functions are PyNaCl's own libsodium (its private
``_sodium`` extension exports them) and the C library's ``send``.

Where either is missing (another C library, a PyNaCl built differently), the usual calls are used:
``nacl.bindings``' function and ``socket.sendall``.
"""

from __future__ import annotations

import ctypes
import errno
import importlib.util
import logging
import socket
from typing import Any

from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_encrypt
from nacl.exceptions import CryptoError

log = logging.getLogger(__name__)

_SEALED_MAX = 4096  # bytes a sealed payload may take: an Opus packet is at most 1275, the tag 16
_TAG_BYTES = 16
_KEY_BYTES = 32
_MSG_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)


def _held_function(library: str | None, name: str, restype: Any, argtypes: list[Any], *,
                   main_program: bool = False) -> Any:
    if library is None and not main_program:
        log.info("%s is called with the GIL released (PyNaCl's libsodium not found)", name)
        return None
    try:
        function = getattr(ctypes.PyDLL(library, use_errno=True), name)
    except (OSError, AttributeError):
        log.info("%s is called with the GIL released (not found in %s)", name, library or "the C library")
        return None
    function.restype, function.argtypes = restype, argtypes
    return function


def _sodium_path() -> str | None:
    """Where PyNaCl's libsodium is: its private ``_sodium`` extension (the symbols are exported)."""
    try:
        spec = importlib.util.find_spec("nacl._sodium")
    except ImportError:
        return None
    return None if spec is None else spec.origin


_encrypt = _held_function(_sodium_path(), "crypto_aead_xchacha20poly1305_ietf_encrypt", ctypes.c_int, [
    ctypes.c_char_p, ctypes.POINTER(ctypes.c_ulonglong), ctypes.c_char_p, ctypes.c_ulonglong, ctypes.c_char_p,
    ctypes.c_ulonglong, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p])
_send = _held_function(None, "send", ctypes.c_ssize_t, [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int],
                       main_program=True) if _MSG_DONTWAIT else None


class Sealer:
    """One connection's packet sealing: its key (checked once) and an output buffer kept."""

    def __init__(self, key: bytes) -> None:
        if len(key) != _KEY_BYTES:
            raise CryptoError(f"the voice session's key has {len(key)} bytes, not {_KEY_BYTES}")
        self.key = key
        self._out = ctypes.create_string_buffer(_SEALED_MAX)
        self._length = ctypes.c_ulonglong()

    def seal(self, message: bytes, aad: bytes, nonce: bytes) -> bytes:
        """``message`` encrypted and authenticated with ``aad``; ``nonce`` is 24 bytes."""
        if len(message) + _TAG_BYTES > _SEALED_MAX:
            raise CryptoError(f"a voice packet of {len(message)} bytes is too large to send")
        if _encrypt is None:
            return crypto_aead_xchacha20poly1305_ietf_encrypt(message, aad, nonce, self.key)
        if _encrypt(self._out, ctypes.byref(self._length), message, len(message), aad, len(aad), None, nonce,
                    self.key) != 0:
            raise CryptoError("encrypting a voice packet failed")
        return self._out.raw[:self._length.value]


def send_datagram(sock: socket.socket, packet: bytes) -> None:
    """Send ``packet`` on the connected UDP socket ``sock``, as ``sock.sendall`` would (its errors
    as ``OSError``), without waiting: a full send buffer falls back to ``sendall``."""
    if _send is None:
        sock.sendall(packet)
        return
    if _send(sock.fileno(), packet, len(packet), _MSG_DONTWAIT) >= 0:
        return
    code = ctypes.get_errno()
    if code in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR):
        sock.sendall(packet)
        return
    raise OSError(code, f"sending a voice packet failed: {errno.errorcode.get(code, code)}")
