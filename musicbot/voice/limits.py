"""The open-file limit, raised for render workers and the process that talks to them.

Each guild's engine has a connection of its own to a render worker (``voice/processes.py``): one
descriptor in this process and one in the worker, for as long as the guild's session lives. A
bot in many guilds would reach the usual soft limit of 1024 long before the hard limit the
system allows, which no privilege is needed to raise to.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def raise_open_file_limit() -> int | None:
    """Raise this process's soft ``RLIMIT_NOFILE`` to its hard limit; returns the new soft limit
    (None where there is no such limit, e.g. Windows)."""
    try:
        import resource
    except ImportError:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft >= hard:
        return soft
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        log.warning("could not raise the open-file limit from %s", soft)
        return soft
    return target
