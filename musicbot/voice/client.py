"""``VoiceClient``: discord.py's voice client, played by the shared sender (``voice/sender.py``)
and telling the source when its packet has gone out.

Why the telling: the ``Player`` asks its render worker for the next packet once it has handed out
the current one. Asked inside ``read()``, that request (forwarding source chunks, a socket write)
would run before the packet is encrypted and sent. Told after the send, the player asks then
instead, with a whole frame of time for it. discord.py has no such hook; this subclass adds it.
The silence frames sent at a pause and at the end are announced too: the ``Player`` only acts on
a send that follows its own ``read``.

A source that is not Opus (none of ours) still plays on discord.py's own thread, which asks for
real-time priority at its first packet (``voice/realtime.py``); the shared sender does at its start.

Each packet is sealed with the same AEAD discord.py uses (``aead_xchacha20_poly1305_rtpsize``) and
sent without handing the GIL over (``voice/gil_held.py``), by a sealer made once per session key:
discord.py builds a ``nacl.secret.Aead`` box from the key's 32-int list for every packet.

On close code 4015 (the voice server crashed) the connection resumes in place (``_ResumingState``).

A discord.py send thread whose player was stopped while it was inside ``read()`` (a disconnect)
does not wait out discord.py's whole connect timeout for a connection that is gone
(``wait_until_connected``).

``send_lateness_s`` reads the sender's schedule for ``musicbot_voice_packets_late_total``
(``musicbot/metrics.py`` defines "late").
"""

from __future__ import annotations

import asyncio
import logging
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

import discord
from discord.errors import ConnectionClosed
from discord.gateway import DiscordVoiceWebSocket
from discord.voice_state import ConnectionFlowState, VoiceConnectionState

from musicbot.audio import FRAME_SAMPLES
from musicbot.voice.gil_held import Sealer, send_datagram
from musicbot.voice.realtime import promote_current_thread
from musicbot.voice.sender import SharedPlayer, current_lateness_s, shared_sender

log = logging.getLogger(__name__)


def send_lateness_s() -> float | None:
    """On the sending thread: how long after its slot the packet being sent goes out. None on any other
    thread.

    The shared sender (``voice/sender.py``) says so itself. discord.py's ``AudioPlayer`` (a source
    that is not Opus still plays through it) counts ``loops`` from ``_start`` (both reset at a
    resume and a reconnect) and, after sending packet ``loops``, sleeps ``DELAY + (start + loops ×
    DELAY − now)``: the first packet goes at ``start`` and packet n ≥ 1 at ``start + (n + 1) ×
    DELAY``. The first packet opens the schedule and is never late (a listener has nothing to
    expect it by; the receiver-side count of ``benchmarks/voice_load.py`` skips it too).
    tests/voice/test_lateness.py runs the sender on a fake clock to hold this to it.
    """
    shared = current_lateness_s()
    if shared is not None:
        return shared
    thread = threading.current_thread()
    if not isinstance(thread, discord.player.AudioPlayer):
        return None
    # Private attributes of discord.py 2.7's AudioPlayer (pinned <2.8): if they move, lateness is unknown.
    start: float | None = getattr(thread, "_start", None)
    loops: int | None = getattr(thread, "loops", None)
    if start is None or loops is None:
        return None
    if not loops:
        return 0.0
    return time.perf_counter() - (start + (loops + 1) * thread.DELAY)


class _ResumingState(VoiceConnectionState):
    """discord.py 2.7.1 answers close code 4015 (its only ``resume=True`` connect) with a new voice
    state update, takes Discord's answering VOICE_SERVER_UPDATE for a server move and then waits out
    its whole connect timeout (~10 s of silence) before giving up. Discord's voice protocol says:
    reconnect the websocket to the same endpoint and RESUME (op 7), keeping the SSRC, the key and
    the UDP socket; the send thread waits while the state is not connected and carries on where it
    was. If the resume fails, the connection is reported lost (``VoiceClient.lost``) so the session
    joins again at once instead of taking the ended connection for a kick."""

    async def _connect(self, reconnect: bool, timeout: float, self_deaf: bool, self_mute: bool,
                       resume: bool) -> None:
        if not resume:
            await super()._connect(reconnect, timeout, self_deaf, self_mute, resume)
            return
        previous = self.ws
        try:
            self.ws = await asyncio.wait_for(self._resume_websocket(), timeout)
        except (ConnectionClosed, OSError, TimeoutError) as error:
            log.warning("voice resume failed in guild %s (%s); joining again", self.guild.id, error)
            client = self.voice_client
            if isinstance(client, VoiceClient):
                client.lost = True
            raise TimeoutError from error  # discord.py disconnects; the session rejoins
        finally:
            if previous is not self.ws:
                await previous.close()
        self.state = ConnectionFlowState.connected  # the send thread, waiting for this, carries on

    def send_packet(self, packet: bytes) -> None:
        send_datagram(self.socket, packet)  # with the GIL held (voice/gil_held.py)

    async def _resume_websocket(self) -> DiscordVoiceWebSocket:
        ws = await self._connect_websocket(True)  # sends RESUME (op 7)
        resumed = asyncio.Event()
        original = ws._hook

        async def watch(socket: DiscordVoiceWebSocket, message: dict[str, Any]) -> None:
            if message.get("op") == DiscordVoiceWebSocket.RESUMED:
                resumed.set()
            await original(socket, message)

        setattr(ws, "_hook", watch)  # noqa: B010 - discord.py's per-message hook, private
        try:
            while not resumed.is_set():
                await ws.poll_event()  # a refused resume closes the socket: ConnectionClosed
        finally:
            setattr(ws, "_hook", original)  # noqa: B010
        # A resumed session keeps its key (no new SESSION_DESCRIPTION comes).
        ws.secret_key = self.secret_key
        return ws


