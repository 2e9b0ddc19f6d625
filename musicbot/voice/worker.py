"""The render worker process (``python -m musicbot.voice.worker FD``): hosts the engines of
``voice/render_client.py``'s clients (``voice/host.py``'s ``EngineHost``).

Two connections to the main process: the control connection (its file descriptor on the command
line; pings, and its end is the worker's end) and the render connection (its socket sent over the
control connection first). The render connection brings batches (``voice/channel.py``): each
message a list of ``(engine id, message)``, applied in order (new engines, commands, render
requests, closed engines); the render requests of a batch are answered in one reply message, or
a few for a long one (``REPLY_EVERY_S``). It imports only what rendering needs: numpy, scipy,
libopus (ctypes); not PyAV's Python side, discord.py, yt-dlp or SQLAlchemy
(tests/voice/test_worker_processes.py).
"""

from __future__ import annotations

import pickle
import selectors
import sys
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.reduction import recv_handle

from musicbot.voice.engine import AudioEngine
from musicbot.voice.host import EngineHost
from musicbot.voice.protocol import AdoptEngine, DropEngine, RenderReply, RenderRequest, WorkerMessage

REPLY_EVERY_S = 0.002
"""A long batch (eight full filter chains: ~10 ms) is answered in parts, each once this much
rendering has gone into it: on a machine slowed down (another tenant, a stall) one late answer
would otherwise make every guild of the batch late at once. (One voice_load run of 15 full-chain
guilds on such a minute, answered in one message: 1,029 late packets, against 2 for the design
before batches in the run just before it.)"""


def serve(control: Connection) -> None:
    """The worker process's main loop; returns when the main process closes either connection."""
    render = Connection(recv_handle(control))
    # The filters' libraries (scipy, ~40 MiB) load in the background from the start, while the control
    # connection already answers: loaded by the first engine of a worker started ahead of time, they
    # stalled every guild's first packets for ~0.5 s (benchmarks/voice_load.py: 135-157 late packets at
    # 0.00 s with 5 guilds). The bot process itself never loads them.
    threading.Thread(target=_load_dsp, name="dsp-preload", daemon=True).start()
    engines: dict[int, EngineHost] = {}
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ)
    selector.register(render, selectors.EVENT_READ)
    while True:
        for key, _ in selector.select():
            try:
                if key.fileobj is control:
                    control.recv()
                    control.send("pong")
                else:
                    _serve_batch(render, engines)
            except (EOFError, OSError):
                return


def _load_dsp() -> None:
    import musicbot.dsp.chain
    import musicbot.dsp.limiter
    import musicbot.dsp.loudness  # noqa: F401


def _serve_batch(render: Connection, engines: dict[int, EngineHost]) -> None:
    batch: list[tuple[int, WorkerMessage]] = pickle.loads(render.recv_bytes())
    replies: list[tuple[int, RenderReply]] = []
    replied_at = time.perf_counter()
    for engine, message in batch:
        if isinstance(message, AdoptEngine):
            engines[engine] = EngineHost(AudioEngine.from_config(message.config))
            continue
        host = engines.get(engine)
        if host is None:  # closed while this was on its way
            continue
        if isinstance(message, RenderRequest):
            replies.append((engine, host.render(message)))
            if time.perf_counter() - replied_at > REPLY_EVERY_S:
                _reply(render, replies)
                replies, replied_at = [], time.perf_counter()
        elif isinstance(message, DropEngine):
            del engines[engine]
        else:
            host.apply(message)
    if replies:
        _reply(render, replies)


def _reply(render: Connection, replies: list[tuple[int, RenderReply]]) -> None:
    render.send_bytes(pickle.dumps(replies, pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    import gc
    import os

    # The worker has a frame of slack (its packets are rendered one ahead); discord.py's send
    # threads in the main process have none. SCHED_IDLE (no privilege needed) lets the kernel run
    # the waking sender at once instead of after the worker's time slice; a nice value only
    # shortens that slice (measured with benchmarks/voice_load.py, 10 guilds: p99 jitter 3.3 ms
    # at nice 10, 3.0 at nice 19, 2.1 with SCHED_IDLE). The workers still get every cycle the
    # bot's own threads leave, which is most of the machine.
    if hasattr(os, "sched_setscheduler"):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    else:
        os.nice(19)
    # Everything imported so far lives as long as the process: out of the collector's sight, a
    # full collection only walks what the engines allocated.
    gc.freeze()
    # Ctrl-C in a terminal (and a supervisor signalling the whole group) reaches the workers too;
    # the bot shuts down gracefully and keeps streaming while it does, so the workers leave it to
    # the bot: they end when it closes their control connection (or dies).
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    serve(Connection(int(sys.argv[1])))
