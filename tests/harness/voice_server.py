"""The fake's voice side: the voice gateway websocket (``dave_protocol_version`` 0) and the voice UDP socket.

Every voice websocket gets its own SSRC and secret key at IDENTIFY; the SSRC is mapped to the guild
from IDENTIFY's ``server_id``, so many guilds can stream at once over the one UDP socket. A RESUME (op 7)
keeps the guild's session (same SSRC/key) and is answered with RESUMED (op 9). The UDP socket is served by
a dedicated thread that takes the kernel receive timestamp (``SO_TIMESTAMPNS``) of each datagram, converted
to the ``time.perf_counter()`` clock, so arrival times do not depend on how busy the event loop is.

:class:`VoiceServer` is the base of :class:`~tests.harness.fake_discord.FakeDiscord`, which serves the websocket
on its aiohttp app (at ``/``, plain and optionally TLS) and starts/stops the UDP socket with itself.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import nacl.secret
from aiohttp import web

from .payloads import Payload

VOICE_MODES = ["aead_aes256_gcm_rtpsize", "aead_xchacha20_poly1305_rtpsize"]
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux value; CPython does not export it

@dataclass(slots=True)
class VoiceFrame:
    """One frame the bot sent on a voice websocket (``op`` -1 … for binary frames: ``d`` is the raw bytes)."""

    guild_id: int | None
    op: int
    d: Any
    t: float


@dataclass(slots=True, frozen=True)
class RtpPacket:
    guild_id: int | None  # None if the SSRC is unknown (never announced in a READY)
    seq: int
    timestamp: int
    ssrc: int
    opus: bytes  # decrypted payload (b'' if decryption failed)
    t_recv: float  # kernel receive time on the perf_counter clock (falls back to perf_counter at handling)
    t_handled: float = 0.0  # perf_counter when the receiver thread handled it


@dataclass(slots=True)
class VoiceSession:
    guild_id: int
    ssrc: int
    secret_key: bytes
    user_id: int
    session_id: str
    mode: str | None = None
    identified_at: float = field(default_factory=time.perf_counter)
    resumes: int = 0


class VoiceServer:
    """Voice websocket handler and UDP receiver; state read freely from tests:
      ``voice_frames``  every JSON frame any bot sent on any voice websocket (:class:`VoiceFrame`)
      ``rtp``           every RTP packet received, all guilds, in arrival order (:class:`RtpPacket`)
      ``sessions``      guild id → current :class:`VoiceSession`
    """

    def __init__(self, *, heartbeat_interval_ms: float = 5000.0) -> None:
        self.voice_frames: list[VoiceFrame] = []
        self.rtp: list[RtpPacket] = []
        self.sessions: dict[int, VoiceSession] = {}
        self.udp_errors: list[str] = []
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.udp_port = 0
        self._ssrcs = itertools.count(1001)
        self._ssrc_session: dict[int, VoiceSession] = {}
        self._voice_ws: dict[int, web.WebSocketResponse] = {}
        self._rtp_lock = threading.Lock()
        self._udp: _UdpReceiver | None = None

    def _start_udp(self) -> None:
        self._udp = _UdpReceiver(self)
        self._udp.start()
        self.udp_port = self._udp.port

    async def _stop_voice(self) -> None:
        for ws in list(self._voice_ws.values()):
            await ws.close()
        if self._udp is not None:
            self._udp.stop()
            self._udp = None

    # ------------------------------------------------------------------ voice gateway (dave_protocol_version 0)
    def voice_frames_for(self, guild_id: int, op: int | None = None) -> list[VoiceFrame]:
        return [f for f in self.voice_frames if f.guild_id == guild_id and (op is None or f.op == op)]

    def speaking(self, guild_id: int) -> list[int]:
        """The ``speaking`` flags of every SPEAKING (op 5) frame the bot sent for a guild, in order."""
        return [int(f.d["speaking"]) for f in self.voice_frames_for(guild_id, 5)]

    async def close_voice(self, guild_id: int, code: int = 4015) -> None:
        """Close the guild's voice websocket from the server side (4015 = voice server crashed → bot resumes;
        4014 = disconnected/moved; 4006 = session invalid)."""
        ws = self._voice_ws.get(guild_id)
        if ws is not None:
            await ws.close(code=code)

    def _new_session(self, d: Payload) -> VoiceSession:
        sess = VoiceSession(
            guild_id=int(d["server_id"]),
            ssrc=next(self._ssrcs),
            secret_key=os.urandom(32),
            user_id=int(d.get("user_id") or 0),
            session_id=str(d.get("session_id")),
        )
        self.sessions[sess.guild_id] = sess
        self._ssrc_session[sess.ssrc] = sess
        return sess

    async def _voice_ws_handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=True)
        await ws.prepare(request)
        seq = itertools.count(1)
        sess: VoiceSession | None = None
        await ws.send_json({"op": 8, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})  # HELLO
        try:
            async for msg in ws:
                now = time.perf_counter()
                if msg.type is aiohttp.WSMsgType.BINARY:
                    raw: bytes = msg.data
                    self.voice_frames.append(
                        VoiceFrame(sess.guild_id if sess else None, raw[0] if raw else -1, raw, now)
                    )
                    continue
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    continue
                p = json.loads(msg.data)
                op, d = p["op"], p.get("d")
                if op == 0:  # IDENTIFY -> READY
                    sess = self._new_session(d)
                    self._voice_ws[sess.guild_id] = ws
                elif op == 7:  # RESUME -> RESUMED (same ssrc/key), or a fresh session if unknown
                    gid = int(d["server_id"])
                    sess = self.sessions.get(gid) or self._new_session(d)
                    sess.resumes += 1
                    self._voice_ws[gid] = ws
                self.voice_frames.append(VoiceFrame(sess.guild_id if sess else None, op, d, now))
                if op == 0 and sess is not None:
                    await ws.send_json(
                        {
                            "op": 2,
                            "seq": next(seq),
                            "d": {
                                "ssrc": sess.ssrc,
                                "ip": "127.0.0.1",
                                "port": self.udp_port,
                                "modes": VOICE_MODES,
                                "experiments": [],
                            },
                        }
                    )
                elif op == 7:
                    await ws.send_json({"op": 9, "seq": next(seq), "d": None})
                elif op == 1 and sess is not None:  # SELECT_PROTOCOL -> SESSION_DESCRIPTION
                    sess.mode = d["data"]["mode"]
                    await ws.send_json(
                        {
                            "op": 4,
                            "seq": next(seq),
                            "d": {
                                "mode": sess.mode,
                                "secret_key": list(sess.secret_key),
                                "dave_protocol_version": 0,
                                "audio_codec": "opus",
                                "media_session_id": "fake-media",
                            },
                        }
                    )
                elif op == 3:  # HEARTBEAT -> HEARTBEAT_ACK
                    await ws.send_json({"op": 6, "d": {"t": d["t"] if isinstance(d, dict) else d}})
        finally:
            if sess is not None and self._voice_ws.get(sess.guild_id) is ws:
                del self._voice_ws[sess.guild_id]
        return ws

    # ------------------------------------------------------------------ voice UDP (called from the receiver thread)
    def packets(self, guild_id: int | None = None) -> list[RtpPacket]:
        """RTP packets in arrival order, for one guild or all."""
        with self._rtp_lock:
            pk = list(self.rtp)
        return pk if guild_id is None else [p for p in pk if p.guild_id == guild_id]

    def _on_rtp(self, data: bytes, t_recv: float, t_handled: float) -> None:
        # aead_xchacha20_poly1305_rtpsize: header(12 [+4*CC] [+4 ext hdr]) | ciphertext+tag | nonce counter (4)
        cc = data[0] & 0x0F
        hlen = 12 + 4 * cc + (4 if data[0] & 0x10 else 0)
        seq, ts, ssrc = struct.unpack_from(">HII", data, 2)
        sess = self._ssrc_session.get(ssrc)
        opus = b""
        if sess is None:
            self.udp_errors.append(f"unknown ssrc {ssrc}")
        else:
            try:
                opus = nacl.secret.Aead(sess.secret_key).decrypt(data[hlen:-4], data[:hlen], data[-4:] + bytes(20))
            except Exception as exc:  # wrong key/mode
                self.udp_errors.append(f"decrypt ssrc {ssrc}: {exc!r}")
            if data[0] & 0x10 and opus:  # strip the (encrypted) extension body
                ext_words = struct.unpack_from(">H", data, 14 + 4 * cc)[0]
                opus = opus[4 * ext_words :]
        pkt = RtpPacket(sess.guild_id if sess else None, seq, ts, ssrc, opus, t_recv, t_handled)
        with self._rtp_lock:
            self.rtp.append(pkt)


class _UdpReceiver(threading.Thread):
    """Blocking UDP server on its own thread; kernel receive timestamps via SO_TIMESTAMPNS."""

    def __init__(self, fake: VoiceServer) -> None:
        super().__init__(name="fake-discord-udp", daemon=True)
        self.fake = fake
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            self._kernel_ts = True
        except OSError:
            self._kernel_ts = False
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port: int = self.sock.getsockname()[1]
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()
        self.join(2)
        self.sock.close()

    def run(self) -> None:
        while not self._stopped.is_set():
            try:
                data, anc, _flags, addr = self.sock.recvmsg(65536, 256)
            except TimeoutError:
                continue
            except OSError:
                return
            perf = time.perf_counter()
            t_recv = perf
            if anc:
                real_ns = time.time_ns()
                for level, kind, cdata in anc:
                    if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(cdata) >= 16:
                        sec, nsec = struct.unpack_from("qq", cdata)
                        t_recv = perf - max(0, real_ns - (sec * 1_000_000_000 + nsec)) / 1e9
            try:
                self._handle(data, addr, t_recv, perf)
            except Exception as exc:  # never let the thread die
                self.fake.udp_errors.append(repr(exc))

    def _handle(self, data: bytes, addr: tuple[str, int], t_recv: float, perf: float) -> None:
        if len(data) == 74 and data[:2] == b"\x00\x01":  # IP discovery request -> response
            resp = bytearray(74)
            struct.pack_into(">HHI", resp, 0, 2, 70, struct.unpack_from(">I", data, 4)[0])
            ip = addr[0].encode()
            resp[8 : 8 + len(ip)] = ip
            struct.pack_into(">H", resp, 72, addr[1])
            self.sock.sendto(bytes(resp), addr)
        elif len(data) > 16 and data[0] & 0xC0 == 0x80 and data[1] & 0x7F == 0x78:  # RTP, payload type 120
            self.fake._on_rtp(data, t_recv, perf)
        else:
            self.fake.udp_errors.append(f"unexpected datagram of {len(data)} bytes")


__all__ = ["SO_TIMESTAMPNS", "VOICE_MODES", "RtpPacket", "VoiceFrame", "VoiceServer", "VoiceSession"]
