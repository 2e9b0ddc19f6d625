"""Who may do what (SPEC §1 Permissions).

- Controlling playback needs being in the bot's voice channel.
- With a DJ role set, control commands need that role (or Manage Server), or being alone with the
  bot, or — for skip/remove — being the requester of the track concerned.
- Skipping at once (``/skip`` without a vote, ``/forceskip``, the panel's skip): with a DJ role, as
  above; without one (every other control is open to all), Manage Channels or Manage Server, being
  alone with the bot, or being the requester. Everyone else votes (``/settings vote-skip``).
- ``/settings`` needs Manage Server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from musicbot.bot.errors import (
    GuildOnlyError,
    ManageServerRequiredError,
    NotConnectedError,
    NotDJError,
    NotInVoiceError,
    SkipNeedsVoteError,
    WrongVoiceChannelError,
)
from musicbot.bot.interaction import Interaction
from musicbot.i18n import lazy
from musicbot.storage import GuildSettings

if TYPE_CHECKING:
    from musicbot.bot.client import MusicBotClient
    from musicbot.session import GuildSession


def guild_and_member(interaction: Interaction) -> tuple[discord.Guild, discord.Member]:
    guild = interaction.guild
    if guild is None or not isinstance(interaction.user, discord.Member):
        raise GuildOnlyError()
    return guild, interaction.user


def voice_channel_of(member: discord.Member) -> discord.VoiceChannel | discord.StageChannel:
    if member.voice is None or member.voice.channel is None:
        raise NotInVoiceError()
    return member.voice.channel


def listeners(channel: discord.VoiceChannel | discord.StageChannel) -> list[discord.Member]:
    """The humans in ``channel`` (bots don't vote and don't count as company)."""
    return [m for m in channel.members if not m.bot]


def is_dj(member: discord.Member, settings: GuildSettings) -> bool:
    """No DJ role set means everyone is a DJ; server managers always are."""
    if settings.dj_role_id is None or member.guild_permissions.manage_guild:
        return True
    return any(role.id == settings.dj_role_id for role in member.roles)


def skips_at_once(member: discord.Member, settings: GuildSettings, channel: discord.abc.Connectable | None,
                  requester_id: int | None) -> bool:
    """Whether ``member`` skips the track ``requester_id`` asked for without a vote."""
    if requester_id == member.id or alone_with_bot(member, channel):
        return True
    if settings.dj_role_id is not None:
        return is_dj(member, settings)
    # No DJ role: "everyone is a DJ" would let any listener skip anyone's track; those who may
    # manage the voice channel (its overwrites count) are the server's own moderators.
    where = channel.permissions_for(member) if isinstance(channel, discord.abc.GuildChannel) else \
        member.guild_permissions
    return where.manage_channels or member.guild_permissions.manage_guild


def alone_with_bot(member: discord.Member, channel: discord.abc.Connectable | None) -> bool:
    if not isinstance(channel, discord.VoiceChannel | discord.StageChannel):
        return False
    return [m.id for m in listeners(channel)] == [member.id]


def require_manage_server(member: discord.Member) -> None:
    if not member.guild_permissions.manage_guild:
        raise ManageServerRequiredError()


async def controlling_session(
    interaction: Interaction, *, dj: bool = True, requester_id: int | None = None, skip: bool = False
) -> tuple[GuildSession, discord.Member]:
    """The guild's connected session, if ``interaction.user`` may control it.

    ``dj``: the command is DJ-only when a DJ role is set. ``requester_id``: the user who queued the
    track concerned; they may act on it without the role (skip, remove). ``skip``: a skip without
    a vote (``skips_at_once``), refused with a pointer to ``/skip``'s vote.
    """
    guild, member = guild_and_member(interaction)
    session = await session_member_controls(interaction.client, guild, member, dj=dj, requester_id=requester_id,
                                            skip=skip)
    return session, member


async def session_member_controls(
    client: MusicBotClient, guild: discord.Guild, member: discord.Member, *, dj: bool = True,
    requester_id: int | None = None, skip: bool = False,
) -> GuildSession:
    """``controlling_session``'s rules for ``member``, wherever they act from (a command, the
    dashboard: ``bot/web_control.py``)."""
    session = client.sessions.get(guild.id)
    voice = session.voice if session is not None else None
    if session is None or voice is None or not voice.is_connected():
        raise NotConnectedError()
    require_same_channel(member, voice.channel)
    if skip:
        settings = await client.guild_settings(guild.id)
        if settings.dj_role_id is None and not skips_at_once(member, settings, voice.channel, requester_id):
            raise SkipNeedsVoteError()
    if dj:
        settings = await client.guild_settings(guild.id)
        allowed = is_dj(member, settings) or alone_with_bot(member, voice.channel) or (
            requester_id is not None and requester_id == member.id
        )
        if not allowed:
            role = guild.get_role(settings.dj_role_id) if settings.dj_role_id else None
            raise NotDJError(role.mention if role is not None else lazy("the DJ role"))
    return session


def require_same_channel(member: discord.Member, channel: discord.abc.Connectable | None) -> None:
    mine = voice_channel_of(member)
    if isinstance(channel, discord.abc.GuildChannel) and channel.id != mine.id:
        raise WrongVoiceChannelError(channel.mention)
