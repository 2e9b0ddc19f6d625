"""``/playlist import``: a playlist from a file (``/playlist export``'s, ``storage/playlist_file.py``) or
from a link (Spotify, YouTube, anything yt-dlp reads as a playlist), saved whole or not at all.

The command checks at once what it can (one source, the file's size, the name, the rights) and
answers; the rest is a job of its own (``PlaylistImports``), its progress edited into that answer
(``progress.py``): download, the tracks checked in batches that each give the event loop back (a
1000-track file never holds it for long), or the link read off the loop by the resolver, then one
transaction. The job runs outside the command's task, so the command's storage deadline (a few
seconds, for a first answer) does not cut it short: it has its own. One job per member at a time,
``MAX_JOBS`` in the process; a restart stops them, and says so, with nothing saved.
"""

from __future__ import annotations

import asyncio
import logging
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import discord

from musicbot.bot.errors import CommandRefusedError
from musicbot.bot.format import format_duration, safe
from musicbot.bot.playlist_access import count_tracks
from musicbot.bot.progress import ProgressMessage, progress_bar
from musicbot.errors import MusicBotError
from musicbot.i18n import lazy, tr
from musicbot.sources.errors import PrivateError, SourceError
from musicbot.sources.models import ResolvedKind
from musicbot.sources.spotify import MAX_ITEMS as SPOTIFY_MAX_ITEMS
from musicbot.sources.spotify import is_spotify_link
from musicbot.storage import (
    PlaylistExistsError,
    PlaylistFileError,
    PlaylistNameError,
    PlaylistOwner,
    PlaylistSourceError,
)
from musicbot.storage.deadline import command_deadline
from musicbot.storage.playlist_file import MAX_FILE_BYTES, read_header, read_track
from musicbot.storage.playlists import MAX_NAME_LENGTH, MAX_TRACKS, REFERENCE, clean_playlist_name, normalize_name
from musicbot.track import Track

if TYPE_CHECKING:
    from musicbot.bot.services import BotServices

log = logging.getLogger(__name__)

MAX_JOBS = 4  # imports at once in this process: each may hold a 2 MB file and what it parses into
CHECK_BATCH = 100  # tracks checked between two turns of the event loop (and two progress reports)
JOB_STORAGE_S = 30.0  # the job's own deadline for its storage calls
UNNAMED = "Imported playlist"
UNAVAILABLE_TITLES = frozenset({"[Private video]", "[Deleted video]"})
_YOUTUBE_HOSTS = ("youtube.com", "youtu.be", "music.youtube.com")


@dataclass(frozen=True)
class FromFile:
    attachment: discord.Attachment


@dataclass(frozen=True)
class FromLink:
    url: str


@dataclass(frozen=True)
class ImportOrder:
    """What to import and whose it becomes; checked by the command before the job starts."""

    source: FromFile | FromLink
    owner: PlaylistOwner
    member_id: int  # who asked (the audit log's actor for a server's playlist)
    name: str | None  # the name the member gave; else the file's or the playlist's own
    overwrite: bool


class ImportBusyError(CommandRefusedError):
    pass


@dataclass(frozen=True)
class Found:
    """What a file or a link holds: the tracks to save, the playlist's own name, what the member should know."""

    tracks: list[Track]
    name: str | None
    notes: tuple[str, ...] = ()


def source_of(file: discord.Attachment | None, link: str | None) -> FromFile | FromLink:
    """The one place to import from, checked (``PlaylistFileError``/``PlaylistSourceError`` say what to do)."""
    text = (link or "").strip()
    if (file is None) == (not text):
        raise PlaylistSourceError(lazy("Attach a file made by /playlist export (`file`), or paste a Spotify or "
                                       "YouTube playlist link (`link`): one of the two."))
    if file is not None:
        if file.size > MAX_FILE_BYTES:
            size, limit = f"{file.size / 2**20:.1f} MB", f"{MAX_FILE_BYTES / 2**20:.1f} MB"
            raise PlaylistFileError(lazy("“{file}” is {size}; a playlist file is at most {max}. Split the playlist, "
                                         "or import its link instead.", file=file.filename, size=size, max=limit))
        return FromFile(file)
    if not (is_spotify_link(text) or urlsplit(text).scheme in ("http", "https")):
        raise PlaylistSourceError(lazy(
            "That is not a link: paste a playlist's address (https://open.spotify.com/playlist/… or "
            "https://www.youtube.com/playlist?list=…), or attach a file."))
    return FromLink(whole_playlist(text))