_NONCE_PADDING = bytes(20)  # the rtpsize nonce: a 4-byte big-endian counter, then zeros
_RTPSIZE_MODE = "aead_xchacha20_poly1305_rtpsize"
_RTP_HEADER = struct.Struct(">BBHII")  # version 2, payload type 0x78, sequence, timestamp, SSRC
_U16_MAX, _U32_MAX = 65535, 4294967295


def _wrapping_add(value: int, step: int, limit: int) -> int:
    """discord.py's ``checked_add`` as a value: past ``limit`` the counter starts again at 0."""
    value += step
    return 0 if value > limit else value


class VoiceClient(discord.VoiceClient):
    # Set when the connection ended without anyone closing it (a failed resume): the session rejoins.
    lost = False
    _key_source: object = None  # the connection's secret_key list the sealer was made for
    _sealer: Sealer | None = None

    def _encrypt_aead_xchacha20_poly1305_rtpsize(self, header: bytes, data: Any) -> bytes:
        """discord.py's packet layout (header, sealed payload, the nonce's 4 counter bytes), sealed
        with the GIL held (``voice/gil_held.py``) by a sealer made once per session description (a
        reconnect brings a new key list)."""
        secret = self._connection.secret_key
        sealer = self._sealer
        if secret is not self._key_source or sealer is None:
            sealer = self._sealer = Sealer(bytes(secret))
            self._key_source = secret
        counter = self._incr_nonce.to_bytes(4, "big")
        self._incr_nonce = _wrapping_add(self._incr_nonce, 1, _U32_MAX)
        aad = bytes(header)
        return aad + sealer.seal(bytes(data), aad, counter + _NONCE_PADDING) + counter

    def _send_opus(self, data: bytes) -> bool:
        """discord.py 2.7's ``send_audio_packet`` for an Opus packet in the rtpsize AEAD mode, in one
        piece: the same header (sequence and timestamp wrapping as its ``checked_add``), the same seal,
        the same send. Its path costs a few µs more a packet in calls (three ``checked_add``, a header
        built field by field, the mode's method looked up by name), paid for every packet of every
        guild on the one sender thread. False (nothing sent) where discord.py's own path is needed:
        another mode, or a DAVE (end-to-end encryption) session."""
        connection = self._connection
        if connection.mode != _RTPSIZE_MODE or connection.dave_session is not None:
            return False
        self.sequence = _wrapping_add(self.sequence, 1, _U16_MAX)
        header = _RTP_HEADER.pack(0x80, 0x78, self.sequence, self.timestamp, connection.ssrc)
        packet = self._encrypt_aead_xchacha20_poly1305_rtpsize(header, data)
        try:
            connection.send_packet(packet)
        except OSError:
            log.debug("a packet has been dropped (seq: %s, timestamp: %s)", self.sequence, self.timestamp)
        self.timestamp = _wrapping_add(self.timestamp, FRAME_SAMPLES, _U32_MAX)
        return True

    def create_connection_state(self) -> VoiceConnectionState:
        return _ResumingState(self)

    def wait_until_connected(self, timeout: float | None = 30.0) -> bool:
        # discord.py 2.7's race: disconnect stops the player, then wakes the threads waiting for a
        # connection; a send thread still inside read() at that moment starts waiting afterwards
        # and lingers for the whole timeout (10 s). A player that is no longer ours gives up now.
        current = threading.current_thread()
        if isinstance(current, discord.player.AudioPlayer) and current is not self._player:
            return False
        return super().wait_until_connected(timeout)

    def play(self, source: discord.AudioSource, *, after: Callable[[Exception | None], Any] | None = None,
             **encoder: Any) -> None:
        """As discord.py's, but sent by the process's one sender thread (``voice/sender.py`` says
        why); a source that is not Opus (none of ours) still gets discord.py's own thread."""
        if not source.is_opus():
            super().play(source, after=after, **encoder)
            return
        if not self.is_connected():
            raise discord.ClientException("Not connected to voice.")
        if self.is_playing():
            raise discord.ClientException("Already playing audio.")
        player = SharedPlayer(source, self, after=after, sender=shared_sender())
        self._player = player  # type: ignore[assignment]  # AudioPlayer's interface, another thread
        player.start()

    def send_audio_packet(self, data: bytes, *, encode: bool = True) -> None:
        if isinstance(threading.current_thread(), discord.player.AudioPlayer):  # never the event loop
            promote_current_thread()  # once per thread, then a lookup
        if encode or not self._send_opus(data):
            super().send_audio_packet(data, encode=encode)
        # The source's after_send, if it has one: getattr, not a runtime-checkable protocol's
        # isinstance, which cost ~15 µs a packet.
        after_send = getattr(self.source, "after_send", None)
        if after_send is not None:
            after_send()
