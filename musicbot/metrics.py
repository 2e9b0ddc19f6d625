"""Every Prometheus metric of the bot, defined here with its help text; ``/metrics`` serves them.

Counters and histograms live in prometheus-client's default ``REGISTRY`` (next to its process and
GC metrics) and count for the whole process. The gauges that describe the bot's state (guilds,
players, queues, shard latency, readiness) are not kept up to date on every change: ``BotCollector``
reads them from the bot when Prometheus scrapes, so nothing on the hot path maintains them.

Voice, modelled on Lavalink's ``frameStats`` (per minute: frames ``sent``, ``nulled`` when the
player had no frame, ``deficit`` = 3000 expected minus both), as counters Prometheus can rate:

- **sent** (``musicbot_voice_packets_sent_total``): packets discord.py put on the wire after the
  ``Player``'s ``read()`` returned them, audio or underrun silence alike. discord.py's own silence
  frames (five at a pause and at the end of playback) are not counted. Counted on the send thread,
  in ``Player.after_send`` (``voice/client.py``'s ``VoiceClient`` calls it after each send).
- **late** (``musicbot_voice_packets_late_total``): sent packets that went out more than
  ``LATE_AFTER_S`` (5 ms, the threshold ``benchmarks/voice_load.py`` uses at the receiver) after
  their slot. discord.py's ``AudioPlayer`` keeps an absolute schedule: from the last start, resume
  or reconnect, the first packet at once (it opens the schedule: never late), packet n ≥ 1 at
  ``start + (n + 1) × 20 ms`` (``voice/client.py``'s ``send_lateness_s``). A stall (the GIL held elsewhere, a busy
  machine, a render not finished) puts the sends behind it, and discord.py then sends the packets
  that follow back to back until it has caught up: a 100 ms stall makes about five late packets.
  Listeners hear late packets as jitter, or as gaps once their jitter buffer runs dry. This is
  Lavalink's ``deficit`` seen from the sender.
- **underruns** (``musicbot_voice_underruns_total``): 20 ms slots for which the player had no audio
  ready and sent silence instead: the track's buffer was empty (decoder or network behind, a
  stream being re-opened), the packet rendered ahead was not finished in time
  (``voice/ahead.py``'s ``TAKE_TIMEOUT_S``), or a render worker died mid-frame. Lavalink's
  ``nulled``. Counted when the silence is produced, one packet before it is sent; each underrun
  is also a sent packet, so ``sent − underruns`` is the audio that was heard.

Render time (``musicbot_frame_render_seconds``): the wall time of one ``AudioEngine.next_packet``
(read the source's chunks, filter, normalize, limit, encode; or pass a packet through), measured
by the engine in whichever process renders it. Render worker processes send it back with each
answer, and the main process observes it when it reads the answer (``voice/remote.py``). Chosen over
prometheus-client's multiprocess mode because the answer goes to the main process every 20 ms
anyway, so one float more costs nothing, whereas multiprocess mode needs a shared directory of
memory-mapped files per process, cleaned at every start, merged at every scrape, and does not
work with the scrape-time ``BotCollector``. The voice counters need no aggregation at all: they
are counted on the main process's send threads.

Shards: the state gauges count for the process; ``musicbot_shard_guilds`` and
``musicbot_shard_players_active`` split them by shard (a label with as many values as shards this process
runs), and ``musicbot_process_shards`` says which shards those are, so processes of a sharded bot can be
told apart and summed. The counters stay per process (a label per packet would cost a lookup on the send
thread for what the ``instance`` label already tells).

Cost on the send thread: a counter increment (one lock of prometheus-client's, uncontended) per
packet, plus a second one for a late packet or an underrun; a histogram observation (two) per
rendered packet.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import Counter, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from musicbot.sources.errors import SOURCE_FAILURE_KINDS, failure_kind

# No ``*_created`` series next to every counter and histogram: nothing here queries when a series
# began, and they would double what each scrape carries.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus-client 0.26

LATE_AFTER_S = 0.005
"""A packet sent more than this after its slot on discord.py's 20 ms schedule is late."""

# ------------------------------------------------------------------------------------- voice
PACKETS_SENT = Counter(
    "musicbot_voice_packets_sent",
    "Voice packets sent to Discord from the players (audio and underrun silence; not discord.py's pause "
    "and end-of-playback silence). 50 per second per playing guild.",
)
PACKETS_LATE = Counter(
    "musicbot_voice_packets_late",
    "Voice packets sent more than 5 ms after their slot on discord.py's absolute 20 ms schedule.",
)
UNDERRUNS = Counter(
    "musicbot_voice_underruns",
    "20 ms slots with no audio ready (source buffer empty, render not finished, worker lost): silence sent instead.",
)
FRAME_RENDER_SECONDS = Histogram(
    "musicbot_frame_render_seconds",
    "Engine time per 20 ms packet (decode, filters, normalizer, limiter, Opus; or passthrough), in the process "
    "that rendered it.",
    # Passthrough takes 5–20 µs, a filtered packet 0.3–2 ms; 20 ms is the whole budget of a packet.
    buckets=(5e-6, 10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2e-3, 3e-3, 5e-3, 10e-3, 20e-3, 50e-3),
)

# ------------------------------------------------------------------------------------- commands and sources


