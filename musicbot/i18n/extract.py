"""Keep the catalogs in step with the code (a development tool; the bot never imports it).

    .venv/bin/python -m musicbot.i18n.extract           # write musicbot.pot, merge it into every .po
    .venv/bin/python -m musicbot.i18n.extract --check   # exit 1 naming what is missing (tests/test_i18n.py)

The template holds the messages Babel extracts from the code (``tr``, ``ngettext``, ``pgettext``,
``N_``, ``lazy``, ``lazy_plural``: ``musicbot/i18n/__init__.py``) and the slash commands' names,
descriptions and choices, read from the command tree the bot registers (``bot/translator.py``).
Merging keeps every translation whose English did not change; a new or changed message arrives
empty (or marked fuzzy), and the catalog test fails until someone translates it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from musicbot.i18n.catalogs import DOMAIN, LOCALE_DIR, TEMPLATE, po_path, shipped_locales

PACKAGE = Path(__file__).resolve().parent.parent
KEYWORDS: dict[str, Any] = {
    "tr": None, "N_": None, "lazy": None, "ngettext": (1, 2), "lazy_plural": (1, 2), "pgettext": ((1, "c"), 2),
}
COMMENT_TAGS = ("i18n:",)  # ``# i18n: …`` just above a message reaches the translators
WIDTH = 120
PROJECT = "musicbot"


def code_messages(catalog: Catalog) -> None:
    """Add the messages marked in the package's Python files (locations relative to the repository)."""
    for filename, lineno, message, comments, context in extract_from_dir(
        str(PACKAGE), method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=COMMENT_TAGS,
        strip_comment_tags=True,
    ):
        where = (f"{PACKAGE.name}/{filename}", lineno)
        catalog.add(message, locations=[where], auto_comments=comments, context=context)


async def _command_strings() -> list[tuple[str, str | None, str]]:
    from musicbot.bot.sync import _SyncClient
    from musicbot.bot.translator import command_strings
    from musicbot.config import load_config

    with tempfile.TemporaryDirectory() as data:
        config = load_config({"MUSICBOT_DATA_DIR": data, "MUSICBOT_HTTP_PORT": "0"}, toml_path=Path(data) / "none")
        bot = _SyncClient(config)  # opens nothing before a login (as ``musicbot sync --dry-run``)
        await bot.install_commands()
        return [(s.message, s.context, s.where) for s in command_strings(bot.tree)]


def command_messages(catalog: Catalog) -> None:
    """Add the slash commands' strings (the ``#.`` comment says which command each belongs to)."""
    for message, context, where in asyncio.run(_command_strings()):
        existing = catalog.get(message, context)
        if existing is not None:
            if where not in existing.auto_comments:
                existing.auto_comments.append(where)
            continue
        catalog.add(message, context=context, auto_comments=[where])


HEADER = """\
# The messages of musicbot, in English: the template of every catalog in this folder.
# Made by `python -m musicbot.i18n.extract` from the code and the slash commands; not edited by hand.
#"""


def template() -> Catalog:
    """The catalog the code asks for now."""
    catalog = Catalog(project=PROJECT, domain=DOMAIN, charset="utf-8", fuzzy=False, header_comment=HEADER)
    command_messages(catalog)
    code_messages(catalog)
    for message in catalog:
        # Placeholders are str.format's ({name}); Babel's guess of printf's (a "% o" in "100 % of") would
        # make translation tools check the wrong thing.
        message.flags.discard("python-format")
        text = message.id if isinstance(message.id, str) else message.id[0]
        if message.id and "{" in text:
            message.flags.add("python-brace-format")
    return catalog


def keys(catalog: Catalog) -> set[tuple[str, str | None]]:
    """(msgid, context) of every message (the first form of a plural)."""
    return {(_msgid(m.id), m.context) for m in catalog if m.id}


def _msgid(message_id: str | tuple[str, ...] | list[str]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale=locale, domain=DOMAIN)


def write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        # No line numbers: a message moving in its file does not touch six catalogs.
        write_po(file, catalog, width=WIDTH, sort_output=True, include_lineno=False, ignore_obsolete=True)


def update(root: Path = LOCALE_DIR) -> list[str]:
    """Write the template and merge it into each shipped catalog; returns the locales updated."""
    pot = template()
    write(pot, root / f"{DOMAIN}.pot")
    pot = read(root / f"{DOMAIN}.pot")  # as written: the merge sees what translators see
    updated = []
    for locale in shipped_locales(root):
        catalog = read(po_path(locale, root), locale)
        catalog.update(pot, update_header_comment=False, update_creation_date=False)
        write(catalog, po_path(locale, root))
        updated.append(locale)
    return updated


def problems(root: Path = LOCALE_DIR) -> list[str]:
    """What keeps the catalogs from covering the code: the template behind it, a message untranslated."""
    from musicbot.i18n.check import catalog_problems

    found: list[str] = []
    wanted = keys(template())
    have = keys(read(TEMPLATE)) if TEMPLATE.is_file() else set()
    found += [f"{DOMAIN}.pot lacks {m!r}" + (f" (context {c!r})" if c else "") for m, c in sorted(wanted - have,
                                                                                                key=str)]
    found += [f"{DOMAIN}.pot has {m!r} the code no longer uses" for m, _ in sorted(have - wanted, key=str)]
    for locale in shipped_locales(root):
        found += catalog_problems(read(po_path(locale, root), locale), wanted, locale)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m musicbot.i18n.extract", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report what is missing (exit 1 if anything)")
    args = parser.parse_args(argv)
    if args.check:
        found = problems()
        print("\n".join(found) or "every message is translated in " + ", ".join(shipped_locales()))
        return 1 if found else 0
    updated = update()
    print(f"wrote {TEMPLATE.relative_to(PACKAGE.parent)}; merged into {', '.join(updated) or 'no catalog yet'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
