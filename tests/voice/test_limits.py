"""The open-file limit is raised to what the system allows (each guild playing holds a few descriptors)."""

from __future__ import annotations

import resource
import subprocess
import sys


def test_the_soft_open_file_limit_is_raised_to_the_hard_limit() -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    low = 64

    def start_low() -> None:  # a process started with a small soft limit, as under many shells
        resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard))

    code = ("import resource; from musicbot.voice.limits import raise_open_file_limit; "
            "before = resource.getrlimit(resource.RLIMIT_NOFILE)[0]; raise_open_file_limit(); "
            "print(before, *resource.getrlimit(resource.RLIMIT_NOFILE))")
    out = subprocess.run([sys.executable, "-c", code], preexec_fn=start_low, capture_output=True, text=True,
                         check=True).stdout.split()
    before, soft, after_hard = (int(x) for x in out)
    assert before == low
    assert soft == hard == after_hard or (hard == resource.RLIM_INFINITY and soft >= 1 << 20)
