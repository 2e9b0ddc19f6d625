"""Tracks survive JSON exactly, whatever their fields hold."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from musicbot.storage.codec import track_from_json, track_to_json
from musicbot.track import Track
from tests.storage.factories import make_track

text = st.text(max_size=40)
tracks = st.builds(
    Track,
    id=st.text(min_size=1, max_size=40),
    title=text,
    artist=text,
    duration_s=st.none() | st.floats(min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False),
    url=text,
    thumbnail_url=st.none() | text,
    is_live=st.booleans(),
    source=text,
    tags=st.lists(text, max_size=4).map(tuple),
    genre=st.none() | text,
    isrc=st.none() | text,
)


@given(tracks)
def test_track_round_trips_through_json_text(track: Track) -> None:
    assert track_from_json(json.loads(json.dumps(track_to_json(track)))) == track


def test_rows_from_an_older_version_without_newer_keys_still_load() -> None:
    assert track_from_json({"id": "x"}) == make_track(0, id="x", title="", artist="", duration_s=None, url="",
                                                     thumbnail_url=None, tags=(), genre=None, isrc=None)
