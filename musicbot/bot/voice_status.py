"""The voice channel's status shows what the bot plays (``PUT /channels/{id}/voice-status``), and is
cleared when it stops or leaves; a guild setting (``/settings voice-status``, on by default).

One task per guild at a time, after a short settling delay: a burst of changes (a skip that starts
the next track, a queue edit) is one request, and a request is made only when the text or the
channel changed: one per track, far inside Discord's limits.

The bot needs the Set Voice Channel Status permission there. Without it (the cached permissions
say so, or Discord answers 403 / error 50013) nothing more is asked of Discord for that channel —
403s count against a bot's invalid-request limit — and the admins are told once: one message
where music is announced, the log, and a line in ``/settings show``. It is tried again when the
setting is saved again or the permission shows up in the cache.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord

from musicbot.i18n import lazy

if TYPE_CHECKING:
    from musicbot.bot.client import MusicBotClient

log = logging.getLogger(__name__)

SETTLE_S = 0.5  # changes within this are one request
MAX_STATUS_CHARS = 120  # Discord allows 500; the channel list shows far less
CLOSE_GRACE_S = 1.0  # at shutdown, how long the last clearing requests may take
MISSING_PERMISSION_CODES = (50001, 50013)  # Missing Access, Missing Permissions


@dataclass(frozen=True)
class _Shown:
    channel_id: int
    text: str


@dataclass(frozen=True)
class _Refusal:
    channel_id: int
    by_cache: bool  # the cached permissions said no (else Discord did: only a saved setting retries)


def status_text(title: str, artist: str) -> str:
    """``🎶 Title — Artist``, on one line, short enough for the channel list."""
    words = (f"{title} — {artist}" if artist else title).split()
    text = "🎶 " + " ".join(words)
    return text if len(text) <= MAX_STATUS_CHARS else text[: MAX_STATUS_CHARS - 1] + "…"


class VoiceStatusKeeper:
    """Event loop. ``changed(guild_id)`` after anything that may change what the status should say."""

    def __init__(self, bot: MusicBotClient) -> None:
        self.bot = bot
        self._shown: dict[int, _Shown] = {}
        self._refused: dict[int, _Refusal] = {}  # by guild: where the permission is missing
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._dirty: set[int] = set()

    def missing_permission_in(self, guild_id: int) -> int | None:
        """The voice channel where the bot may not set the status (reported), if any."""
        refusal = self._refused.get(guild_id)
        return refusal.channel_id if refusal is not None else None

    def changed(self, guild_id: int) -> None:
        self._dirty.add(guild_id)
        if guild_id not in self._tasks:
            self._tasks[guild_id] = asyncio.get_running_loop().create_task(self._run(guild_id))

    def setting_saved(self, guild_id: int) -> None:
        """``/settings voice-status`` was saved: a refusal is forgotten (the admin may have fixed it)."""
        self._refused.pop(guild_id, None)
        self.changed(guild_id)

    async def close(self) -> None:
        """Shutdown: the clearing requests under way get ``CLOSE_GRACE_S``."""
        tasks = list(self._tasks.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=CLOSE_GRACE_S)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _run(self, guild_id: int) -> None:
        try:
            while guild_id in self._dirty:
                await asyncio.sleep(SETTLE_S)
                self._dirty.discard(guild_id)
                try:
                    await self._bring_up_to_date(guild_id)
                except Exception:  # a status is never worth more than a log line
                    log.exception("voice channel status update failed in guild %s", guild_id)
        finally:
            self._tasks.pop(guild_id, None)

    async def _bring_up_to_date(self, guild_id: int) -> None:
        channel, text = await self._wanted(guild_id)
        shown = self._shown.get(guild_id)
        if shown is not None and (channel is None or shown.channel_id != channel.id or text is None):
            await self._put(guild_id, shown.channel_id, None)  # stopped, left, moved or turned off: clear
            self._shown.pop(guild_id, None)
            shown = None
        if channel is None or text is None or shown == _Shown(channel.id, text) or not self._may_set(channel):
            return
        refusal = self._refused.get(guild_id)
        if refusal is not None and refusal.channel_id == channel.id:
            return  # Discord said no here: not asked again until the setting is saved
        if await self._put(guild_id, channel.id, text):
            self._shown[guild_id] = _Shown(channel.id, text)

    async def _wanted(self, guild_id: int) -> tuple[discord.VoiceChannel | discord.StageChannel | None, str | None]:
        session = self.bot.sessions.get(guild_id)
        voice = session.voice if session is not None else None
        channel = voice.channel if voice is not None and voice.is_connected() else None
        if session is None or not isinstance(channel, discord.VoiceChannel | discord.StageChannel):
            return None, None
        entry = session.queue.current
        if entry is None or not (await self.bot.guild_settings(guild_id)).voice_status:
            return channel, None
        return channel, status_text(entry.track.title or entry.track.display_name, entry.track.artist)

    def _may_set(self, channel: discord.VoiceChannel | discord.StageChannel) -> bool:
        """False (reported once) when the cached permissions say the bot may not set the status."""
        me = channel.guild.me
        allowed = me is not None and channel.permissions_for(me).set_voice_channel_status
        refusal = self._refused.get(channel.guild.id)
        if allowed and refusal is not None and refusal.by_cache:
            del self._refused[channel.guild.id]  # granted since: try again
        elif not allowed and (refusal is None or refusal.channel_id != channel.id):
            self._report(channel.guild.id, channel.id, by_cache=True)
        return allowed

    async def _put(self, guild_id: int, channel_id: int, text: str | None) -> bool:
        try:
            await self.bot.http.edit_voice_channel_status(text, channel_id=channel_id)
        except discord.Forbidden as error:
            if error.code not in MISSING_PERMISSION_CODES:
                log.warning("Discord refused the voice channel status (%s %s)", error.code, error.text)
            refusal = self._refused.get(guild_id)
            if refusal is None or refusal.channel_id != channel_id:
                self._report(guild_id, channel_id, by_cache=False)
            return False
        except discord.NotFound:
            return False  # the channel is gone
        return True

    def _report(self, guild_id: int, channel_id: int, *, by_cache: bool) -> None:
        self._refused[guild_id] = _Refusal(channel_id, by_cache)
        log.warning("guild %s: no Set Voice Channel Status permission in channel %s; the status is not set "
                    "(reported once)", guild_id, channel_id)
        channel = f"<#{channel_id}>"
        self.bot.sessions.announce(guild_id, lazy(
            "ℹ️ I can't show the track as {channel}'s status: I need the **Set Voice Channel Status** permission "
            "there. Grant it, or turn this off with `/settings voice-status off`.", channel=channel))
