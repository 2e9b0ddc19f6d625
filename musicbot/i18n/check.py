"""What makes a catalog complete and safe to ship (``extract --check`` and tests/test_i18n.py).

For every message the code uses: a translation, not fuzzy, in every plural form the language has;
the same ``{placeholders}`` as the English (a missing one loses information, an unknown one would
fail to render); the same Discord markup (backticks, bold) and the same emoji, so a translated answer
looks like the English one; and every ``/command`` the English names, named as the catalog names
that command (users of that language see the translated command names in Discord).
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable

from babel.messages.catalog import Catalog, Message

NAME_CONTEXT = "command name"  # bot/translator.py's NAME (this module stays free of discord.py)
COMMAND = re.compile(r"(?<![\w/<:])/([a-z][a-z0-9_-]*)")
# The Telegram bridge's own commands: a message naming one speaks of the Telegram chat, whose commands
# (/queue there too) are not Discord's and are never translated.
TELEGRAM_ONLY = frozenset({"np", "list", "id", "confirm", "help"})


def placeholders(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return {"<unbalanced braces>"}


def emoji(text: str) -> list[str]:
    return sorted(c for c in text if unicodedata.category(c) == "So")


def markup(text: str) -> tuple[int, int]:
    return text.count("`"), text.count("**")


def command_names(catalog: Catalog) -> dict[str, str]:
    """English command name → the name this catalog gives it (itself when untranslated)."""
    names: dict[str, str] = {}
    for message in catalog:
        if message.context == NAME_CONTEXT and isinstance(message.id, str) and message.id:
            names[message.id] = message.string if isinstance(message.string, str) and message.string else message.id
    return names


def catalog_problems(catalog: Catalog, wanted: Iterable[tuple[str, str | None]], locale: str) -> list[str]:
    names = command_names(catalog)
    found: list[str] = []
    for msgid, context in sorted(wanted, key=str):
        message = catalog.get(msgid, context)
        where = f"{locale}: {msgid!r}" + (f" ({context})" if context else "")
        if message is None:
            found.append(f"{where} is missing")
            continue
        found += [f"{where}: {problem}" for problem in message_problems(message, names)]
    return found


def message_problems(message: Message, names: dict[str, str]) -> list[str]:
    english = [message.id] if isinstance(message.id, str) else list(message.id)
    translated = [message.string] if isinstance(message.string, str) else list(message.string or ())
    if message.fuzzy:
        return ["fuzzy (check the translation, then drop the fuzzy flag)"]
    if not translated or not all(translated):
        return ["not translated"]
    source = english[-1]  # a plural's forms are checked against the English plural
    found: list[str] = []
    for form in translated:
        if placeholders(form) != placeholders(source):
            found.append(f"placeholders {sorted(placeholders(form))} instead of {sorted(placeholders(source))}")
        if emoji(form) != emoji(source):
            found.append(f"emoji {emoji(form)} instead of {emoji(source)}")
        if markup(form) != markup(source):
            found.append("not the same backticks and ** as the English")
        commands = COMMAND.findall(source)
        telegram = any(c in TELEGRAM_ONLY for c in commands)
        for command in commands:
            local = command if telegram else names.get(command, command)
            if f"/{local}" not in form:
                found.append(f"names /{command} but not as /{local}")
    return found
