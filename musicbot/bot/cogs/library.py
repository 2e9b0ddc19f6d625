"""``/playlist save|load|list|show|delete|rename|import|export|share`` and ``/history`` (SPEC §1 library group).

A member has playlists of their own, may share them with a server, and a server has playlists of its
own that its DJs make and change (``playlist_access.py`` says who reaches which). Every answer about
them is ephemeral except ``load``, which changes the music for everyone. ``import`` answers at once
and shows its progress in that answer (``playlist_import.py``); ``export`` answers with the file.
Storage refusals (unknown name, name taken, database down) are ``MusicBotError``s: the tree shows
their message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import Range

from musicbot import __version__
from musicbot.bot.checks import guild_and_member, require_same_channel, voice_channel_of
from musicbot.bot.cogs.base import Interaction, MusicCog
from musicbot.bot.errors import CommandRefusedError
from musicbot.bot.format import format_duration, safe
from musicbot.bot.playlist_access import (
    Reach,
    count_tracks,
    find_to_change,
    find_to_load,
    owner_words,
    require_editor,
    suggestions,
)
from musicbot.bot.playlist_import import ImportBusyError, ImportOrder, PlaylistImports, first_words, source_of
from musicbot.bot.progress import EDIT_INTERVAL_S, ProgressMessage
from musicbot.bot.replies import OK_COLOUR, PRIVATE_ANSWERS, Upload, reply
from musicbot.errors import MusicBotError
from musicbot.i18n import N_, lazy, localized, ngettext, tr
from musicbot.storage import (
    HistoryEntry,
    PlaylistExistsError,
    PlaylistFileError,
    PlaylistNotFoundError,
    PlaylistOwner,
    PlaylistShelf,
    PlaylistSummary,
    PlayOutcome,
)
from musicbot.storage.columns import utcnow
from musicbot.storage.playlist_file import MAX_FILE_BYTES, encode_playlist, export_filename
from musicbot.storage.playlists import MAX_NAME_LENGTH, clean_playlist_name

if TYPE_CHECKING:
    from musicbot.bot.services import BotServices

log = logging.getLogger(__name__)

EMBED_TEXT_LIMIT = 3900  # Discord allows 4096 in a description; keep room for the "and N more" line
MESSAGE_EMBEDS_LIMIT = 5400  # and 6000 characters in all of a message's embeds: /playlist list may have three
SHOW_TRACKS = 25
HISTORY_LIMIT = 15


def listing(lines: Iterable[str], total: int, limit: int = EMBED_TEXT_LIMIT) -> str:
    """``lines`` joined up to ``limit`` characters, then how many were left out of ``total``."""
    shown: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > limit:
            break
        shown.append(line)
        size += len(line) + 1
    if total > len(shown):
        shown.append("… " + tr("and {n} more", n=total - len(shown)))
    return "\n".join(shown)


OUTCOME_WORDS = {PlayOutcome.SKIPPED: N_("skipped"), PlayOutcome.STOPPED: N_("stopped"),
                 PlayOutcome.FAILED: N_("failed")}


def history_line(entry: HistoryEntry) -> str:
    if entry.user_id is not None and not entry.autoplay:
        who = f"<@{entry.user_id}>"
    elif entry.requester_name and not entry.autoplay:  # asked from outside Discord: named as the queue names them
        who = safe(entry.requester_name, 40)
    else:
        who = tr("autoplay")
    when = f"<t:{int(entry.started_at.timestamp())}:R>"
    # How it ended, when it did not simply play to the end (still playing, or the bot stopped: nothing).
    ending = "" if entry.outcome in (None, PlayOutcome.FINISHED) else \
        " · " + (tr(OUTCOME_WORDS[entry.outcome]) if entry.outcome in OUTCOME_WORDS else entry.outcome.value)
    return f"{when} {safe(entry.track.display_name, 70)} — {who}{ending}"


class LibraryCog(MusicCog):
    playlist = app_commands.Group(name="playlist", description="Your playlists and this server's", guild_only=True)

    def __init__(self, bot: BotServices) -> None:
        super().__init__(bot)
        self.imports = PlaylistImports(bot)
        self.progress_interval_s = EDIT_INTERVAL_S  # how often a long job's answer is edited (tests: every step)

    async def cog_unload(self) -> None:
        await self.imports.close()  # a restart: each running import says it stopped, nothing saved

    @playlist.command(name="save", description="Save the current track and the queue as a playlist",
                      extras=PRIVATE_ANSWERS)
    @app_commands.describe(name="The playlist's name", overwrite="Replace the playlist of that name if there is one",
                           server="Save it as one of this server's playlists (DJ or Manage Server)")
    async def save(self, interaction: Interaction, name: Range[str, 1, MAX_NAME_LENGTH],
                   overwrite: bool = False, server: bool = False) -> None:
        guild, member = guild_and_member(interaction)
        owner = await self._owner(member, server)
        session = self.bot.sessions.get(guild.id)
        entries = [] if session is None else [e for e in (session.queue.current, *session.queue.upcoming) if e]
        saved = await self.bot.playlists.save(owner, name, [e.track for e in entries], overwrite=overwrite,
                                              actor_id=member.id)
        values = {"name": safe(saved.name), "tracks": count_tracks(saved.track_count),
                  "length": format_duration(saved.duration_s)}
        if server:
            text = tr("Saved “{name}” for this server: {tracks} ({length}).", **values)
        else:
            text = tr("Saved “{name}”: {tracks} ({length}).", **values)
        await reply(interaction, "💾 " + text, ephemeral=True)

    @playlist.command(name="load", description="Add a playlist (yours, this server's or shared here) to the queue")
    @app_commands.describe(name="The playlist: yours, this server's, or one shared here",
                           next="Put it at the front of the queue")
    async def load(self, interaction: Interaction, name: Range[str, 1, 100], next: bool = False) -> None:
        guild, member = guild_and_member(interaction)
        voice_channel_of(member)
        session = self.bot.sessions.get(guild.id)
        if session is not None and session.voice is not None and session.voice.is_connected():
            require_same_channel(member, session.voice.channel)
        saved = await self.bot.playlists.load_by_id((await find_to_load(self.bot, member, name)).id)
        # Joining voice and opening the first track can take seconds: say so at once, then what was queued.
        progress = ProgressMessage(interaction, ephemeral=False, interval_s=self.progress_interval_s)
        await progress.start("⏳ " + tr("Loading “{name}”: {tracks}…", name=safe(saved.name),
                                        tracks=count_tracks(len(saved.tracks))))
        try:
            session = await self.bot.sessions.ensure(guild, interaction.channel_id, starter=member)
            entries = await session.enqueue(saved.tracks, member, play_next=next)
        except MusicBotError as refusal:
            await progress.finish(f"⚠️ {localized(refusal)}")
            return
        except Exception:
            await progress.finish("⚠️ " + tr("The playlist could not be loaded (the bot ran into a problem; it is "
                                             "logged)."))
            raise
        text = "📂 " + tr("Queued {tracks} from “{name}” ({length}).", tracks=count_tracks(len(entries)),
                          name=safe(saved.name),
                          length=format_duration(sum(e.track.duration_s or 0.0 for e in entries)))
        refused = len(saved.tracks) - len(entries)
        if refused:
            text += " " + ngettext("{n} could not be added (queue full, too long or already queued).",
                                   "{n} could not be added (queue full, too long or already queued).", refused,
                                   n=refused)
        await progress.finish(text)

    @playlist.command(name="list", description="Your playlists, this server's and those shared here",
                      extras=PRIVATE_ANSWERS)
    async def list_(self, interaction: Interaction) -> None:
        guild, member = guild_and_member(interaction)
        shelf = await PlaylistShelf(self.bot.db).shelf(member.id, guild.id)
        if shelf.empty:
            await reply(interaction, tr("You have no playlists yet. Save the queue with /playlist save."),
                        ephemeral=True)
            return
        sections: list[tuple[str, list[str]]] = []
        if shelf.mine:
            shared_here = " · 🔗 " + tr("shared here")
            sections.append((tr("Your playlists"), [
                _line(p) + (shared_here if p.id in shelf.mine_shared_here else "") for p in shelf.mine]))
        if shelf.server:
            sections.append((tr("This server's playlists"), [_line(p) for p in shelf.server]))
        if shelf.shared:
            sections.append((tr("Shared here by members"), [f"{_line(p)} · <@{p.owner_id}>" for p in shelf.shared]))
        limit = min(EMBED_TEXT_LIMIT, MESSAGE_EMBEDS_LIMIT // len(sections))
        embeds = [discord.Embed(title=title, colour=OK_COLOUR, description=listing(lines, len(lines), limit))
                  for title, lines in sections]
        await reply(interaction, embeds=embeds, ephemeral=True)

    @playlist.command(name="show", description="The tracks of a playlist (yours, this server's or shared here)",
                      extras=PRIVATE_ANSWERS)
    @app_commands.describe(name="The playlist: yours, this server's, or one shared here")
    async def show(self, interaction: Interaction, name: Range[str, 1, 100]) -> None:
        _, member = guild_and_member(interaction)
        found = await find_to_load(self.bot, member, name)
        saved = await self.bot.playlists.load_by_id(found.id)
        live = tr("live")
        lines = (
            f"`{i}.` {safe(t.display_name, 70)} ({live if t.duration_s is None else format_duration(t.duration_s)})"
            for i, t in enumerate(saved.tracks[:SHOW_TRACKS], 1)
        )
        embed = discord.Embed(title=f"📂 {safe(saved.name)}", colour=OK_COLOUR,
                              description=listing(lines, len(saved.tracks)))
        whose = await owner_words(self.bot, found, member)
        embed.set_footer(text=f"{count_tracks(len(saved.tracks))} · {format_duration(saved.duration_s)}"
                              + (f" · {whose}" if whose else ""))
        await reply(interaction, embed=embed, ephemeral=True)

    @playlist.command(name="delete", description="Delete one of your playlists (or this server's, as a DJ)",
                      extras=PRIVATE_ANSWERS)
    @app_commands.describe(name="One of your playlists, or this server's")
    async def delete(self, interaction: Interaction, name: Range[str, 1, 100]) -> None:
        _, member = guild_and_member(interaction)
        found = await find_to_change(self.bot, member, name)
        await self.bot.playlists.delete(found.owner, found.name, actor_id=member.id)
        if found.owner.is_guild:
            text = tr("Deleted this server's playlist “{name}”.", name=safe(found.name))
        else:
            text = tr("Deleted “{name}”.", name=safe(found.name))
        await reply(interaction, "🗑️ " + text, ephemeral=True)

    @playlist.command(name="rename", description="Rename one of your playlists (or this server's, as a DJ)",
                      extras=PRIVATE_ANSWERS)
    @app_commands.describe(name="One of your playlists, or this server's", new_name="Its new name")
    async def rename(self, interaction: Interaction, name: Range[str, 1, 100],
                     new_name: Range[str, 1, MAX_NAME_LENGTH]) -> None:
        _, member = guild_and_member(interaction)
        old = await find_to_change(self.bot, member, name)
        renamed = await self.bot.playlists.rename(old.owner, old.name, new_name, actor_id=member.id)
        await reply(interaction, "✏️ " + tr("Renamed “{old}” to “{new}”.", old=safe(old.name), new=safe(renamed.name)),
                    ephemeral=True)

    @playlist.command(name="import", description="Import a playlist: a file from /playlist export, or a Spotify or "
                                                 "YouTube playlist link", extras=PRIVATE_ANSWERS)
    @app_commands.describe(file="A .json file made by /playlist export", link="A Spotify or YouTube playlist link",
                           name="Its name here (default: the file's, or the playlist's own title)",
                           server="Import it as one of this server's playlists (DJ or Manage Server)",
                           overwrite="Replace the playlist of that name if there is one")
    async def import_(self, interaction: Interaction, *, file: discord.Attachment | None = None,
                      link: Range[str, 1, 1000] | None = None, name: Range[str, 1, MAX_NAME_LENGTH] | None = None,
                      server: bool = False, overwrite: bool = False) -> None:
        _, member = guild_and_member(interaction)
        source = source_of(file, link)
        self.imports.check_free(member.id)
        owner = await self._owner(member, server)
        wanted = clean_playlist_name(name) if name is not None else None
        if wanted is not None and not overwrite:
            await self._refuse_taken(owner, wanted)  # before the work, not after it
        order = ImportOrder(source, owner, member.id, wanted, overwrite)
        progress = ProgressMessage(interaction, ephemeral=True, interval_s=self.progress_interval_s)
        await progress.start(first_words(order))
        try:
            self.imports.begin(order, progress)
        except ImportBusyError as busy:  # another import began while this answer was on its way
            await progress.finish(f"⚠️ {localized(busy)}")

    @playlist.command(name="export", description="A playlist as a file, to keep or to import anywhere",
                      extras=PRIVATE_ANSWERS)
    @app_commands.describe(name="The playlist: yours, this server's, or one shared here")
    async def export(self, interaction: Interaction, name: Range[str, 1, 100]) -> None:
        _, member = guild_and_member(interaction)
        saved = await self.bot.playlists.load_by_id((await find_to_load(self.bot, member, name)).id)
        data = encode_playlist(saved.name, saved.tracks, exported_at=utcnow(), generator=f"musicbot {__version__}")
        if len(data) > MAX_FILE_BYTES:  # only with titles far longer than any site gives
            size = f"{len(data) / 2**20:.1f} MB"
            raise PlaylistFileError(lazy("“{name}” makes a file of {size}, more than an import takes: split it into "
                                         "smaller playlists first.", name=safe(saved.name), size=size))
        file = Upload(data, export_filename(saved.name))
        await reply(interaction, "📤 " + tr("“{name}”: {tracks} ({length}). Keep the file, or load it into any server "
                                            "with `/playlist import`.", name=safe(saved.name),
                                            tracks=count_tracks(len(saved.tracks)),
                                            length=format_duration(saved.duration_s)), ephemeral=True, file=file)

    @playlist.command(name="share", description="Let this server's members load one of your playlists",
                      extras=PRIVATE_ANSWERS)
    @app_commands.describe(name="One of your playlists", stop="Stop sharing it here (its owner, or Manage Server)")
    async def share(self, interaction: Interaction, name: Range[str, 1, 100], stop: bool = False) -> None:
        guild, member = guild_and_member(interaction)
        shelf = PlaylistShelf(self.bot.db)
        found = await (find_to_load(self.bot, member, name) if stop else shelf.find(member.id, guild.id, name,
                                                                                     to_change=True))
        if found.owner.is_guild:
            raise CommandRefusedError(lazy("“{name}” is this server's playlist: everyone here can load it.",
                                           name=safe(found.name)))
        shown = safe(found.name)
        if not stop:
            if await shelf.share(found, guild.id, member.display_name):
                text = "🔗 " + tr("Shared “{name}” with this server: its members can load it with `/playlist load` "
                                  "(it follows your changes). `/playlist share` with `stop` ends it.", name=shown)
            else:
                text = tr("“{name}” is shared with this server already.", name=shown)
        else:
            if found.owner_id != member.id and not member.guild_permissions.manage_guild:
                raise CommandRefusedError(lazy("“{name}” is another member's: only they, or a member with Manage "
                                               "Server, can stop sharing it here.", name=shown))
            text = tr("Stopped sharing “{name}” here.", name=shown) \
                if await shelf.unshare(found, guild.id, actor_id=member.id) \
                else tr("“{name}” was not shared here.", name=shown)
        await reply(interaction, text, ephemeral=True)

    @load.autocomplete("name")
    @show.autocomplete("name")
    @export.autocomplete("name")
    async def names_to_load(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        _, member = guild_and_member(interaction)
        return await suggestions(self.bot, member, current, Reach.LOAD)

    @delete.autocomplete("name")
    @rename.autocomplete("name")
    async def names_to_change(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        _, member = guild_and_member(interaction)
        return await suggestions(self.bot, member, current, Reach.CHANGE)

    @share.autocomplete("name")
    async def names_to_share(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        _, member = guild_and_member(interaction)
        stopping = getattr(interaction.namespace, "stop", False) is True
        return await suggestions(self.bot, member, current, Reach.LOAD if stopping else Reach.OWN)

    async def _owner(self, member: discord.Member, server: bool) -> PlaylistOwner:
        """Whose playlist a save or an import makes: the member's, or (a DJ's choice) the server's."""
        if not server:
            return PlaylistOwner.user(member.id)
        await require_editor(self.bot, member)
        return PlaylistOwner.guild(member.guild.id)

    async def _refuse_taken(self, owner: PlaylistOwner, name: str) -> None:
        try:
            taken = await self.bot.playlists.show(owner, name)
        except PlaylistNotFoundError:
            return
        raise PlaylistExistsError(taken.name, server=owner.is_guild)

    @app_commands.command(name="history", description="What was played here recently, or by one member",
                          extras=PRIVATE_ANSWERS)
    @app_commands.describe(user="Only what this member played")
    @app_commands.guild_only()
    async def history(self, interaction: Interaction, user: discord.User | None = None) -> None:
        guild, _ = guild_and_member(interaction)
        if user is None:
            entries = await self.bot.history.recent_by_guild(guild.id, limit=HISTORY_LIMIT)
            title, empty = tr("Recently played"), tr("Nothing has been played here yet.")
        else:
            entries = await self.bot.history.recent_by_user(user.id, guild_id=guild.id, limit=HISTORY_LIMIT)
            # A user Discord sent without its details (left the server) is still named by a mention.
            name = safe(user.display_name, 40) if isinstance(user, discord.abc.User) else f"<@{user.id}>"
            title = tr("Recently played by {member}", member=name)
            empty = tr("{member} has not played anything here yet.", member=name)
        if not entries:
            await reply(interaction, empty, ephemeral=True)
            return
        embed = discord.Embed(title=title, colour=OK_COLOUR,
                              description=listing((history_line(e) for e in entries), len(entries)))
        await reply(interaction, embed=embed, ephemeral=True)


def _line(playlist: PlaylistSummary) -> str:
    return f"**{safe(playlist.name)}** — {count_tracks(playlist.track_count)}, {format_duration(playlist.duration_s)}"
