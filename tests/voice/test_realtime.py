"""voice/realtime.py: discord.py's send threads run at real-time priority where the system allows
it, and say how to allow it where it does not."""

from __future__ import annotations

import ctypes
import os
import resource
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from musicbot.voice.client import VoiceClient
from musicbot.voice.realtime import SEND_THREAD_PRIORITY
from tests.harness import SineSource, VoiceReceiver, play_to_end
from tests.harness.fixtures import *  # noqa: F403
from tests.harness.fixtures import OfflineBotFactory

GUILD = 7100
ROOT = Path(__file__).resolve().parents[2]
PR_CAPBSET_DROP, CAP_SYS_NICE = 24, 23  # <linux/prctl.h>, <linux/capability.h>

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="dropping a capability for a child needs root")


def _may_use_real_time() -> bool:
    _soft, hard = resource.getrlimit(resource.RLIMIT_RTPRIO)
    return os.geteuid() == 0 or hard == resource.RLIM_INFINITY or hard >= SEND_THREAD_PRIORITY


def _policy() -> int:
    return os.sched_getscheduler(0) & ~os.SCHED_RESET_ON_FORK


class PolicyRecordingSource(SineSource):
    """Records the scheduling policy of the thread that reads it (discord.py's send thread), and of
    a thread it starts (as the player does to close a source in the background)."""

    def __init__(self) -> None:
        super().__init__(440.0, 0.2)
        self.policies: list[int] = []
        self.started_thread_policies: list[int] = []

    def read(self) -> bytes:
        self.policies.append(_policy())
        if len(self.policies) == 5:
            thread = threading.Thread(target=lambda: self.started_thread_policies.append(_policy()))
            thread.start()
            thread.join()
        return super().read()


@pytest.mark.skipif(not _may_use_real_time(), reason="this user may not use real-time priorities")
async def test_the_send_thread_runs_at_real_time_priority_and_nothing_else_does(
    offline_bot_factory: OfflineBotFactory, voice_receiver: VoiceReceiver, fast_playback: float
) -> None:
    bot, vc = await offline_bot_factory.in_voice(GUILD, cls=VoiceClient)
    source = PolicyRecordingSource()
    await play_to_end(bot, vc, source)
    # The first read comes before the first send; from the second on, the thread is real-time.
    assert source.policies[1:] and set(source.policies[1:]) == {os.SCHED_FIFO}
    assert source.started_thread_policies == [os.SCHED_OTHER]  # what it starts is not real-time
    assert _policy() == os.SCHED_OTHER  # the event loop's thread is left alone
    assert len(voice_receiver.packets(GUILD)) >= 10  # and the packets went out
    await vc.disconnect(force=True)


def _promote_without_cap_sys_nice(rtprio: tuple[int, int]) -> subprocess.CompletedProcess[str]:
    """Run promote_current_thread on a new thread of a process without CAP_SYS_NICE (as a
    non-root user, or a container without it, is) and with the given RLIMIT_RTPRIO (soft, hard);
    it prints the result and the thread's policy, and logs to stderr."""
    code = (
        "import logging, os, threading\n"
        "logging.basicConfig(level=logging.INFO, format='%(message)s')\n"
        "from musicbot.voice.realtime import promote_current_thread\n"
        "def run():\n"
        "    print(promote_current_thread(), os.sched_getscheduler(0) & ~os.SCHED_RESET_ON_FORK == os.SCHED_FIFO)\n"
        "t = threading.Thread(target=run); t.start(); t.join()\n"
        "print(os.sched_getscheduler(0) == os.SCHED_FIFO)\n"
    )

    def drop_cap_sys_nice() -> None:
        resource.setrlimit(resource.RLIMIT_RTPRIO, rtprio)
        # Out of the bounding set, the capability is gone from what the child execs, root or not.
        if ctypes.CDLL(None, use_errno=True).prctl(PR_CAPBSET_DROP, CAP_SYS_NICE, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")

    env: dict[str, Any] = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd="/",
                          env=env, preexec_fn=drop_cap_sys_nice, check=False)


@needs_root
def test_without_permission_the_thread_keeps_normal_priority_and_the_log_says_how_to_allow_it() -> None:
    done = _promote_without_cap_sys_nice((0, 0))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False", "False"]
    assert "normal priority (not permitted)" in done.stderr
    assert "--ulimit rtprio=10" in done.stderr and "LimitRTPRIO=10" in done.stderr
    assert "Traceback" not in done.stderr


@needs_root
def test_an_rtprio_limit_is_enough_without_root_and_only_the_calling_thread_is_promoted() -> None:
    # What `docker run --ulimit rtprio=10` or systemd's LimitRTPRIO=10 give a process without
    # CAP_SYS_NICE; the soft limit starts at 0 and the bot raises it itself.
    _soft, hard = resource.getrlimit(resource.RLIMIT_RTPRIO)
    if hard != resource.RLIM_INFINITY and hard < SEND_THREAD_PRIORITY:
        pytest.skip("this machine cannot grant an RLIMIT_RTPRIO of 10 (raising a hard limit needs CAP_SYS_RESOURCE)")
    done = _promote_without_cap_sys_nice((0, SEND_THREAD_PRIORITY))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "False"]  # the main thread stays normal
    assert f"real-time priority (SCHED_FIFO {SEND_THREAD_PRIORITY})" in done.stderr


def test_a_thread_that_was_refused_does_not_ask_again() -> None:
    # Each packet's send goes through promote_current_thread: after the first answer it must be
    # a lookup, not a system call (refused or not).
    from musicbot.voice import realtime

    calls: list[int] = []
    real = os.sched_setscheduler

    def counting(pid: int, policy: int, param: os.sched_param) -> None:
        calls.append(policy & ~os.SCHED_RESET_ON_FORK)
        raise PermissionError

    results: list[bool] = []

    def run() -> None:
        os.sched_setscheduler = counting  # type: ignore[assignment]
        try:
            results.extend(realtime.promote_current_thread() for _ in range(50))
        finally:
            os.sched_setscheduler = real

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert results == [False] * 50
    assert calls == [os.SCHED_FIFO]
