"""News that a guild's player changed, from the process running it to every process watching
(web processes nudge their WebSocket watchers with it). Pub/sub: a change published while a watcher
is not listening is lost, so watchers refresh on their own timer as well.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from musicbot.cluster.errors import BusUnreachableError
from musicbot.cluster.messages import GuildChanged, decode, encode
from musicbot.cluster.transport import Transport

log = logging.getLogger(__name__)

ChangeCallback = Callable[[GuildChanged], None]


class Changes:
    """The watchers of this process, and the channel they hear on (event loop)."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._watchers: list[ChangeCallback] = []
        self.listening = False  # subscribed, for the transport open now

    @property
    def wanted(self) -> bool:
        """Someone watches, and the channel is not listened to yet."""
        return bool(self._watchers) and not self.listening

    def add(self, callback: ChangeCallback) -> Callable[[], None]:
        self._watchers.append(callback)

        def unwatch() -> None:
            with contextlib.suppress(ValueError):
                self._watchers.remove(callback)

        return unwatch

    async def listen(self) -> None:
        self.listening = True
        await self._transport.subscribe(self._transport.keys.changed, self._on_changed)

    async def publish(self, change: GuildChanged) -> None:
        try:
            await self._transport.publish(self._transport.keys.changed, encode(change))
        except BusUnreachableError as err:
            log.warning("The change of guild %d (%s) reached no web process: %s", change.guild_id, change.what, err)

    def _on_changed(self, data: bytes) -> None:
        change = decode(data, GuildChanged, self._transport.keys.changed)
        if change is None:
            return
        for callback in tuple(self._watchers):
            try:
                callback(change)
            except Exception:
                log.exception("A watcher of guild changes failed")
