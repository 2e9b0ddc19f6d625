"""Slash commands in the user's language: discord.py's ``app_commands.Translator`` over the gettext catalogs.

discord.py asks the tree's translator for every command, group and option name, description and
choice, in every locale Discord knows, when it builds the registration payload (``tree.sync`` and
``musicbot sync --dry-run``); the answers become ``name_localizations`` / ``description_localizations``.
Discord shows each user the names in their client's language; an interaction still carries the
names the code declares, so nothing else changes.

The strings are the commands' own (the decorators' English), read from the tree by
``command_strings`` for the catalog (``musicbot.i18n.extract``). Names live in their own gettext
contexts (``NAME``, ``OPTION``, ``CHOICE``): "queue" the command and "queue" the loop choice are
different words in some languages. A translated name Discord would refuse (not lowercase, not
1–32 letters, digits, ``-`` or ``_``) or a text too long is left out and logged, never sent.
"""

from __future__ import annotations

import asyncio
import logging
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation as Where

from musicbot.i18n import Text, pgettext
from musicbot.i18n.catalogs import catalog_for_tag, preload

log = logging.getLogger(__name__)

NAME = "command name"  # a command's or a group's name
OPTION = "option name"
CHOICE = "choice"
CONTEXTS: dict[Where, str | None] = {
    Where.command_name: NAME, Where.group_name: NAME, Where.parameter_name: OPTION, Where.choice_name: CHOICE,
    Where.command_description: None, Where.group_description: None, Where.parameter_description: None,
}
NAME_LOCATIONS = frozenset({Where.command_name, Where.group_name, Where.parameter_name})
MAX_NAME = 32
MAX_TEXT = 100  # descriptions and choice names


def valid_name(name: str) -> bool:
    """Discord's rule for command and option names: ``^[-_\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$``,
    lowercase where the letter has a lowercase form."""
    if not 1 <= len(name) <= MAX_NAME or name != name.lower():
        return False
    return all(c in "-_" or unicodedata.category(c)[0] in "LN" or unicodedata.category(c) in ("Mn", "Mc")
               for c in name)


def translation(message: str, location: Where, tag: str) -> str | None:
    """``message`` (a command's English) for a user of Discord locale ``tag``; None: Discord shows the English."""
    locale = catalog_for_tag(tag)
    if locale is None or location not in CONTEXTS:
        return None
    translated = Text(message, {}, context=CONTEXTS[location]).render(locale)
    if translated == message:
        return None  # untranslated, or the same word: nothing to add to the payload
    if location in NAME_LOCATIONS:
        if not valid_name(translated):
            log.warning("the %s translation %r of %r is not a valid command name: left out", locale, translated,
                        message)
            return None
    elif not 1 <= len(translated) <= MAX_TEXT:
        log.warning("the %s translation of %r is longer than Discord allows: left out", locale, message)
        return None
    return translated


def command_path(qualified_name: str) -> str:
    """``/filter set`` as the current locale's users see it in Discord (``/filter einstellen``)."""
    return "/" + " ".join(pgettext(NAME, word) for word in qualified_name.split())


def option_name(name: str) -> str:
    """An option's name as the current locale's users see it."""
    return pgettext(OPTION, name)


class CommandTranslator(app_commands.Translator):
    """The tree's translator (``MusicBotClient.install_commands``)."""

    async def load(self) -> None:
        # Every catalog read once now, in a worker thread (Babel's reader takes ~50 ms a catalog): neither the
        # registration nor a user's first command in their language then reads one on the event loop.
        await asyncio.to_thread(preload)

    async def translate(self, string: app_commands.locale_str, locale: discord.Locale,
                        context: app_commands.TranslationContextTypes) -> str | None:
        return translation(string.message, context.location, locale.value)


@dataclass(frozen=True)
class CommandString:
    """One string of the commands for the catalog: its gettext context and where it was declared."""

    message: str
    context: str | None
    where: str  # the command's path, for translators: "filter set · option level"


def command_strings(tree: app_commands.CommandTree[Any]) -> list[CommandString]:
    """Every name, description and choice of the tree's global commands, in declaration order."""
    return list(dict.fromkeys(_walk(tree.get_commands())))


def _walk(commands: list[Any], prefix: str = "") -> Iterator[CommandString]:
    for command in commands:
        if not isinstance(command, app_commands.Command | app_commands.Group):
            continue  # context menus: the bot has none
        path = f"{prefix}{command.name}"
        yield CommandString(command.name, NAME, f"/{path}")
        yield CommandString(command.description, None, f"/{path}")
        if isinstance(command, app_commands.Group):
            yield from _walk(command.commands, path + " ")
            continue
        for param in command.parameters:
            yield CommandString(param.display_name, OPTION, f"/{path} · {param.display_name}")
            if param.description and param.description != "…":
                yield CommandString(param.description, None, f"/{path} · {param.display_name}")
            for choice in param.choices:
                yield CommandString(choice.name, CHOICE, f"/{path} · {param.display_name}")
