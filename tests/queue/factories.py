"""Small builders for queue tests."""

from __future__ import annotations

from musicbot.queue import Track


def make_track(
    n: int | str,
    *,
    artist: str = "Artist",
    duration_s: float | None = 180.0,
    genre: str | None = None,
    tags: tuple[str, ...] = (),
    title: str | None = None,
    source: str = "youtube",
) -> Track:
    """A track with id ``test:<n>`` (or ``n`` itself when it already names a source)."""
    track_id = n if isinstance(n, str) and ":" in n else f"test:{n}"
    return Track(
        id=track_id,
        title=title if title is not None else f"Song {n}",
        artist=artist,
        duration_s=duration_s,
        url=f"https://example.invalid/{n}",
        is_live=duration_s is None,
        source=source,
        tags=tags,
        genre=genre,
    )
