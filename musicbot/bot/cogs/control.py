"""``/pause``, ``/resume``, ``/skip``, ``/forceskip``, ``/previous``, ``/replay``, ``/seek``, ``/stop``, ``/volume``
(SPEC §1 control group).

Everything here needs the caller in the bot's voice channel, and the DJ rule (``checks.py``) except
``/skip``: without DJ rights it is a vote, unless the caller asked for the track.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from discord import app_commands

from musicbot.bot import actions
from musicbot.bot.actions import (
    MAX_INDEX,
    MAX_VOLUME_PERCENT,
    current_entry,
    now_playing_line,
    soon,
)
from musicbot.bot.checks import controlling_session, listeners, skips_at_once
from musicbot.bot.cogs.base import Interaction, MusicCog
from musicbot.bot.errors import CommandRefusedError
from musicbot.bot.format import clock, track_title
from musicbot.bot.replies import reply
from musicbot.bot.timeparse import parse_seek
from musicbot.i18n import lazy, tr
from musicbot.queue import SkipVotes, VoteOutcome

if TYPE_CHECKING:
    from musicbot.bot.services import BotServices
    from musicbot.session import GuildSession

# A ratio of 0 in the guild settings means one vote is enough (a tally needs a ratio above 0).
MIN_VOTE_RATIO = 1e-6

class ControlCog(MusicCog):
    def __init__(self, bot: BotServices) -> None:
        super().__init__(bot)
        self.votes: dict[int, SkipVotes] = {}  # guild id → the skip tally of what plays there

    @app_commands.command(name="pause", description="Pause the music")
    @app_commands.guild_only()
    async def pause(self, interaction: Interaction) -> None:
        session, _ = await controlling_session(interaction)
        actions.pause(session)
        await reply(interaction, "⏸️ " + tr("Paused. Use /resume to continue."))

    @app_commands.command(name="resume", description="Resume the paused music")
    @app_commands.guild_only()
    async def resume(self, interaction: Interaction) -> None:
        session, _ = await controlling_session(interaction)
        actions.resume(session)
        await reply(interaction, "▶️ " + tr("Resumed."))

    @app_commands.command(name="skip", description="Skip the current track (a vote without DJ rights), or jump ahead")
    @app_commands.describe(to="Jump to this position of /queue (1 = the next track); DJ only")
    @app_commands.guild_only()
    async def skip(self, interaction: Interaction, to: app_commands.Range[int, 1, MAX_INDEX] | None = None) -> None:
        if to is not None:
            session, _ = await controlling_session(interaction)
            entry = await soon(interaction, session.skip_to(to))
            self._reset_votes(session)
            await reply(interaction, "⏭️ " + tr("Jumped to {title}.", title=track_title(entry.track)))
            return
        session, member = await controlling_session(interaction, dj=False)
        current = current_entry(session)
        settings = await self.bot.guild_settings(session.guild.id)
        channel = session.voice.channel if session.voice is not None else None
        present = {m.id for m in listeners(channel)} if channel is not None else {member.id}
        votes = self.votes.setdefault(session.guild.id, SkipVotes())
        votes.ratio = max(MIN_VOTE_RATIO, min(1.0, settings.vote_skip_ratio))
        # The tally itself lets the requester skip (and says so), hence no requester here.
        result = votes.vote(current, member.id, present, is_dj=skips_at_once(member, settings, channel, None))
        if not result.skipped:
            # A counted vote is public, so others see that a skip is being asked for.
            await reply(interaction, f"🗳️ {result.message}", ephemeral=result.outcome is not VoteOutcome.COUNTED)
            return
        await self._skip(interaction, session, result.message)

    @app_commands.command(name="forceskip", description="Skip the current track without a vote (DJ)")
    @app_commands.guild_only()
    async def forceskip(self, interaction: Interaction) -> None:
        session, _ = await controlling_session(interaction, skip=True)
        current_entry(session)
        await self._skip(interaction, session, tr("Skipped."))

    @app_commands.command(name="previous", description="Go back to the previous track")
    @app_commands.guild_only()
    async def previous(self, interaction: Interaction) -> None:
        session, _ = await controlling_session(interaction)
        entry = await soon(interaction, actions.previous(session))
        self._reset_votes(session)
        await reply(interaction, "⏮️ " + tr("Back to {title}.", title=track_title(entry.track)))

    @app_commands.command(name="replay", description="Play the current track again from the start")
    @app_commands.guild_only()
    async def replay(self, interaction: Interaction) -> None:
        session, _ = await controlling_session(interaction)
        current_entry(session)
        entry = await soon(interaction, session.replay())
        self._reset_votes(session)
        await reply(interaction, "⏪ " + tr("Restarted {title}.", title=track_title(entry.track)))

    @app_commands.command(name="seek", description="Jump to a time in the current track")
    @app_commands.describe(position="1:23, 1:02:03, 90 (seconds), or +10 / -15 to move from here")
    @app_commands.guild_only()
    async def seek(self, interaction: Interaction, position: app_commands.Range[str, 1, 40]) -> None:
        session, _ = await controlling_session(interaction)
        current_entry(session)  # refuses when nothing plays
        seconds = parse_seek(position).resolve(session.played_s)
        await soon(interaction, actions.seek(session, seconds))
        await reply(interaction, "⏩ " + tr("Jumped to {position}.", position=clock(seconds, session.length_s)))

    @app_commands.command(name="stop", description="Stop the music and clear the queue (I stay in the channel)")
    @app_commands.guild_only()
    async def stop(self, interaction: Interaction) -> None:
        session, _ = await controlling_session(interaction)
        actions.stop(session)
        self._reset_votes(session)
        await reply(interaction, "⏹️ " + tr("Stopped and cleared the queue. Use /play for more, or /leave."))

    @app_commands.command(name="volume", description="Set the volume (100 = unchanged)")
    @app_commands.describe(percent="0 to 200")
    @app_commands.guild_only()
    async def volume(
        self, interaction: Interaction, percent: app_commands.Range[int, 0, MAX_VOLUME_PERCENT]
    ) -> None:
        if not 0 <= percent <= MAX_VOLUME_PERCENT:
            raise CommandRefusedError(lazy("The volume goes from 0 to {max} %.", max=MAX_VOLUME_PERCENT))  # first
        session, _ = await controlling_session(interaction)
        actions.set_volume(session, percent)
        icon = "🔇" if percent == 0 else ("🔉" if percent < 100 else "🔊")
        await reply(interaction, f"{icon} " + tr("Volume {percent} %.", percent=percent))

    # ---------------------------------------------------------------- helpers
    async def _skip(self, interaction: Interaction, session: GuildSession, said: str) -> None:
        await soon(interaction, actions.skip(session))
        self._reset_votes(session)
        await reply(interaction, f"⏭️ {said} {now_playing_line(session)}")

    def _reset_votes(self, session: GuildSession) -> None:
        votes = self.votes.get(session.guild.id)
        if votes is not None:
            votes.reset()
