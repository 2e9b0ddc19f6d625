"""The open-file limit, raised for the process that streams.

Each guild playing holds a few descriptors for as long as it plays: its voice connection's UDP
socket, its source (a file, or an HTTP connection to YouTube's servers) and the one queued next.
A bot in many guilds would reach the usual soft limit of 1024 long before the hard limit the
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
