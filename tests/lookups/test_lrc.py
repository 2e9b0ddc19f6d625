"""LRC parsing and the line at a position."""

from __future__ import annotations

from musicbot.lookups.lrc import LyricLine, line_index_at, parse_lrc


def test_lines_are_timed_sorted_and_tags_skipped() -> None:
    text = "[ar:Someone]\n[ti:Song]\n[00:05.50]second\n[00:01.00]first\n[00:10.00]\n[01:02.345]last"
    assert parse_lrc(text) == (LyricLine(1.0, "first"), LyricLine(5.5, "second"), LyricLine(10.0, ""),
                               LyricLine(62.345, "last"))


def test_a_line_with_several_times_appears_at_each() -> None:
    lines = parse_lrc("[00:01.00][00:20.00]chorus\n[00:10.00]verse")
    assert [(line.time_s, line.text) for line in lines] == [(1.0, "chorus"), (10.0, "verse"), (20.0, "chorus")]


def test_offset_moves_every_line_earlier_when_positive() -> None:
    lines = parse_lrc("[offset:+500]\n[00:02.00]a\n[00:00.20]b")
    assert [line.time_s for line in lines] == [0.0, 1.5]


def test_plain_text_has_no_timed_lines() -> None:
    assert parse_lrc("just words\nmore words") == ()


def test_line_index_at_positions() -> None:
    lines = parse_lrc("[00:01.00]a\n[00:03.00]b\n[00:05.00]c")
    assert line_index_at(lines, 0.5) is None
    assert line_index_at(lines, 1.0) == 0
    assert line_index_at(lines, 2.99) == 0
    assert line_index_at(lines, 3.0) == 1
    assert line_index_at(lines, 99.0) == 2
    assert line_index_at((), 3.0) is None
