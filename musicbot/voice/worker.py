"""The render worker process (``python -m musicbot.voice.worker FD``): hosts the engines of
``voice/render_client.py``'s clients (``voice/host.py``'s ``EngineHost``).

Each engine has a connection of its own (see ``serve``), served one message at a time: commands
(``voice/protocol.py``; no answer) and render requests (one ``RenderReply`` each). It imports only
what rendering needs: numpy, scipy, libopus (ctypes); not PyAV's Python side, discord.py, yt-dlp
or SQLAlchemy (tests/voice/test_worker_imports.py).
"""

from __future__ import annotations

import pickle
import selectors
import sys
import threading
from multiprocessing.connection import Connection
from multiprocessing.reduction import recv_handle

from musicbot.voice.engine import AudioEngine
from musicbot.voice.host import EngineHost
from musicbot.voice.limits import raise_open_file_limit
from musicbot.voice.protocol import AdoptEngine, EngineConfig, RenderRequest


def serve(control: Connection) -> None:
    """The worker process's main loop; returns when the main process closes the control connection.

    The control connection brings new engines (``AdoptEngine``, then the socket of their own
    connection) and pings; each engine's connection brings its settings calls (unanswered) and
    frame requests (answered), served in the order they arrive."""
    # The filters' libraries (scipy, ~70 MiB) load in the background from the start, while the control
    # connection already answers: loaded by the first engine of a worker started ahead of time, they
    # stalled every guild's first packets for ~0.5 s (benchmarks/voice_load.py: 135-157 late packets at
    # 0.00 s with 5 guilds). The bot process itself never loads them.
    threading.Thread(target=_load_dsp, name="dsp-preload", daemon=True).start()
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ)
    while True:
        for key, _ in selector.select():
            if key.data is None:
                try:
                    message = control.recv()
                    if isinstance(message, AdoptEngine):
                        _adopt(control, message.config, selector)
                    else:
                        control.send("pong")
                except (EOFError, OSError):
                    return
            else:
                _serve_engine(key.fileobj, key.data, selector)  # type: ignore[arg-type]


def _load_dsp() -> None:
    import musicbot.dsp.chain
    import musicbot.dsp.limiter
    import musicbot.dsp.loudness  # noqa: F401


def _adopt(control: Connection, config: EngineConfig, selector: selectors.BaseSelector) -> None:
    """Host a new engine on the connection whose socket follows on the control connection."""
    try:
        engine = Connection(recv_handle(control))
    except RuntimeError:
        # The socket did not arrive (out of file descriptors, say): the main process sees its end
        # of that engine's connection close and renders that stream itself. The others go on.
        print("render worker: could not take an engine's connection", file=sys.stderr, flush=True)
        return
    selector.register(engine, selectors.EVENT_READ, EngineHost(AudioEngine.from_config(config)))


def _serve_engine(conn: Connection, host: EngineHost, selector: selectors.BaseSelector) -> None:
    try:
        message = pickle.loads(conn.recv_bytes())
        if isinstance(message, RenderRequest):
            conn.send_bytes(pickle.dumps(host.render(message), pickle.HIGHEST_PROTOCOL))
        else:
            host.apply(message)
    except (EOFError, OSError):  # the engine was closed (or its stream ended with the main process)
        selector.unregister(conn)
        conn.close()


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
    raise_open_file_limit()
    # Ctrl-C in a terminal (and a supervisor signalling the whole group) reaches the workers too;
    # the bot shuts down gracefully and keeps streaming while it does, so the workers leave it to
    # the bot: they end when it closes their control connection (or dies).
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    serve(Connection(int(sys.argv[1])))
