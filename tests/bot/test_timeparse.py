"""/seek positions: every accepted form, relative moves, and refusals with a message that says what works."""

from __future__ import annotations

import pytest

from musicbot.bot.errors import BadTimeError
from musicbot.bot.timeparse import SeekTarget, parse_seek


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1:23", 83.0),
        ("0:05", 5.0),
        ("1:02:03", 3723.0),
        ("90:00", 5400.0),
        ("90", 90.0),
        ("0", 0.0),
        ("12.5", 12.5),
        ("1:23.5", 83.5),
        ("1m30s", 90.0),
        ("2h", 7200.0),
        ("45s", 45.0),
        ("1h2m3s", 3723.0),
        ("3min", 180.0),
        (" 1:23 ", 83.0),
    ],
)
def test_absolute_positions(text: str, seconds: float) -> None:
    assert parse_seek(text) == SeekTarget(seconds)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("+10", 10.0), ("-15", -15.0), ("+1:00", 60.0), ("- 15", -15.0), ("−15", -15.0), ("+1m", 60.0)],
)
def test_signed_positions_are_relative(text: str, seconds: float) -> None:
    assert parse_seek(text) == SeekTarget(seconds, relative=True)


def test_resolve_moves_from_the_position_and_never_before_the_start() -> None:
    assert parse_seek("+10").resolve(30.0) == 40.0
    assert parse_seek("-15").resolve(30.0) == 15.0
    assert parse_seek("-15").resolve(5.0) == 0.0
    assert parse_seek("1:00").resolve(30.0) == 60.0  # absolute: the position does not matter


@pytest.mark.parametrize(
    "text",
    ["", "   ", "abc", "+", "-", "1:60", "1:5", "1:2:3:4", "1::3", ":30", "1e5", "nan", "inf", "-inf",
     "٣", "１２", "12345678901234567890123", "1h1h", "10x", "--5", "+-5", "1.2.3", "5 5"],
)
def test_bad_input_is_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(BadTimeError) as caught:
        parse_seek(text)
    assert "1:23" in str(caught.value) and "+10" in str(caught.value)
