"""What plays in a linked guild, followed in its Telegram chat: a now-playing message posted when a
track starts (title, link, who asked, length, progress, volume; buttons to pause or resume, skip,
stop), edited in place as things change and every ``PROGRESS_EVERY_S`` while playing, and turned into
a "played" line when the next one starts; short event lines for plays skipped, finished, stopped or
failed, pause and resume, volume, and the end of the queue.

The bridge's process hears every guild's changes on the cluster bus (``GuildChanged``, once per burst
wherever the guild plays); for a linked guild it waits ``DEBOUNCE_S`` (the rest of a burst), asks the
guild's process for its player (``ops.STATE``) and tells the chat's outbox what the chat should show
now. The outbox (with the limiter) decides when each thing goes out: a burst of changes becomes at
most a few sends, never more than Telegram allows. Event loop only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from musicbot.cluster import Bus, GuildChanged
from musicbot.errors import MusicBotError
from musicbot.storage.telegram import TelegramLinks
from musicbot.telegram.ops import STATE, AskState, ChatPlayer
from musicbot.telegram.outbox import Outboxes
from musicbot.telegram.text import event_line, now_playing, played

log = logging.getLogger(__name__)

DEBOUNCE_S = 0.5
PROGRESS_EVERY_S = 15.0  # also how often the list of linked guilds is read again (each look checks its own)


@dataclass(frozen=True)
class _Seen:
    chat_id: int
    state: ChatPlayer
    last_seq: int


class Mirror:
    def __init__(self, bus: Bus, links: Callable[[], TelegramLinks], outboxes: Outboxes, *,
                 progress_every_s: float = PROGRESS_EVERY_S, debounce_s: float = DEBOUNCE_S) -> None:
        self._bus = bus
        self._links = links
        self._outboxes = outboxes
        self.progress_every_s = progress_every_s
        self.debounce_s = debounce_s
        self._linked: dict[int, int] = {}  # guild → chat
        self._seen: dict[int, _Seen] = {}
        self._pending: dict[int, asyncio.Task[None]] = {}
        self._unwatch: Callable[[], None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._links_failing = False

    async def start(self) -> None:
        self._unwatch = await self._bus.watch_changes(self._changed)
        self._ticker = asyncio.get_running_loop().create_task(self._tick(), name="telegram-mirror")

    async def stop(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
        for task in [self._ticker, *self._pending.values()]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def linked(self, guild_id: int, chat_id: int) -> None:
        """A link was just made here: follow it at once (and show what plays)."""
        self._linked[guild_id] = chat_id
        self._seen.pop(guild_id, None)
        self._schedule(guild_id, 0.0)

    # ---------------------------------------------------------------- what starts a look
    def _changed(self, change: GuildChanged) -> None:
        if change.guild_id in self._linked:
            self._schedule(change.guild_id, self.debounce_s)

    def _schedule(self, guild_id: int, after_s: float) -> None:
        if guild_id not in self._pending:
            self._pending[guild_id] = asyncio.get_running_loop().create_task(self._look_later(guild_id, after_s))

    async def _look_later(self, guild_id: int, after_s: float) -> None:
        await asyncio.sleep(after_s)
        del self._pending[guild_id]  # a change from here on is another look
        await self.look(guild_id)

    async def _tick(self) -> None:
        while True:
            await self._read_links()
            for guild_id, seen in list(self._seen.items()):
                player = seen.state.player
                if player.current is not None and not player.paused:
                    self._schedule(guild_id, 0.0)  # the progress bar moves on
            await asyncio.sleep(self.progress_every_s)

    async def _read_links(self) -> None:
        try:
            links = await self._links().all()
        except MusicBotError as err:  # the database is down: keep following what was linked
            if not self._links_failing:
                log.warning("Telegram links could not be read: %s", err)
            self._links_failing = True
            return
        self._links_failing = False
        linked = {link.guild_id: link.chat_id for link in links}
        for guild_id in set(self._linked) - set(linked):  # unlinked: the chat is left as it is
            self._seen.pop(guild_id, None)
        for guild_id, chat_id in linked.items():
            if self._linked.get(guild_id) != chat_id:
                self._schedule(guild_id, 0.0)
        self._linked = linked

    # ---------------------------------------------------------------- one look
    async def look(self, guild_id: int) -> None:
        if guild_id not in self._linked:
            return
        try:
            # Asked each time (looks are few): an unlink made in Discord stops the mirror at once.
            link = await self._links().for_guild(guild_id)
            if link is None:
                self._linked.pop(guild_id, None)
                self._seen.pop(guild_id, None)
                return
            state = await self._bus.call(guild_id, STATE, AskState(None))
        except MusicBotError as err:  # the database, or the guild's process (restarting, gone): a later look
            log.debug("no look at guild %d: %s", guild_id, err)
            return
        self._linked[guild_id] = link.chat_id
        self.show(guild_id, link.chat_id, state)

    def show(self, guild_id: int, chat_id: int, state: ChatPlayer) -> None:
        """Tell the chat's outbox what changed since the last look and what the chat should show now."""
        box = self._outboxes(chat_id)
        seen = self._seen.get(guild_id)
        if seen is not None and seen.chat_id != chat_id:
            seen = None
        newest = max((e.seq for e in state.ended), default=0)
        player, current = state.player, state.player.current
        if seen is not None:  # the first look tells nothing that happened before it
            before = seen.state.player
            for ended in state.ended:
                if ended.seq > seen.last_seq:
                    box.event(event_line(ended))
            same_track = current is not None and before.current is not None \
                and current.entry_id == before.current.entry_id
            if same_track and player.paused != before.paused:
                box.event("⏸ Paused" if player.paused else "▶️ Resumed", about="pause")
            if player.volume != before.volume:
                box.event(f"🔊 Volume: {player.volume} %", about="volume")
            ended_now = [e for e in state.ended if e.seq > seen.last_seq]
            if before.current is not None and current is None and not player.queue and ended_now \
                    and ended_now[-1].outcome == "finished":
                box.event("🏁 The queue is finished.")
        retire = None
        if seen is not None and seen.state.player.current is not None:
            retire = played(seen.state, seen.state.player.current)
        box.now_playing(None if current is None else current.entry_id,
                        None if current is None else now_playing(state), retire)
        self._seen[guild_id] = _Seen(chat_id, state, max(newest, seen.last_seq if seen else 0))
