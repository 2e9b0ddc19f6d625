"""Messages in the user's language: gettext catalogs (``catalogs.py``), one current locale per task.

The messages are written in English in the code and marked where they are written::

    tr("Volume {percent} %", percent=50)                 # translated now, in the current locale
    ngettext("Shuffled {n} track.", "Shuffled {n} tracks.", n, n=n)
    lazy("“{title}” is already in the queue.", title=t)  # translated where it is shown (errors, announcements)
    N_("Looping the whole queue.")                       # only marked: a table's entry, translated with tr() later

(``tr``, not gettext's usual ``_``: the code unpacks into ``_`` for values it does not need.)
Babel extracts exactly these calls into ``musicbot/locale/musicbot.pot`` (``musicbot.i18n.extract``).
Placeholders are ``str.format`` names; an ``int`` argument is a quantity, written with the locale's
digits and separators (``1.234`` in German), and a ``float`` is written as ``:g`` writes it, with the
locale's decimal sign (``1,5``); pass ids and anything else already formatted, as ``str``.

The current locale is a context variable: the command tree sets it from ``interaction.locale`` at the
start of each interaction's task (``bot/tree.py``), views from the click's, and what the bot says
on its own — announcements, the now-playing panel — renders inside ``use_locale(guild.preferred_locale)``.
Unset, it is the source language, so logs, the dashboard's API and the tests read English, and a
message rendered where no user is known (``str(error)``, ``str(text)``) is always English.
"""

from __future__ import annotations

import contextlib
import re
import string
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar, Token
from types import EllipsisType
from typing import Any

from musicbot.i18n.catalogs import catalog_for_tag, shipped_locales, translations

__all__ = [
    "N_",
    "Clause",
    "Listing",
    "Text",
    "current_locale",
    "decimal",
    "lazy",
    "lazy_plural",
    "localized",
    "message_of",
    "ngettext",
    "number",
    "percent",
    "pgettext",
    "set_locale",
    "shipped_locales",
    "tr",
    "use_locale",
]

_current: ContextVar[str | None] = ContextVar("musicbot_locale", default=None)


def current_locale() -> str | None:
    """The shipped catalog messages render in now (None: the source language, English)."""
    return _current.get()


def set_locale(tag: object) -> Token[str | None]:
    """Make ``tag`` (a Discord locale or its value: ``de``, ``pt-BR``; None: English) the current task's
    locale, for the rest of the task (an interaction's task ends with its answer)."""
    return _current.set(catalog_for_tag(_tag(tag)))


@contextlib.contextmanager
def use_locale(tag: object) -> Iterator[str | None]:
    """Messages inside the block render in ``tag``'s language (the guild's, for what the bot says on its own)."""
    token = set_locale(tag)
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def _tag(tag: object) -> str | None:
    if tag is None:
        return None
    value = getattr(tag, "value", tag)  # discord.Locale is a str-valued Enum
    return str(value)


# ---------------------------------------------------------------- translating now
def tr(message: str, /, **args: Any) -> str:
    """``message`` in the current locale, with ``args`` filled in (``{name}`` placeholders)."""
    return Text(message, args).render(current_locale())


def ngettext(singular: str, plural: str, n: int, /, **args: Any) -> str:
    """The form of ``singular``/``plural`` the current locale uses for ``n`` (three in Russian)."""
    return Text(singular, args, plural=plural, n=n).render(current_locale())


def pgettext(context: str, message: str, /, **args: Any) -> str:
    """``message`` in ``context`` (a command's name and a word in a sentence are translated apart)."""
    return Text(message, args, context=context).render(current_locale())


def N_(message: str, /) -> str:
    """Marks ``message`` for the catalog without translating it (module-level tables)."""
    return message


