"""Errors of the bus, and how a handler's exception crosses it.

A handler's exception travels as ``ErrorInfo(kind, message, retry_after_s)``. The serving side turns
it into one with ``ErrorKinds.describe``: an exception of a registered type keeps its message (those
are written for users: ``MusicBotError``s), anything else becomes kind ``"internal"`` with a generic
sentence, and its traceback is logged there, never sent. The calling side turns it back with
``ErrorKinds.rebuild``: a factory registered for the kind makes the caller's own exception (the
dashboard's ``NotAllowedError`` for ``"not_allowed"``), any other kind raises ``RemoteError``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from musicbot.cluster.messages import ErrorInfo
from musicbot.errors import MusicBotError

log = logging.getLogger(__name__)

INTERNAL = "internal"
"""An exception no kind was registered for: a bug, logged where it happened."""
BAD_CALL = "bad_call"
"""The serving node does not know the operation or could not read its arguments (another release?)."""
BAD_ANSWER = "bad_answer"
"""The answer's value did not match the operation's result type (another release?)."""
NOT_OWNER = "not_owner"
"""The node no longer runs the guild's shard (a redeploy moved it); the caller sees the guild unavailable."""

INTERNAL_MESSAGE = "Something went wrong in the bot; it was logged. Try again in a moment."
VERSION_SKEW_MESSAGE = "The bot is being updated; try again in a minute."


class ClusterError(MusicBotError):
    """Base of the bus's errors; ``str(err)`` is safe to show to a user."""


class BusUnreachableError(ClusterError):
    """Redis (``REDIS_URL``) could not be reached: at start, or by a call made during an outage."""


class UnavailableError(ClusterError):
    """No live process can answer: it is not running, or did not answer in time."""


class GuildUnavailableError(UnavailableError):
    def __init__(self, guild_id: int, shard: int | None) -> None:
        self.guild_id = guild_id
        self.shard = shard
        which = f" (shard {shard})" if shard is not None else ""
        super().__init__(f"The part of the bot that runs this server{which} is not running right now; "
                         "try again shortly.")


class NodeUnavailableError(UnavailableError):
    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        super().__init__(f"The bot process {node_id} is not running right now; try again shortly.")


class RemoteError(ClusterError):
    """An error the serving process answered with, for which the caller registered no factory."""

    def __init__(self, kind: str, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after_s = retry_after_s

    @classmethod
    def from_info(cls, info: ErrorInfo) -> RemoteError:
        return cls(info.kind, info.message, info.retry_after_s)


ErrorFactory = Callable[[RemoteError], BaseException]


class ErrorKinds:
    """Which exceptions cross the bus under which kind, and what each kind becomes at the caller.

    ``raised``: (exception type, kind), the first ``isinstance`` match wins, so list a subclass
    before its base. ``rebuild``: kind -> factory of the caller's exception. Both ends of a cluster
    use the same ``ErrorKinds`` (a module both import)::

        KINDS = ErrorKinds(
            raised=[(NotAllowedError, "not_allowed"), (TooFastError, "too_fast"), (MusicBotError, "refused")],
            rebuild={"not_allowed": lambda e: NotAllowedError(e.message),
                     "too_fast": lambda e: TooFastError(e.message, e.retry_after_s or 1.0)},
        )

    An exception's ``retry_after_s`` attribute (a number), if it has one, travels with it.
    """

    def __init__(self, raised: Sequence[tuple[type[BaseException], str]] = (),
                 rebuild: Mapping[str, ErrorFactory] | None = None) -> None:
        reserved = {INTERNAL, BAD_CALL, BAD_ANSWER, NOT_OWNER} & {kind for _, kind in raised}
        if reserved:
            raise ValueError(f"Kinds reserved by the bus: {sorted(reserved)}")
        self._raised = tuple(raised)
        self._rebuild = dict(rebuild or {})

    def describe(self, err: BaseException, op: str) -> ErrorInfo:
        """The serving side: ``err``, raised by the handler of ``op``, as it travels back."""
        for kind_type, kind in self._raised:
            if isinstance(err, kind_type):
                retry = getattr(err, "retry_after_s", None)
                retry_after_s = float(retry) if isinstance(retry, int | float) and retry >= 0 else None
                return ErrorInfo(kind=kind, message=str(err), retry_after_s=retry_after_s)
        # Its text may hold paths, SQL or tokens: it stays in this process's log.
        log.error("The handler of %r failed", op, exc_info=err)
        return ErrorInfo(kind=INTERNAL, message=INTERNAL_MESSAGE)

    def rebuild(self, info: ErrorInfo) -> BaseException:
        """The calling side: the exception to raise for an error answer."""
        remote = RemoteError.from_info(info)
        factory = self._rebuild.get(info.kind)
        return factory(remote) if factory is not None else remote
