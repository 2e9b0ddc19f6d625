"""The fake Telegram refuses what Telegram would (so a test passing against it means the bot sends what
Telegram takes): unescaped or unknown HTML, too long a text, bad buttons."""

from __future__ import annotations

import pytest

from tests.harness.telegram_rules import Refused, check_markup, visible_text


@pytest.mark.parametrize(("text", "why"), [
    ("a < b", "reserved"), ("Tom & Jerry", "reserved"), ("<script>x</script>", "unsupported start tag"),
    ("<b>bold", "unclosed"), ("&nbsp;", "unsupported entity"), ("", "empty"), ("x" * 4097, "too long"),
])
def test_html_telegram_would_not_parse_is_refused(text: str, why: str) -> None:
    with pytest.raises(Refused, match=why):
        visible_text(text, "HTML")


def test_escaped_html_reads_as_the_text_and_counts_utf16_units() -> None:
    assert visible_text('<b>Tom &amp; Jerry</b> &lt;3 <a href="https://x.org/?a=1&amp;b=2">link</a>', "HTML") \
        == "Tom & Jerry <3 link"
    assert visible_text("🎶" * 2048, "HTML") == "🎶" * 2048  # 4096 UTF-16 units: the limit
    with pytest.raises(Refused, match="too long"):
        visible_text("🎶" * 2049, "HTML")


@pytest.mark.parametrize(("markup", "why"), [
    ({"inline_keyboard": [[{"text": "x", "callback_data": "y" * 65}]]}, "1-64 bytes"),
    ({"inline_keyboard": [[{"text": "", "callback_data": "y"}]]}, "needs text"),
    ({"inline_keyboard": [[{"text": "x"}]]}, "callback_data or a url"),
    ({"keyboard": []}, "inline_keyboard"),
])
def test_bad_buttons_are_refused(markup: dict[str, object], why: str) -> None:
    with pytest.raises(Refused, match=why):
        check_markup(markup)
