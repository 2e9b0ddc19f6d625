"""What Telegram refuses in a message a bot sends (``fake_telegram.py`` answers 400 and records it): the text's
HTML (parse mode ``HTML``: Telegram's tags only, balanced, every ``<``, ``>`` and ``&`` of the text escaped),
its length once parsed (4096 UTF-16 units), and inline keyboards (text on every button, ``callback_data`` of
1–64 bytes or an http(s)/tg ``url``)."""

from __future__ import annotations

import html
from html.parser import HTMLParser
from typing import Any

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler",
                "span", "blockquote", "tg-emoji"}


class Refused(Exception):
    """What Telegram would answer: ``Bad Request: <description>``."""


class _HtmlCheck(HTMLParser):
    """Telegram's HTML: its tags only, balanced, every ``<``, ``>`` and ``&`` of the text escaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []
        self.text: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.errors.append(f"unsupported start tag <{tag}>")
        if tag == "a" and not any(k == "href" and v for k, v in attrs):
            self.errors.append("<a> without href")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"unexpected end tag </{tag}>")
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        for char in "<>&":
            if char in data:
                self.errors.append(f"character {char!r} is reserved and must be escaped")
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in ("lt", "gt", "amp", "quot"):
            self.errors.append(f"unsupported entity &{name};")
        self.text.append(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.text.append(html.unescape(f"&#{name};"))


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2




def visible_text(text: Any, parse_mode: Any) -> str:
    """The text a user reads; ``Refused`` for what Telegram would not send."""
    if not isinstance(text, str) or not text.strip():
        raise Refused("message text is empty")
    visible = text
    if str(parse_mode or "").lower() == "html":
        check = _HtmlCheck()
        check.feed(text)
        check.close()
        errors = check.errors + [f"unclosed <{tag}>" for tag in check.open]
        if errors:
            raise Refused(f"can't parse entities: {'; '.join(errors)} in {text[:200]!r}")
        visible = "".join(check.text)
    elif parse_mode:
        raise Refused(f"unexpected parse_mode {parse_mode!r}")
    if utf16_len(visible) > MAX_TEXT:
        raise Refused(f"message is too long ({utf16_len(visible)} > {MAX_TEXT})")
    return visible


def check_markup(markup: Any) -> None:
    """``Refused`` for an inline keyboard Telegram would not take."""
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list):
        raise Refused(f"reply_markup must have an inline_keyboard: {markup!r}")
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise Refused(f"a button needs text: {button!r}")
            data, url = button.get("callback_data"), button.get("url")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                raise Refused(f"BUTTON_DATA_INVALID: {data!r} is not 1-64 bytes")
            if data is None and not str(url or "").startswith(("https://", "http://", "tg://")):
                raise Refused(f"a button needs callback_data or a url: {button!r}")