def whole_playlist(url: str) -> str:
    """A YouTube video opened from a playlist (``watch?v=…&list=…``) → that playlist: /play would take the
    video alone, but what is imported is the list."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    playlist = parse_qs(parts.query).get("list", [""])[0]
    if playlist and any(host == h or host.endswith("." + h) for h in _YOUTUBE_HOSTS):
        return f"https://www.youtube.com/playlist?list={playlist}"
    return url


def first_words(order: ImportOrder) -> str:
    """The answer the command gives at once."""
    if isinstance(order.source, FromFile):
        file = order.source.attachment
        return "⏳ " + tr("Importing “{file}” ({size})…", file=safe(file.filename, 60), size=_size(file.size))
    link = f"<{order.source.url[:200]}>"
    return "⏳ " + tr("Importing the playlist at {link}…", link=link)


def name_from_title(title: str | None) -> str:
    """A playlist's own title as a name: control characters dropped, cut to the longest name allowed."""
    kept = "".join(ch for ch in normalize_name(title or "") if not unicodedata.category(ch).startswith("C"))
    name = normalize_name(kept)[:MAX_NAME_LENGTH].strip()
    return UNNAMED if not name or REFERENCE.fullmatch(name) else name


class PlaylistImports:
    """The import jobs of this process. Event loop."""

    def __init__(self, bot: BotServices) -> None:
        self._bot = bot
        self._jobs: dict[int, asyncio.Task[None]] = {}

    def check_free(self, member_id: int) -> None:
        """``ImportBusyError`` when the member's last import still runs, or the process runs enough of them."""
        if member_id in self._jobs:
            raise ImportBusyError(lazy("Your last import is still running: wait for its answer, then import the next."))
        if len(self._jobs) >= MAX_JOBS:
            raise ImportBusyError(lazy("The bot is importing other playlists right now; try again in a minute."))

    def begin(self, order: ImportOrder, progress: ProgressMessage) -> asyncio.Task[None]:
        """Start the job (``progress`` already shows ``first_words``)."""
        self.check_free(order.member_id)
        task = asyncio.get_running_loop().create_task(self._run(order, progress), name="playlist import")
        self._jobs[order.member_id] = task
        task.add_done_callback(lambda done: self._release(order.member_id, done))
        return task

    async def close(self) -> None:
        """Stop every job (the bot is shutting down); each tells its member."""
        jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)

    def _release(self, member_id: int, job: asyncio.Task[None] | None) -> None:
        if self._jobs.get(member_id) is job:
            del self._jobs[member_id]

    async def _run(self, order: ImportOrder, progress: ProgressMessage) -> None:
        command_deadline(JOB_STORAGE_S)
        try:
            last_word = await self._import(order, progress)
        except asyncio.CancelledError:
            await progress.finish("⚠️ " + tr("Nothing was imported: the bot is restarting. Run /playlist import "
                                             "again in a minute."))
            raise
        # Free before the member reads the last word: an import they start on reading it is not "still running".
        self._release(order.member_id, asyncio.current_task())
        await progress.finish(last_word)

    async def _import(self, order: ImportOrder, progress: ProgressMessage) -> str:
        """The whole import; the last word to show (what was imported, or why nothing was)."""
        try:
            found = await self._read(order, progress)
            tracks, name = found.tracks, order.name or _usable(found.name)
            if len(tracks) > MAX_TRACKS:
                raise PlaylistSourceError(lazy("That playlist has {count} tracks; a playlist here holds at most {max}. "
                                               "Import a shorter one, or split it.", count=len(tracks), max=MAX_TRACKS))
            await progress.update("⏳ " + tr("Saving {tracks} as “{name}”…", tracks=count_tracks(len(tracks)),
                                             name=safe(name)))
            saved = await self._bot.playlists.save(order.owner, name, tracks, overwrite=order.overwrite,
                                                   actor_id=order.member_id)
        except PlaylistExistsError as taken:
            return "⚠️ " + tr("Nothing was imported: {refusal} Or import it under another `name`, or set "
                              "`overwrite` to replace it.", refusal=taken)
        except MusicBotError as refusal:
            return "⚠️ " + tr("Nothing was imported: {refusal}", refusal=refusal)
        except Exception:
            log.exception("playlist import failed")
            return "⚠️ " + tr("Nothing was imported: something went wrong on the bot's side (it is logged). Try again "
                              "later.")
        values = {"name": safe(saved.name), "tracks": count_tracks(saved.track_count),
                  "length": format_duration(saved.duration_s)}
        if order.owner.is_guild:
            text = "📥 " + tr("Imported “{name}”: {tracks} ({length}), as this server's playlist. Play it with "
                              "`/playlist load`.", **values)
        else:
            text = "📥 " + tr("Imported “{name}”: {tracks} ({length}), as your playlist. Play it with "
                              "`/playlist load`.", **values)
        return " ".join((text, *found.notes))

    async def _read(self, order: ImportOrder, progress: ProgressMessage) -> Found:
        if isinstance(order.source, FromFile):
            return await _read_file(order.source.attachment, progress)
        return await self._read_link(order.source.url, progress)

    async def _read_link(self, url: str, progress: ProgressMessage) -> Found:
        where = "Spotify" if is_spotify_link(url) else (urlsplit(url).hostname or tr("the link"))
        await progress.update("⏳ " + tr("Reading the playlist from {where}… (a long one takes a few seconds)",
                                         where=safe(where, 60)))
        try:
            found = await self._bot.sessions.resolver.resolve(url)
        except PrivateError as err:
            raise PlaylistSourceError(lazy("That playlist is private: make it public or unlisted (or share a copy "
                                           "that is), then import it again.")) from err
        except SourceError as err:
            raise PlaylistSourceError(lazy("{problem} (The link must lead to a playlist or album anyone can open.)",
                                           problem=err)) from err
        if found.kind is not ResolvedKind.PLAYLIST:
            raise PlaylistSourceError(lazy("That link is a single track, not a playlist: paste a playlist or album "
                                           "link, or use /play for one track."))
        # A YouTube playlist lists its private and deleted videos too, by these titles: nothing could play them.
        tracks = [t for t in found.tracks if t.title not in UNAVAILABLE_TITLES]
        if not tracks:
            raise PlaylistSourceError(lazy("None of that playlist's videos can be played (private or deleted)."))
        notes = []
        if len(tracks) < len(found.tracks):
            notes.append(tr("{tracks} left out: private or deleted videos.",
                            tracks=count_tracks(len(found.tracks) - len(tracks))))
        if is_spotify_link(url) and len(found.tracks) == SPOTIFY_MAX_ITEMS:
            notes.append(tr("Spotify links are read up to their first {n} tracks.", n=SPOTIFY_MAX_ITEMS))
        return Found(tracks, name_from_title(found.playlist_title), tuple(notes))


