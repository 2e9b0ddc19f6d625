"""A local music folder (``MUSICBOT_MUSIC_DIR``, off by default): nothing outside it can be reached.

Every path is resolved (following symlinks) and must still be inside the folder, so neither
``../`` nor an absolute path nor a symlink pointing elsewhere escapes it.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from musicbot.i18n import lazy
from musicbot.sources.errors import LocalPathError, NotFoundError
from musicbot.sources.http import AUDIO_EXTENSIONS
from musicbot.sources.models import StreamInfo
from musicbot.track import Track

MAX_RESULTS = 25
_MAX_FILES_SCANNED = 50_000  # a search walks the folder; bound it for huge libraries


class LocalLibrary:
    """Resolves ``local:`` queries and ``file://`` URLs. Coroutines run the file system work in a thread."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def path_of(self, query: str) -> Path:
        """The file a relative path, absolute path or file:// URL names; ``LocalPathError`` if outside.

        Blocking (file system); any thread.
        """
        text = query.strip()
        if text.startswith("file://"):
            text = unquote(urlsplit(text).path)
        candidate = Path(text)
        full = (candidate if candidate.is_absolute() else self.root / candidate).resolve()
        if not full.is_relative_to(self.root):
            raise LocalPathError()
        if not full.is_file():
            raise NotFoundError(lazy("No such file in the music folder."))
        return full

    def track_for(self, path: Path) -> Track:
        """Blocking (reads the file's header for its length)."""
        relative = path.relative_to(self.root).as_posix()
        return Track(
            id=f"local:{relative}",
            title=path.stem,
            artist=path.parent.name if path.parent != self.root else "",
            duration_s=duration_of(path),
            url=path.as_uri(),
            source="local",
        )

    def search_blocking(self, words: str, limit: int = MAX_RESULTS) -> list[Track]:
        """Audio files whose path (relative to the folder) contains every word, case-insensitive."""
        needles = words.lower().split()
        found: list[Track] = []
        scanned = 0
        for folder, _dirs, files in os.walk(self.root):  # os.walk does not follow symlinked folders
            for name in sorted(files):
                scanned += 1
                if scanned > _MAX_FILES_SCANNED or len(found) >= limit:
                    return found
                path = Path(folder) / name
                if path.suffix.lower() not in AUDIO_EXTENSIONS:
                    continue
                relative = path.relative_to(self.root).as_posix().lower()
                if all(n in relative for n in needles):
                    real = path.resolve()
                    if real.is_relative_to(self.root) and real.is_file():
                        found.append(self.track_for(real))
        return found

    async def resolve(self, query: str) -> list[Track]:
        """A path (``Artist/song.mp3``) names one file; anything else searches by file name."""
        def work() -> list[Track]:
            try:
                return [self.track_for(self.path_of(query))]
            except NotFoundError:
                if query.startswith("file://") or "/" in query or os.sep in query:
                    raise
            tracks = self.search_blocking(query)
            if not tracks:
                raise NotFoundError(lazy("Nothing in the music folder matches that."))
            return tracks

        return await asyncio.to_thread(work)

    async def stream_info(self, track: Track) -> StreamInfo:
        """Checked again at play time: the file may have been replaced by a symlink since."""
        path = await asyncio.to_thread(self.path_of, track.url)
        return StreamInfo(url=str(path))


def duration_of(path: Path) -> float | None:
    """The file's length in seconds from its container (no decoding), or None when it does not say.
    Without it a local track could not be seeked (it counted as live) and showed no length."""
    import av  # the bot has it loaded already; imported here so that this module stays light

    try:
        with av.open(str(path)) as container:
            if container.duration:
                return float(container.duration / av.time_base)
            stream = container.streams.audio[0] if container.streams.audio else None
            if stream is not None and stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
    except (av.error.FFmpegError, OSError, IndexError):
        return None
    return None