# ---------------------------------------------------------------- translating where it is shown
class Text(str):
    """A message to translate later, in the locale of whoever reads it: an error raised in a task
    that does not know its reader, an announcement rendered in the guild's language.

    It is a ``str``: its English text (so logs, the dashboard's API, ``str(error)`` and code that
    compares or concatenates read English), which also knows how to say itself in another language:
    ``text.render(locale)`` or ``localized(text)``. Arguments that are ``Text`` or errors carrying one
    render in the same locale.
    """

    msgid: str
    plural: str | None
    n: int | None
    context: str | None
    args: dict[str, Any]

    def __new__(cls, msgid: str, args: Mapping[str, Any], *, plural: str | None = None, n: int | None = None,
                context: str | None = None) -> Text:
        values = dict(args)
        english = _render(_lookup(None, context, msgid, plural, n), values, None)
        self = super().__new__(cls, english)
        self.msgid, self.plural, self.n, self.context, self.args = msgid, plural, n, context, values
        return self

    def render(self, locale: str | None) -> str:
        """In a shipped ``locale`` (a catalog name, see ``current_locale``), or English for None."""
        if locale is not None:
            try:
                return _render(_lookup(locale, self.context, self.msgid, self.plural, self.n), self.args, locale)
            except (KeyError, IndexError, ValueError):
                pass  # a translation with a broken placeholder (the catalog test catches them): English
        return str.__str__(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return _text, (self.msgid, self.args, self.plural, self.n, self.context)

    def __repr__(self) -> str:
        return f"Text({self.msgid!r}, {self.args!r})"


def _text(msgid: str, args: dict[str, Any], plural: str | None, n: int | None, context: str | None) -> Text:
    return Text(msgid, args, plural=plural, n=n, context=context)


class Clause:
    """A sentence shown after a colon inside another (``Playback stopped at 1:23: the file is empty``): its
    first letter lowercased, as English, French, Spanish, Portuguese and Russian write it there; German
    starts a whole sentence after a colon with a capital, and its nouns keep theirs anyway."""

    __slots__ = ("text",)
    KEEP_CAPITAL = frozenset({"de"})

    def __init__(self, text: Text) -> None:
        self.text = text

    def __format__(self, spec: str) -> str:
        return format(self.render(None), spec)

    def render(self, locale: str | None) -> str:
        shown = self.text.render(locale)
        if not shown or (locale is not None and locale.split("_")[0] in self.KEEP_CAPITAL):
            return shown
        return shown[0].lower() + shown[1:]

    def __str__(self) -> str:
        return self.render(None)


class Listing:
    """Items (``Text`` or ``str``) shown joined by ``separator``, each in the reader's language."""

    __slots__ = ("items", "separator")

    def __init__(self, items: Iterable[Text | str], separator: str = ", ") -> None:
        self.items = tuple(items)
        self.separator = separator

    def render(self, locale: str | None) -> str:
        return self.separator.join(i.render(locale) if isinstance(i, Text) else i for i in self.items)

    def __str__(self) -> str:
        return self.render(None)


def lazy(message: str, /, **args: Any) -> Text:
    return Text(message, args)


def lazy_plural(singular: str, plural: str, n: int, /, **args: Any) -> Text:
    return Text(singular, args, plural=plural, n=n)


def message_of(error: BaseException) -> str | Text:
    """What ``error`` says to users, kept translatable when it is a ``Text`` (to be shown later, elsewhere)."""
    if len(error.args) == 1 and isinstance(error.args[0], Text):
        return error.args[0]
    return str(error)


def localized(value: object, locale: str | EllipsisType | None = ...) -> str:
    """``value`` as the reader reads it: a ``Text``, an error whose message is one (``MusicBotError``),
    or anything else as ``str``; in the current locale unless ``locale`` (a catalog name) is given."""
    where = current_locale() if locale is ... else locale
    assert where is None or isinstance(where, str)
    if isinstance(value, Text):
        return value.render(where)
    if isinstance(value, BaseException) and len(value.args) == 1 and isinstance(value.args[0], Text):
        return value.args[0].render(where)
    return str(value)


# ---------------------------------------------------------------- numbers
def number(value: float, digits: int = 0, *, locale: str | EllipsisType | None = ...) -> str:
    """``value`` with ``digits`` decimals at most (trailing zeros dropped), in the locale's digits and
    separators (``1.234,5`` in German); in English as the code always wrote it (``1234.5``)."""
    where = current_locale() if locale is ... else locale
    if where is None:
        return f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else str(round(value))
    from babel.numbers import format_decimal

    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    assert isinstance(where, str)
    return format_decimal(value, format=pattern, locale=where)


def percent(ratio: float, digits: int = 0, *, locale: str | EllipsisType | None = ...) -> str:
    """``ratio`` (0.25) as a percentage with ``digits`` decimals: ``25%`` in English as the code always wrote
    it (``:.0%``), ``25 %`` in German, ``25 %`` in French: the locale's sign, spacing and decimal sign."""
    where = current_locale() if locale is ... else locale
    if where is None:
        return f"{ratio:.{digits}%}"
    from babel import Locale
    from babel.numbers import format_percent

    assert isinstance(where, str)
    pattern = Locale.parse(where).percent_formats[None].pattern  # the locale's sign and spacing: "#,##0\xa0%"
    if digits:
        pattern = re.sub(r"0(?![0-9])", "0." + "0" * digits, pattern, count=1)
    return format_percent(ratio, format=pattern, locale=where)


def decimal(value: float, *, locale: str | EllipsisType | None = ...) -> str:
    """A float as Python's ``:g`` writes it (``1.25``, ``0.2``), with the locale's decimal sign."""
    where = current_locale() if locale is ... else locale
    text = f"{value:g}"
    if where is None or "e" in text:
        return text
    from babel.numbers import get_decimal_symbol, get_minus_sign_symbol

    assert isinstance(where, str)
    return text.replace("-", get_minus_sign_symbol(where)).replace(".", get_decimal_symbol(where))


# ---------------------------------------------------------------- internals
def _lookup(locale: str | None, context: str | None, msgid: str, plural: str | None, n: int | None) -> str:
    if locale is None:
        if plural is None:
            return msgid
        return msgid if n == 1 else plural
    catalog = translations(locale)
    if plural is not None:
        count = 0 if n is None else n
        if context is not None:
            return catalog.npgettext(context, msgid, plural, count)
        return catalog.ngettext(msgid, plural, count)
    if context is not None:
        return catalog.pgettext(context, msgid)
    return catalog.gettext(msgid)


_FORMATTER = string.Formatter()


def _render(template: str, args: Mapping[str, Any], locale: str | None) -> str:
    if not args:
        return template
    shown = {name: _argument(value, locale) for name, value in args.items()}
    return _FORMATTER.vformat(template, (), shown)


def _argument(value: Any, locale: str | None) -> Any:
    if isinstance(value, Text | Clause | Listing):
        return value.render(locale)
    if isinstance(value, BaseException):
        return localized(value, locale)
    if isinstance(value, int) and not isinstance(value, bool):
        return number(value, locale=locale)
    if isinstance(value, float):
        return decimal(value, locale=locale)
    return value
