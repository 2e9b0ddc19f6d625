"""The Telegram bridge's side in each bot process: it answers the bridge's questions about the guilds of
this process's shards (``telegram/ops.py``'s ``STATE``, ``ACT``, ``PLAY``), wherever the bridge runs.

Who may do what is ``telegram/rights.py``'s rule (the chat's admins always; members as the guild's
``telegram_control`` says), checked here, where the guild plays. What an action does, and its
refusals, are the slash commands' own (``actions.py``); a track asked for from Telegram goes through
``session.play`` as /play's do (the same resolver, guard and limits), credited to the Telegram user
(``OutsideRequester``), and plays only where the bot already is in voice.

It also remembers the last plays that ended in each guild (from the session's play events), so the
mirror can say "skipped" or "finished". Event loop only.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from typing import TYPE_CHECKING

from musicbot.bot import actions
from musicbot.bot.errors import CommandRefusedError
from musicbot.bot.web_control import entry_view
from musicbot.cluster import Handlers
from musicbot.queue import QueueEntry
from musicbot.session_requester import NotInVoiceForOutsideError, OutsideRequester
from musicbot.storage import PlayOutcome
from musicbot.telegram import rights
from musicbot.telegram.ops import (
    ACT,
    ACT_KINDS,
    MAX_QUERY_CHARS,
    PLAY,
    STATE,
    AskState,
    ChatAction,
    ChatPlay,
    ChatPlayer,
    ChatQueued,
    ChatUser,
    Ended,
)
from musicbot.web.dashboard_ops import NotReadyError
from musicbot.web.player_api import BadActionError, PlayerView, UnknownGuildError

if TYPE_CHECKING:
    import discord

    from musicbot.bot.client import MusicBotClient
    from musicbot.bot.web_control import WebControl
    from musicbot.session import GuildSession

VIA = "Telegram"
ENDED_KEPT = 10  # per guild: more than a burst of skips between two looks of the mirror
TITLES_KEPT = 50


class TelegramControl:
    def __init__(self, client: MusicBotClient, web: WebControl) -> None:
        self._client = client
        self._web = web
        self._titles: dict[int, OrderedDict[int, str]] = {}  # guild → entry id → title, of plays started
        self._ended: dict[int, deque[Ended]] = {}
        self._last_seq = 0

        async def started(guild_id: int, entry: QueueEntry) -> None:
            self.play_started(guild_id, entry)

        async def ended(guild_id: int, entry_id: int, outcome: PlayOutcome, reason: str | None) -> None:
            self.play_ended(guild_id, entry_id, outcome)

        client.add_listener(started, "on_session_play_started")
        client.add_listener(ended, "on_session_play_ended")

    def serve(self, handlers: Handlers) -> Handlers:
        """``handlers`` with the bridge's guild operations added (``ClusterNode`` serves them)."""

        async def state(guild_id: int | None, args: AskState) -> ChatPlayer:
            return await self.state(self._ready(guild_id), args.actor)

        async def act(guild_id: int | None, args: ChatAction) -> ChatPlayer:
            return await self.act(self._ready(guild_id), args.actor, args.kind, args.value)

        async def play(guild_id: int | None, args: ChatPlay) -> ChatQueued:
            return await self.play(self._ready(guild_id), args.actor, args.query)

        return handlers.on(STATE, state).on(ACT, act).on(PLAY, play)

    # ---------------------------------------------------------------- the operations
    async def state(self, guild_id: int, actor: ChatUser | None) -> ChatPlayer:
        await self._check(guild_id, actor, acting=False)
        return await self._chat_player(guild_id)

    async def act(self, guild_id: int, actor: ChatUser, kind: str, value: int | str | None) -> ChatPlayer:
        if kind not in ACT_KINDS:
            raise BadActionError(f"Unknown action “{kind[:40]}”.")
        await self._check(guild_id, actor, acting=True)
        session = self._connected(guild_id)
        if kind == "pause":
            actions.pause(session)
        elif kind == "resume":
            actions.resume(session)
        elif kind == "toggle":
            actions.toggle_pause(session)
        elif kind == "skip":
            current = actions.current_entry(session)
            if isinstance(value, int) and current.entry_id != value:  # a button under an older track
                raise CommandRefusedError("That track is no longer playing.")
            await actions.skip(session)
        elif kind == "stop":
            actions.stop(session)
        elif kind == "volume":
            if not isinstance(value, int):
                raise BadActionError(f"The volume is a whole number from 0 to {actions.MAX_VOLUME_PERCENT}.")
            actions.set_volume(session, value)
        else:  # preset
            settings = await self._client.guild_settings(guild_id)
            name = str(value or "")
            preset = name if name == actions.FILTERS_OFF else actions.checked_preset(name)
            actions.apply_filter_preset(session, settings, preset)
        return await self._chat_player(guild_id)

    async def play(self, guild_id: int, actor: ChatUser, query: str) -> ChatQueued:
        if not query.strip() or len(query) > MAX_QUERY_CHARS:
            raise BadActionError(f"Send what to play: words or a link, up to {MAX_QUERY_CHARS} characters.")
        await self._check(guild_id, actor, acting=True)
        session = self._connected(guild_id)
        entries = await session.play(query.strip(), OutsideRequester(actor.name, VIA))
        return ChatQueued([entry_view(e) for e in entries], await self._chat_player(guild_id))

    # ---------------------------------------------------------------- plays that ended (the mirror's events)
    def play_started(self, guild_id: int, entry: QueueEntry) -> None:
        titles = self._titles.setdefault(guild_id, OrderedDict())
        titles[entry.entry_id] = entry.track.display_name
        while len(titles) > TITLES_KEPT:
            titles.popitem(last=False)

    def play_ended(self, guild_id: int, entry_id: int, outcome: PlayOutcome) -> None:
        title = self._titles.get(guild_id, OrderedDict()).pop(entry_id, "a track")
        # Grows across restarts too (microseconds of the wall clock), so the bridge never takes a new
        # end for one it already told.
        self._last_seq = max(self._last_seq + 1, time.time_ns() // 1000)
        self._ended.setdefault(guild_id, deque(maxlen=ENDED_KEPT)).append(
            Ended(self._last_seq, entry_id, title, outcome.value))

    # ---------------------------------------------------------------- helpers
    def _ready(self, guild_id: int | None) -> int:
        if not self._client.is_ready():
            raise NotReadyError()
        assert guild_id is not None  # guild operations are routed with their guild (cluster/bus.py)
        return guild_id

    async def _check(self, guild_id: int, actor: ChatUser | None, *, acting: bool) -> None:
        if self._client.get_guild(guild_id) is None:
            raise UnknownGuildError()
        settings = await self._client.guild_settings(guild_id)
        rights.check(settings.telegram_control, chat_admin=None if actor is None else actor.chat_admin, acting=acting)

    def _connected(self, guild_id: int) -> GuildSession:
        session = self._client.sessions.get(guild_id)
        if session is None or session.voice is None or not session.voice.is_connected():
            raise NotInVoiceForOutsideError(VIA)
        return session

    async def _chat_player(self, guild_id: int) -> ChatPlayer:
        view = await self._web.player(guild_id)
        guild = self._client.get_guild(guild_id)
        return ChatPlayer(view, _requesters(view, guild), list(self._ended.get(guild_id, ())))


def _requesters(view: PlayerView, guild: discord.Guild | None) -> dict[int, str]:
    """Who asked for the current and the listed tracks, by name: a Telegram user's as credited, a
    Discord member's display name (from the cache: members in voice are always there)."""
    names: dict[int, str] = {}
    for entry in ([view.current] if view.current else []) + view.queue:
        if entry.autoplay:
            names[entry.entry_id] = "autoplay"
        elif entry.requester_id is None:
            names[entry.entry_id] = entry.requester_name or "autoplay"
        else:
            member = guild.get_member(int(entry.requester_id)) if guild is not None else None
            names[entry.entry_id] = member.display_name if member is not None else "a Discord member"
    return names
