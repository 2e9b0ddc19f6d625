"""``VoiceClient``: discord.py's voice client, telling the source when its packet has gone out.

Why: the ``Player`` asks its render worker for the next packet once it has handed out the
current one. Asked inside ``read()``, that request (forwarding source chunks, a socket write)
runs before discord.py encrypts and sends the packet, and under load every such step is one more
chance to wait for the GIL before the send. Told after the send, the player asks then instead,
with a whole frame of time for it. discord.py has no such hook; this subclass adds it. The
silence frames discord.py sends itself (at a pause, at the end) are announced too: the
``Player`` only acts on a send that follows its own ``read``.

The send thread also asks for real-time priority at its first packet (``voice/realtime.py``).

``send_lateness_s`` reads discord.py's schedule for ``musicbot_voice_packets_late_total``
(``musicbot/metrics.py`` defines "late").
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

import discord

from musicbot.voice.realtime import promote_current_thread


def send_lateness_s() -> float | None:
    """On discord.py's send thread: how long after its slot the packet being sent goes out. None on
    any other thread.

    ``AudioPlayer`` counts ``loops`` from ``_start`` (both reset at a resume and a reconnect) and,
    after sending packet ``loops``, sleeps ``DELAY + (start + loops × DELAY − now)``: until one
    ``DELAY`` past that packet's own deadline. So the first packet goes at ``start`` and packet
    n ≥ 1 at ``start + (n + 1) × DELAY``; when it is behind, it sends at once until it has caught up.
    The first packet opens the schedule and is never late (a listener has nothing to expect it by;
    the receiver-side count of ``benchmarks/voice_load.py`` skips it too). tests/voice/test_lateness.py
    runs discord.py's loop on a fake clock to hold this to it.
    """
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


@runtime_checkable
class SendListener(Protocol):
    def after_send(self) -> None: ...


class VoiceClient(discord.VoiceClient):
    def send_audio_packet(self, data: bytes, *, encode: bool = True) -> None:
        if isinstance(threading.current_thread(), discord.player.AudioPlayer):  # never the event loop
            promote_current_thread()  # once per thread, then a lookup
        super().send_audio_packet(data, encode=encode)
        source = self.source
        if isinstance(source, SendListener):
            source.after_send()
