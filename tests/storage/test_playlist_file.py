"""The playlist file (/playlist export, /playlist import): round trip, ids made from links, every refusal."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from musicbot.storage import PlaylistFileError
from musicbot.storage.playlist_file import (
    FORMAT,
    MAX_FILE_BYTES,
    VERSION,
    decode_playlist,
    encode_playlist,
    export_filename,
    read_header,
    track_id_for,
)
from musicbot.track import Track
from tests.storage.factories import make_track

WHEN = datetime(2027, 2, 3, 10, 0, tzinfo=UTC)

TRACKS = [
    make_track(1),  # YouTube, with tags, genre, thumbnail
    make_track(3, duration_s=None, is_live=True),  # live: no length, ISRC
    Track(id="spotify:4uLU6hMCjMI75M1A2tKUQC", title="Never Gonna", artist="Rick, Astley", duration_s=213.0,
          url="https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC", source="spotify", isrc="GBARL9300135",
          album="Whenever You Need Somebody"),
    Track(id="soundcloud:123", title="Mix @everyone **bold** ✓", artist="", duration_s=3600.5,
          url="https://soundcloud.com/someone/mix", source="soundcloud"),
    Track(id="local:Band/song.flac", title="song", artist="Band", duration_s=12.0,
          url="file:///srv/music/Band/song.flac", source="local"),
    Track(id="url:https://radio.example/stream", title="Radio", artist="", duration_s=None,
          url="https://radio.example/stream", source="radio", is_live=True),
]


def document(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"format": FORMAT, "version": VERSION, "name": "Mix",
                           "tracks": [{"title": "A", "url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ"}]}
    doc.update(overrides)
    return doc


def refusal(data: bytes | dict[str, Any], filename: str = "mix.json") -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    with pytest.raises(PlaylistFileError) as info:
        decode_playlist(raw, filename)
    return str(info.value)


def test_export_then_import_gives_the_same_tracks() -> None:
    data = encode_playlist("Road trip", TRACKS, exported_at=WHEN, generator="musicbot 1.0")
    text = data.decode()
    assert text.startswith('{\n  "format": "musicbot-playlist",\n  "version": 1,\n  "name": "Road trip",')
    assert len(text.splitlines()) == 1 + 5 + 1 + len(TRACKS) + 2  # {, the header, "tracks": [, a line each, ] }
    document = json.loads(text)
    assert (document["exported_at"], document["generator"]) == ("2027-02-03T10:00:00+00:00", "musicbot 1.0")
    assert "id" not in document["tracks"][0]  # a key of the bot's caches: never taken from a file
    back = decode_playlist(data)
    assert back.name == "Road trip"
    fields = ("title", "artist", "duration_s", "url", "thumbnail_url", "is_live", "source", "tags", "genre", "isrc",
              "album")
    assert [{f: getattr(t, f) for f in fields} for t in back.tracks] == [{f: getattr(t, f) for f in fields}
                                                                         for t in TRACKS]
    # Ids are made from the links: a YouTube video and a Spotify track keep theirs (duplicates and history match).
    assert [t.id for t in back.tracks] == [
        "youtube:vid00001", "youtube:vid00003", "spotify:4uLU6hMCjMI75M1A2tKUQC",
        "url:https://soundcloud.com/someone/mix", "local:file:///srv/music/Band/song.flac",
        "radio:https://radio.example/stream"]


def test_a_thousand_tracks_fit_well_within_the_size_limit() -> None:
    data = encode_playlist("Big", [make_track(n) for n in range(1000)], exported_at=WHEN, generator="musicbot")
    assert len(data) < MAX_FILE_BYTES / 4
    assert len(decode_playlist(data).tracks) == 1000


@pytest.mark.parametrize(("url", "expected"), [
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&list=PL1", "youtube:dQw4w9WgXcQ"),
    ("https://music.youtube.com/watch?v=dQw4w9WgXcQ", "youtube:dQw4w9WgXcQ"),
    ("https://youtu.be/dQw4w9WgXcQ?t=3", "youtube:dQw4w9WgXcQ"),
    ("https://www.youtube.com/shorts/dQw4w9WgXcQ", "youtube:dQw4w9WgXcQ"),
    ("https://www.youtube.com/playlist?list=PL1", "url:https://www.youtube.com/playlist?list=PL1"),
    ("https://evil.example/watch?v=dQw4w9WgXcQ", "url:https://evil.example/watch?v=dQw4w9WgXcQ"),
    ("https://notyoutube.com/watch?v=dQw4w9WgXcQ", "url:https://notyoutube.com/watch?v=dQw4w9WgXcQ"),
])
def test_ids_come_from_the_link_not_the_file(url: str, expected: str) -> None:
    assert track_id_for("youtube", url) == expected
    item = {"title": "t", "url": url, "source": "youtube", "id": "youtube:someone-elses"}
    assert decode_playlist(json.dumps(document(tracks=[item])).encode()).tracks[0].id == expected


def test_what_a_hand_written_file_may_leave_out() -> None:
    tracks = [{"title": "A", "url": "https://youtu.be/dQw4w9WgXcQ"},
              {"title": "B", "url": "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC"},
              {"title": "C", "url": "https://example.com/song.mp3", "duration_s": 61, "future_key": {"x": 1}}]
    read = decode_playlist(json.dumps(document(tracks=tracks, name=None)).encode())
    assert read.name is None
    assert [(t.source, t.artist, t.duration_s) for t in read.tracks] == [
        ("youtube", "", None), ("spotify", "", None), ("generic", "", 61.0)]


@pytest.mark.parametrize(("data", "message"), [
    (b"\xff\xfe not text", "“mix.json” is not text (UTF-8): attach the .json file /playlist export made."),
    (b'{"format": "musicbot-playlist",', "“mix.json” is not valid JSON (line 1, column 32: Expecting property name"),
    (b"[1, 2]", '“mix.json” is not a musicbot playlist (it has no "format": "musicbot-playlist"). Attach a file '
                "made by /playlist export, or import a playlist link instead."),
    (document(format="spotify"), "is not a musicbot playlist"),
    (document(version=2), "“mix.json” is format version 2, made by a newer musicbot; this bot reads version 1. "
                          "Update the bot, or export the playlist again from a bot of this version."),
    (document(version="1"), '“mix.json” has an unknown format version ("1"); this bot reads "version": 1.'),
    (document(version=None), "has an unknown format version (null)"),
    (document(version=True), "has an unknown format version (true)"),
    (document(tracks={"a": 1}), '“mix.json” has no "tracks" list.'),
    (document(tracks=[]), "“mix.json” has no tracks: there is nothing to import."),
    (document(tracks=[{"title": "t", "url": "https://a.example/x"}] * 1001),
     "“mix.json” has 1001 tracks; a playlist holds at most 1000. Split it into smaller files."),
    (b" " * (MAX_FILE_BYTES + 1), "“mix.json” is 2.0 MB; a playlist file is at most 2.0 MB."),
])
def test_a_bad_file_is_refused_saying_what_is_wrong(data: bytes | dict[str, Any], message: str) -> None:
    assert message in refusal(data)


@pytest.mark.parametrize(("track", "message"), [
    ("a string", "Track 2 in the file is not a track (an object with a title and a url). Fix or remove it."),
    ({"url": "https://a.example/x"}, 'Track 2 in the file has no "title". Add one, or remove that track.'),
    ({"title": "  ", "url": "https://a.example/x"}, 'Track 2 in the file: "title" must be text, not "  ".'),
    ({"title": 5, "url": "https://a.example/x"}, 'Track 2 in the file: "title" must be text, not 5.'),
    ({"title": "x" * 1001, "url": "https://a.example/x"}, '"title" is 1001 characters; at most 1000.'),
    ({"title": "t"}, 'Track 2 in the file has no "url" (the link to play). Add it, or remove that track.'),
    ({"title": "t", "url": "javascript:alert(1)"}, '"url" must be a web link (http or https), not javascript:'),
    ({"title": "t", "url": "file:///etc/passwd"}, '"url" must be a web link (http or https), not file:///etc'),
    ({"title": "t", "url": "file:///etc/passwd", "source": "http"}, '"url" must be a web link (http or https)'),
    ({"title": "t", "url": "https://a.example/x", "source": "spotify"},
     "a Spotify track's \"url\" must be its https://open.spotify.com/track/… link."),
    ({"title": "t", "url": "https://a.example/x", "source": "local"},
     "a local track's \"url\" is a path in the music folder, not https://a.example/x."),
    ({"title": "t", "url": "https://a.example/x", "source": "You Tube"}, '"source" must be a source name'),
    ({"title": "t", "url": "https://a.example/x", "duration_s": -1}, '"duration_s" must be seconds (a number ≥ 0) '
                                                                     "or null, not -1."),
    ({"title": "t", "url": "https://a.example/x", "duration_s": "3:20"}, '"duration_s" must be seconds'),
    ({"title": "t", "url": "https://a.example/x", "duration_s": True}, '"duration_s" must be seconds'),
    ({"title": "t", "url": "https://a.example/x", "is_live": "yes"}, '"is_live" must be true or false, not "yes".'),
    ({"title": "t", "url": "https://a.example/x", "thumbnail_url": "data:x"}, '"thumbnail_url" must be a web link'),
    ({"title": "t", "url": "https://a.example/x", "isrc": "US-RC1"}, '"isrc" must be an ISRC code'),
    ({"title": "t", "url": "https://a.example/x", "tags": "rock"}, '"tags" must be a list of at most 50 short'),
])
def test_a_bad_track_is_refused_by_number_and_field(track: object, message: str) -> None:
    good = {"title": "A", "url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ"}
    assert message in refusal(document(tracks=[good, track]))


def test_nan_and_infinity_are_no_lengths() -> None:
    raw = b'{"format": "musicbot-playlist", "version": 1, "tracks": [{"title": "t", "url": "https://a.example/x", ' \
          b'"duration_s": NaN}]}'
    assert '"duration_s" must be seconds' in refusal(raw)


def test_the_header_alone_is_read_first() -> None:
    raw = read_header(json.dumps(document(tracks=[{"title": "x"}, 3])).encode())
    assert raw.name == "Mix" and len(raw.items) == 2  # tracks are checked one by one afterwards


@pytest.mark.parametrize(("name", "filename"), [
    ("Road trip", "road-trip.musicbot-playlist.json"),
    ("Été à Paris!", "ete-a-paris.musicbot-playlist.json"),
    ("🎵🎵", "playlist.musicbot-playlist.json"),
    ("../../etc/passwd", "etc-passwd.musicbot-playlist.json"),
])
def test_export_filename(name: str, filename: str) -> None:
    assert export_filename(name) == filename