class CommandOutcome(enum.Enum):
    OK = "ok"  # the command ran to its end
    USER_ERROR = "user_error"  # refused or failed with a message for the user (not allowed, not found, bad value)
    RATE_LIMITED = "rate_limited"  # refused by the rate limits before it ran
    ERROR = "error"  # a bug: logged with its traceback, the user got an apology
    RESTARTING = "restarting"  # arrived during a graceful shutdown: told to try again in a moment


COMMANDS = Counter(
    "musicbot_commands",
    "Slash commands by name and outcome (ok, user_error, rate_limited, restarting, error).",
    ["command", "outcome"],
)
SOURCE_FAILURES = Counter(
    "musicbot_source_failures",
    "Queries that could not be resolved and streams that could not be opened or were given up, by kind "
    "(sources/errors.py's classification; 'stream' is a stream that failed to open or play).",
    ["kind"],
)
for _kind in SOURCE_FAILURE_KINDS:  # every kind present from the start: rate() sees the first failure
    SOURCE_FAILURES.labels(_kind)

# ------------------------------------------------------------------------------------- storage
DATABASE_SECONDS = Histogram(
    "musicbot_database_seconds",
    "Database transaction time, from asking for a connection to the commit (or the failure).",
    buckets=(0.5e-3, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def count_command(command: str, outcome: CommandOutcome) -> None:
    """Event loop, once per slash command (``bot/tree.py``)."""
    COMMANDS.labels(command, outcome.value).inc()


def count_source_failure(error: BaseException) -> None:
    """Any thread: one query, track or stream that failed, classified by ``sources/errors.py``."""
    SOURCE_FAILURES.labels(failure_kind(error)).inc()


def count_sent(late_s: float | None) -> None:
    """Send thread, after each packet of a player: ``late_s`` is how far behind its slot it went out
    (None when unknown: not on discord.py's send thread)."""
    PACKETS_SENT.inc()
    if late_s is not None and late_s > LATE_AFTER_S:
        PACKETS_LATE.inc()


# ------------------------------------------------------------------------------------- state at scrape time
@dataclass(frozen=True, slots=True)
class BotSnapshot:
    """The bot's state at one moment, read on the event loop when ``/metrics`` is asked for."""

    guilds: int
    players_active: int  # guilds in voice with a track playing or paused
    queue_tracks: int  # tracks waiting in the queues (the one playing not counted)
    ready: bool  # what /ready says
    shard_latency_s: Mapping[int, float] = field(default_factory=dict)  # shards with a measured heartbeat
    # Per shard of this process (every shard it runs, zeros included): guilds, and players as counted above.
    shard_guilds: Mapping[int, int] = field(default_factory=dict)
    shard_players: Mapping[int, int] = field(default_factory=dict)
    shard_count: int | None = None  # the bot's shard count (None: not known before the login)


class BotCollector(Collector):
    """The state gauges, read from ``snapshot()`` at each scrape (on the event loop, where the bot's
    state lives). Registered in the ops server's registry, not the default one: each bot has its own."""

    def __init__(self, snapshot: Callable[[], BotSnapshot]) -> None:
        self._snapshot = snapshot

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return self._families(None)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        return self._families(self._snapshot())

    @staticmethod
    def _families(state: BotSnapshot | None) -> Iterator[GaugeMetricFamily]:
        def gauge(name: str, help_text: str, value: float | None) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, help_text, value=value)

        yield gauge("musicbot_players_active", "Guilds with a player that is playing or paused.",
                    None if state is None else state.players_active)
        yield gauge("musicbot_queue_tracks", "Tracks waiting in every guild's queue (the playing one not counted).",
                    None if state is None else state.queue_tracks)
        yield gauge("musicbot_guilds", "Guilds the bot is in.", None if state is None else state.guilds)
        yield gauge("musicbot_ready", "1 when /ready answers 200 (Discord connected, database usable), else 0.",
                    None if state is None else float(state.ready))
        # One series per process: which shards it runs (a join key for the per-process counters above).
        process = GaugeMetricFamily("musicbot_process_shards",
                                    "Shards this process runs (the value), of shard_count, with their ids.",
                                    labels=["shard_count", "shard_ids"])
        if state is not None:
            ids = ",".join(map(str, sorted(state.shard_guilds))) or "none"
            process.add_metric(["auto" if state.shard_count is None else str(state.shard_count), ids],
                               float(len(state.shard_guilds)))
        yield process
        guilds = GaugeMetricFamily("musicbot_shard_guilds", "Guilds per shard of this process.", labels=["shard"])
        players = GaugeMetricFamily("musicbot_shard_players_active",
                                    "Guilds with a player that is playing or paused, per shard.", labels=["shard"])
        if state is not None:
            for shard, count in sorted(state.shard_guilds.items()):
                guilds.add_metric([str(shard)], float(count))
            for shard, count in sorted(state.shard_players.items()):
                players.add_metric([str(shard)], float(count))
        yield guilds
        yield players
        latency = GaugeMetricFamily("musicbot_shard_latency_seconds",
                                    "Gateway heartbeat latency per shard (discord.py's latencies).", labels=["shard"])
        if state is not None:
            for shard, seconds in sorted(state.shard_latency_s.items()):
                latency.add_metric([str(shard)], seconds)
        yield latency
