"""How a node turns a ``Call`` into its ``Answer``: the operation looked up, the arguments validated
against its type, the handler run, its result validated, its exception described (``ErrorKinds``).

A call this node cannot take (an operation it does not serve, arguments of another shape: a process
of another release) is logged and not run, and its caller is told so at once (kind ``bad_call``)
rather than left to time out as if the guild's shard were down.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import msgspec

from musicbot.cluster.errors import BAD_CALL, NOT_OWNER, VERSION_SKEW_MESSAGE, ErrorKinds
from musicbot.cluster.messages import Answer, Call, ErrorInfo, NodeInfo, utc_now
from musicbot.cluster.ops import Handler, Ops

log = logging.getLogger(__name__)

DEADLINE_GRACE_S = 1.0  # clocks of two machines differ a little: a call is late only past this


class Server:
    """A node's handlers, by operation name (event loop)."""

    def __init__(self, ops: Ops, errors: ErrorKinds, handlers: Mapping[str, Handler]) -> None:
        unknown = sorted(name for name in handlers if ops.get(name) is None)
        if unknown:
            raise ValueError(f"Handlers for operations not in this bus's Ops: {unknown}")
        self._ops = ops
        self._errors = errors
        self._handlers = dict(handlers)

    async def answer(self, call: Call, node: NodeInfo) -> Answer | None:
        """The answer to ``call`` arriving at ``node``; None for a call its caller no longer waits for."""
        late_s = (utc_now() - call.deadline).total_seconds()
        if late_s > DEADLINE_GRACE_S:  # its caller was told it failed: doing it now would surprise
            log.warning("Not running %r from %s: it arrived %.1f s after its caller stopped waiting", call.op,
                        call.reply_to, late_s)
            return None
        spec = self._ops.get(call.op)
        handler = self._handlers.get(call.op)
        if spec is None or handler is None:
            log.warning("Dropped a call of the unknown operation %r from %s (this node serves %s)", call.op,
                        call.reply_to, sorted(self._handlers))
            return Answer(call.id, error=ErrorInfo(BAD_CALL, VERSION_SKEW_MESSAGE))
        if call.guild_id is not None and not node.owns(call.guild_id):
            log.info("A call of %r for guild %d came to node %s, which does not run its shard", call.op,
                     call.guild_id, node.node_id)
            return Answer(call.id, error=ErrorInfo(NOT_OWNER, "This process does not run that server's shard."))
        try:
            args = spec.decode_args(call.args)
        except msgspec.DecodeError as err:
            log.warning("Dropped a call of %r from %s with bad arguments: %s", call.op, call.reply_to, err)
            return Answer(call.id, error=ErrorInfo(BAD_CALL, VERSION_SKEW_MESSAGE))
        try:
            return Answer(call.id, value=spec.encode_result(await handler(call.guild_id, args)))
        except Exception as err:  # a refusal (registered kind) or a bug (logged there, "internal" here)
            return Answer(call.id, error=self._errors.describe(err, call.op))
