"""Whose playlists a member reaches in a server, and who changes a server's: the rules of ``/playlist``
(and of the dashboard's playlists) in one place.

A member loads their own playlists, the server's, and those other members shared with the server
(``storage/playlist_shelf.py`` finds them). They change their own; the server's only as a DJ
(``checks.is_dj``: the DJ role or Manage Server; everyone while the server has set no DJ role, as
for the music controls); a shared one only its owner, though a server manager may stop it being
shared there.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from musicbot.bot.checks import is_dj
from musicbot.bot.errors import CommandRefusedError
from musicbot.i18n import lazy, ngettext, tr
from musicbot.storage import PlaylistOwner, PlaylistShelf, PlaylistSummary, Shelf, StorageError
from musicbot.storage.playlist_shelf import reference

if TYPE_CHECKING:
    from musicbot.bot.services import BotServices

MAX_CHOICES = 25  # Discord shows at most 25 suggestions


class NotPlaylistEditorError(CommandRefusedError):
    """A server's playlists are made and changed by its DJs and managers."""

    def __init__(self, role_mention: str) -> None:
        super().__init__(lazy("This server's playlists are made and changed by members with the DJ role ({role}) "
                              "or Manage Server. Save it as your own playlist instead (leave `server` off).",
                              role=role_mention))


class Reach(enum.Enum):
    """Which playlists a command's name suggestions offer."""

    LOAD = "load"  # the member's, the server's, shared here
    CHANGE = "change"  # the member's and the server's
    OWN = "own"  # the member's


def count_tracks(count: int) -> str:
    """``1 track``, ``12 tracks``, in the current locale."""
    return ngettext("{n} track", "{n} tracks", count, n=count)


async def may_edit_server_playlists(bot: BotServices, member: discord.Member) -> bool:
    return is_dj(member, await bot.guild_settings(member.guild.id))


async def require_editor(bot: BotServices, member: discord.Member) -> None:
    """``NotPlaylistEditorError`` unless ``member`` may make and change the server's playlists."""
    settings = await bot.guild_settings(member.guild.id)
    if not is_dj(member, settings):
        role = member.guild.get_role(settings.dj_role_id) if settings.dj_role_id else None
        raise NotPlaylistEditorError(role.mention if role is not None else lazy("the DJ role"))


async def find_to_load(bot: BotServices, member: discord.Member, text: str) -> PlaylistSummary:
    return await PlaylistShelf(bot.db).find(member.id, member.guild.id, text)


async def find_to_change(bot: BotServices, member: discord.Member, text: str) -> PlaylistSummary:
    """The member's own playlist, or the server's if they may change those."""
    found = await PlaylistShelf(bot.db).find(member.id, member.guild.id, text, to_change=True)
    if found.owner.is_guild:
        await require_editor(bot, member)
    return found


async def owner_words(bot: BotServices, playlist: PlaylistSummary, member: discord.Member) -> str:
    """Whose ``playlist`` is, said to ``member`` in plain text (no mention renders in a footer or a
    suggestion): "" (theirs), "this server's", "shared by <their name>" (current locale)."""
    if playlist.owner == PlaylistOwner.user(member.id):
        return ""
    if playlist.owner.is_guild:
        return tr("this server's")
    return _shared_by(await PlaylistShelf(bot.db).shared_by(playlist.id, member.guild.id))


def _shared_by(name: str | None) -> str:
    return tr("shared by {name}", name=name) if name else tr("shared by a member")


async def suggestions(bot: BotServices, member: discord.Member, typed: str,
                      reach: Reach) -> list[app_commands.Choice[str]]:
    """Name suggestions for a ``/playlist`` command: the member's own by name, the others by reference
    (``#42``: the same name may be the member's and the server's). Never raises: typing must not fail."""
    try:
        if reach is Reach.OWN:
            mine = await bot.playlists.list_for(member.id)
            shelf = Shelf(tuple(mine), (), (), frozenset())
        else:
            shelf = await PlaylistShelf(bot.db).shelf(member.id, member.guild.id)
    except StorageError:
        return []  # the command itself reports the outage
    wanted = typed.strip().casefold()
    choices = [app_commands.Choice(name=f"{p.name} ({count_tracks(p.track_count)})"[:100], value=p.name)
               for p in shelf.mine if wanted in p.name.casefold()]
    others = [(p, tr("this server's")) for p in shelf.server]
    if reach is Reach.LOAD:
        others += [(p, _shared_by(shelf.shared_by.get(p.id))) for p in shelf.shared]
    for p, whose in others:
        if wanted in p.name.casefold() or wanted == reference(p):
            label = f"{p.name} ({count_tracks(p.track_count)}, {whose})"
            choices.append(app_commands.Choice(name=label[:100], value=reference(p)))
    return choices[:MAX_CHOICES]
