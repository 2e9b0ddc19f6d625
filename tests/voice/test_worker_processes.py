"""Render workers: started when a stream needs one, stopped when none used them for a while, and
light (a worker imports what rendering needs, not PyAV's demuxers, discord.py, yt-dlp or SQLAlchemy)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from musicbot.audio import END_OF_STREAM, FRAME_SAMPLES, Chunk
from musicbot.dsp.settings import parse_filters
from musicbot.voice.processes import RenderProcesses
from musicbot.voice.protocol import EngineConfig, StartTrack
from musicbot.voice.render_client import RenderClient
from musicbot.voice.transport import WorkerTransport
from tests.media import tone


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return "zombie" not in status.read()
    except FileNotFoundError:
        return False


def _play(client: RenderClient, seconds: float) -> list[bytes]:
    signal = tone(440.0, seconds, amplitude=0.3)
    chunks = iter([Chunk(i, pcm=signal[i:i + FRAME_SAMPLES].copy())
                   for i in range(0, len(signal) - FRAME_SAMPLES + 1, FRAME_SAMPLES)])
    client.apply(StartTrack(packet_mode=False))
    out = []
    while (packet := client.next_packet(lambda: next(chunks, END_OF_STREAM))) is not None:
        out.append(packet)
    return out


def test_workers_start_as_streams_need_them_up_to_the_cores_and_stop_when_idle() -> None:
    processes = RenderProcesses(2, idle_stop_s=0.3, streams_per_worker=2)
    try:
        assert processes.pids == []  # nothing until a stream needs it
        volume = EngineConfig(parse_filters({"volume": 0.5}))
        clients = [RenderClient(volume, connect=processes.connect)]
        assert len(processes.pids) == 1
        clients.append(RenderClient(volume, connect=processes.connect))
        assert len(processes.pids) == 1  # the second stream shares the first worker
        clients += [RenderClient(volume, connect=processes.connect) for _ in range(3)]
        assert len(processes.pids) == 2  # the third started the second worker; the fifth goes where fewest are
        for client in clients:
            assert isinstance(client._transport, WorkerTransport)
            assert len(_play(client, 0.5)) == 25  # every one rendered in its worker
        pids = processes.pids
        for client in clients[:-1]:
            client.close()
        time.sleep(0.6)
        assert processes.pids == pids  # one stream still uses them
        clients[-1].close()
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert processes.pids == [] and not any(_alive(pid) for pid in pids)
        # The next stream starts one again.
        again = RenderClient(volume, connect=processes.connect)
        assert len(_play(again, 0.2)) == 10 and len(processes.pids) == 1
        again.close()
    finally:
        processes.stop()


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_a_worker_imports_only_what_rendering_needs() -> None:
    processes = RenderProcesses(1)
    try:
        client = RenderClient(EngineConfig(parse_filters({"timescale": {"speed": 1.1}, "reverb": {}})),
                              connect=processes.connect)
        assert len(_play(client, 0.2)) > 0  # the whole chain ran in it
        (pid,) = processes.pids
        # The worker's command line imports musicbot.voice.worker; ask a process started the same
        # way what that import and a rendering engine pull in.
        probe = subprocess.run(
            [sys.executable, "-c",
             "import sys, musicbot.voice.worker as w\n"
             "from musicbot.voice.engine import AudioEngine\n"
             "from musicbot.voice.protocol import EngineConfig\n"
             "from musicbot.dsp.settings import parse_filters\n"
             "import numpy as np\n"
             "engine = AudioEngine.from_config(EngineConfig(parse_filters(\n"
             "    {'timescale': {'speed': 1.1}, 'reverb': {}, 'bassBoost': {}, 'karaoke': {}})))\n"
             "from musicbot.audio import Chunk\n"
             "chunks = iter([Chunk(i * 960, pcm=np.full((960, 2), 0.1, np.float32)) for i in range(20)])\n"
             "assert all(engine.next_pcm(lambda: next(chunks)) is not None for _ in range(10))\n"
             "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} | ({'scipy.signal'} & set(sys.modules)))))"],
            capture_output=True, text=True, check=True, env=os.environ | {"PYTHONPATH": os.getcwd()},
        )
        loaded = set(probe.stdout.split())
        assert {"numpy", "scipy", "musicbot"} <= loaded
        assert loaded.isdisjoint({"av", "discord", "yt_dlp", "sqlalchemy", "spotipy", "alembic", "aiohttp"})
        # scipy.signal would bring scipy.stats, interpolate and optimize with it (+45 MiB): the filters
        # run its lfilter routine without it (musicbot/dsp/iir.py).
        assert "scipy.signal" not in loaded
        with open(f"/proc/{pid}/maps") as maps:  # and the real worker has no PyAV extension loaded
            assert "/av/" not in maps.read().replace("av.libs", "")
        client.close()
    finally:
        processes.stop()
