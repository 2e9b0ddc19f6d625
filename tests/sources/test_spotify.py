"""Spotify through spotipy against a local fake of the Web API, and the mapping to YouTube searches."""

from __future__ import annotations

import pytest

from musicbot.sources.errors import NotFoundError, PlaylistNotReadableError, SourceError, UnavailableError
from musicbot.sources.spotify import (
    SpotifyBackend,
    StaticToken,
    parse_spotify_link,
    pick_candidate,
    search_queries,
)
from musicbot.track import Track
from tests.sources.server import (
    SPOTIFY_ALBUM,
    SPOTIFY_ARTIST,
    SPOTIFY_LOCKED_PLAYLIST,
    SPOTIFY_PLAYLIST,
    SPOTIFY_TRACK,
    SPOTIFY_TRACK_NO_ISRC,
    MediaServer,
)


def yt(video_id: str, title: str, channel: str, seconds: float) -> Track:
    return Track(id=f"youtube:{video_id}", title=title, artist=channel, duration_s=seconds,
                 url=f"https://www.youtube.com/watch?v={video_id}")


class FakeSearch:
    def __init__(self, results: dict[str, list[Track]]) -> None:
        self.results = results
        self.queries: list[str] = []

    async def __call__(self, query: str, limit: int) -> list[Track]:
        self.queries.append(query)
        return self.results.get(query, [])[:limit]


def backend(server: MediaServer, search: FakeSearch | None = None) -> SpotifyBackend:
    return SpotifyBackend(auth_manager=StaticToken("test-token"), api_base=server.url("/v1"),
                          search=search or FakeSearch({}), retries=0)


def test_links_and_uris_are_parsed() -> None:
    assert parse_spotify_link(f"https://open.spotify.com/track/{SPOTIFY_TRACK}?si=abc") == ("track", SPOTIFY_TRACK)
    assert parse_spotify_link(f"https://open.spotify.com/intl-de/album/{SPOTIFY_ALBUM}") == ("album", SPOTIFY_ALBUM)
    assert parse_spotify_link(f"spotify:playlist:{SPOTIFY_PLAYLIST}") == ("playlist", SPOTIFY_PLAYLIST)
    assert parse_spotify_link(f"https://open.spotify.com/artist/{SPOTIFY_ARTIST}") == ("artist", SPOTIFY_ARTIST)
    assert parse_spotify_link("https://open.spotify.com/show/xyz") is None


async def test_a_track_becomes_metadata_with_isrc(server: MediaServer) -> None:
    tracks, title = await backend(server).resolve(f"https://open.spotify.com/track/{SPOTIFY_TRACK}")
    assert title is None
    (track,) = tracks
    assert track.id == f"spotify:{SPOTIFY_TRACK}" and track.source == "spotify"
    assert (track.title, track.artist, track.duration_s, track.isrc) == (
        "Never Gonna Give You Up", "Rick Astley", 213.573, "GBARL9300135")
    assert track.thumbnail_url == "http://img/1.jpg"


async def test_an_album_lists_its_tracks(server: MediaServer) -> None:
    tracks, title = await backend(server).resolve(f"spotify:album:{SPOTIFY_ALBUM}")
    assert title == "Greatest Hits"
    assert [t.title for t in tracks] == ["Never Gonna Give You Up", "Second Song"]
    assert all(t.thumbnail_url == "http://img/album.jpg" and t.isrc is None for t in tracks)  # simplified tracks


async def test_a_readable_playlist_lists_its_items(server: MediaServer) -> None:
    tracks, title = await backend(server).resolve(f"https://open.spotify.com/playlist/{SPOTIFY_PLAYLIST}")
    assert title == "Road trip"
    assert [t.id for t in tracks] == [f"spotify:{SPOTIFY_TRACK}", f"spotify:{SPOTIFY_TRACK_NO_ISRC}"]
    assert any(p == f"/v1/playlists/{SPOTIFY_PLAYLIST}/items" for p, _ in server.log)


async def test_an_unreadable_playlist_is_explained(server: MediaServer) -> None:
    with pytest.raises(PlaylistNotReadableError, match="owns or collaborates on") as caught:
        await backend(server).resolve(f"https://open.spotify.com/playlist/{SPOTIFY_LOCKED_PLAYLIST}")
    assert not caught.value.retryable and "403" in (caught.value.detail or "")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_artist_top_tracks_gone_in_2026_is_reported(server: MediaServer) -> None:
    with pytest.raises(UnavailableError, match="top tracks"):
        await backend(server).resolve(f"spotify:artist:{SPOTIFY_ARTIST}")


async def test_isrc_search_comes_first_and_duration_decides(server: MediaServer) -> None:
    (track,), _ = await backend(server).resolve(f"spotify:track:{SPOTIFY_TRACK}")
    search = FakeSearch({'"GBARL9300135"': [
        yt("aaaaaaaaaaa", "Never Gonna Give You Up (Live 2019)", "fan", 260.0),
        yt("bbbbbbbbbbb", "Never Gonna Give You Up", "Rick Astley - Topic", 214.0),
        yt("ccccccccccc", "Never Gonna Give You Up (Official Video)", "Rick Astley", 212.0),
    ]})
    match = await backend(server, search).match(track)
    assert search.queries == ['"GBARL9300135"']
    assert match.id == "youtube:bbbbbbbbbbb"  # within ±5 s, and the Topic channel wins the tie-break


async def test_without_isrc_artist_dash_title_is_searched(server: MediaServer) -> None:
    (track,), _ = await backend(server).resolve(f"spotify:track:{SPOTIFY_TRACK_NO_ISRC}")
    search = FakeSearch({"Some Band - Second Song": [yt("ddddddddddd", "Second Song", "Some Band", 184.0)]})
    match = await backend(server, search).match(track)
    assert search.queries == ["Some Band - Second Song"] and match.id == "youtube:ddddddddddd"


async def test_isrc_without_a_close_match_falls_back_then_reports_not_found(server: MediaServer) -> None:
    (track,), _ = await backend(server).resolve(f"spotify:track:{SPOTIFY_TRACK}")
    search = FakeSearch({'"GBARL9300135"': [yt("eeeeeeeeeee", "Other", "x", 100.0)],
                         "Rick Astley - Never Gonna Give You Up": [yt("fffffffffff", "Cover", "y", 230.0)]})
    with pytest.raises(NotFoundError, match="Rick Astley - Never Gonna Give You Up"):
        await backend(server, search).match(track)
    assert search.queries == ['"GBARL9300135"', "Rick Astley - Never Gonna Give You Up"]


def test_queries_and_tolerance() -> None:
    base = Track(id="spotify:x", title="T", artist="A", duration_s=200.0, url="u", source="spotify", isrc="ISRC1")
    assert search_queries(base) == ['"ISRC1"', "A - T"]
    assert pick_candidate(base, [yt("a" * 11, "T", "c", 205.0)]) is not None
    assert pick_candidate(base, [yt("a" * 11, "T", "c", 205.5)]) is None


def test_spotify_needs_credentials() -> None:
    with pytest.raises(SourceError, match="SPOTIFY_CLIENT_ID"):
        SpotifyBackend(search=FakeSearch({}))