async def _read_file(file: discord.Attachment, progress: ProgressMessage) -> Found:
    shown = safe(file.filename, 60)
    try:
        data = await file.read()
    except discord.HTTPException as err:
        raise PlaylistFileError(lazy("Discord did not hand over “{file}” (HTTP {status}): attach it again.",
                                     file=shown, status=str(err.status))) from err
    raw = read_header(data, file.filename)
    tracks: list[Track] = []
    for number, item in enumerate(raw.items, 1):
        tracks.append(read_track(number, item))
        if number % CHECK_BATCH == 0 and number < len(raw.items):
            await progress.update("⏳ " + tr("Checking the tracks of “{file}”: {bar}", file=shown,
                                             bar=progress_bar(number, len(raw.items))))
            await asyncio.sleep(0)  # the loop's other work (commands, the panel, voice events) goes first
    return Found(tracks, raw.name)


def _usable(name: str | None) -> str:
    """The file's own name, if it can be one (else the member is asked to give one)."""
    if name is None or not name.strip():
        raise PlaylistFileError(lazy('The file gives the playlist no "name": give it one with the `name` option.'))
    try:
        return clean_playlist_name(name)
    except PlaylistNameError as err:
        raise PlaylistFileError(lazy("The file's name for the playlist can't be used ({problem}) Give it another with "
                                     "the `name` option.", problem=err)) from err


def _size(size: int) -> str:
    return f"{size / 1024:.0f} KB" if size < 2**20 else f"{size / 2**20:.1f} MB"
