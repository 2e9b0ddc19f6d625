"""Real-time scheduling for the thread that sends voice packets (``voice/sender.py``; discord.py's
send thread for a source that is not Opus), where the system allows it.

Why: the sender wakes every few milliseconds, takes packets that are already rendered, sends them
and sleeps again: little work that must happen on time. Under the normal policy it can
wait behind anything else that runs. At ``SCHED_FIFO`` it preempts every normal task at once.
Measured with ``benchmarks/voice_load.py`` (10 guilds, full filter chain), the worst guild's
p99 inter-arrival jitter went from 0.8–4.1 ms to 0.1–1.6 ms (28 runs).

Only the sending thread gets it, not the threads it starts. The render workers stay at
``SCHED_IDLE`` (``voice/worker.py``): a worker at real-time priority takes the cores from this
process's normal threads, and when one of them holds the GIL, the sender that needs it waits
too. Measured: some guilds' packets then left a steady 5–7 ms late.

The kernel reserves 5% of every core for normal tasks (``sched_rt_runtime_us``), whatever a
real-time thread does.

Permission: ``CAP_SYS_NICE`` (root), or an ``RLIMIT_RTPRIO`` of at least ``SEND_THREAD_PRIORITY``
(systemd ``LimitRTPRIO=10``, ``docker run --ulimit rtprio=10``). Without either, the threads
keep the normal policy. One log line says so, with that hint.

This is a plain ``sched_setscheduler`` call. No library wraps it, and ``os`` has it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading

log = logging.getLogger(__name__)

SEND_THREAD_PRIORITY = 10
"""Low in the 1–99 range: above every normal task, below the kernel's own real-time threads."""

ENABLE_HINT = (
    "grant it with `docker run --ulimit rtprio=10`, systemd `LimitRTPRIO=10`, or run as root"
)

_first_outcome: list[bool] = []  # the process's first attempt, logged once
_first_lock = threading.Lock()
_promoted = threading.local()


def first_outcome() -> bool | None:
    """Whether the process's first send thread got real-time priority (None: none asked yet)."""
    return _first_outcome[0] if _first_outcome else None


def promote_current_thread() -> bool:
    """Put the calling thread under ``SCHED_FIFO`` at ``SEND_THREAD_PRIORITY`` (once per thread).
    Returns whether it runs at real-time priority. The first attempt in the process is logged.

    The outcome is remembered per thread, so a denied thread does not retry every packet."""
    done: bool | None = getattr(_promoted, "done", None)
    if done is not None:
        return done
    ok, reason = _try_promote()
    _promoted.done = ok
    with _first_lock:
        first = not _first_outcome
        if first:
            _first_outcome.append(ok)
    if first:
        if ok:
            log.info("voice send threads run at real-time priority (SCHED_FIFO %d)", SEND_THREAD_PRIORITY)
        else:
            log.info("voice send threads run at normal priority (%s); for steadier packet timing, %s",
                     reason, ENABLE_HINT)
    return ok


def _try_promote() -> tuple[bool, str]:
    if not hasattr(os, "sched_setscheduler"):
        return False, "this system has no real-time scheduling"
    _raise_rtprio_limit()
    try:
        # pid 0 is the calling thread: the policy is per thread on Linux. SCHED_RESET_ON_FORK:
        # threads this one starts (a source closed in the background, a stream re-opened, the
        # render pool's threads started on first use) begin at normal priority, not real-time.
        os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(SEND_THREAD_PRIORITY))
    except PermissionError:
        return False, "not permitted"
    except OSError as error:
        return False, f"refused: {error.strerror or error}"
    return True, ""


def _raise_rtprio_limit() -> None:
    """An unprivileged process may use real-time priorities up to its soft ``RLIMIT_RTPRIO``,
    which it may raise to the hard limit on its own."""
    try:
        import resource
    except ImportError:  # not on this platform
        return
    rtprio = getattr(resource, "RLIMIT_RTPRIO", None)
    if rtprio is None:
        return
    soft, hard = resource.getrlimit(rtprio)
    wanted = SEND_THREAD_PRIORITY if hard == resource.RLIM_INFINITY else min(hard, SEND_THREAD_PRIORITY)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):  # the attempt itself will say what is missing
            resource.setrlimit(rtprio, (wanted, hard))
