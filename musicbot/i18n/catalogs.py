"""The shipped gettext catalogs: found in ``musicbot/locale/<locale>/LC_MESSAGES/musicbot.po``, read as they are.

Adding a language is adding one such file (``pybabel init``, see the README): the locales are
whatever folders hold a catalog, nothing lists them in code.

The ``.po`` files are read directly with Babel's reader (and compiled in memory into a standard
``gettext.GNUTranslations``, which knows plural forms and contexts), not compiled to ``.mo`` at
build time: the wheel, the Docker image (an editable install of the checkout) and the PyInstaller
binary then carry one kind of file that is also the one translators edit, with no build step to
forget and no compiled copy to drift from its source. Reading all of them costs a few tens of
milliseconds, once per locale, the first time that locale is needed.

Locale names are gettext's (``de``, ``es_ES``, ``pt_BR``); Discord's tags (``es-ES``, ``pt-BR``,
``es-419``) find theirs by ``catalog_for_tag``: the same name, else the bare language, else another
catalog of that language. English is the source language: the messages are written in it, so it
has no catalog (``None`` everywhere below means "the source text").
"""

from __future__ import annotations

import gettext
import io
import logging
import threading
from functools import cache
from pathlib import Path

log = logging.getLogger(__name__)

DOMAIN = "musicbot"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"
SOURCE_LANGUAGE = "en"

_lock = threading.Lock()
_loaded: dict[str, gettext.GNUTranslations] = {}


def po_path(locale: str, root: Path = LOCALE_DIR) -> Path:
    return root / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def shipped_locales(root: Path = LOCALE_DIR) -> tuple[str, ...]:
    """The locales with a catalog under ``root``, sorted (gettext names: ``de``, ``pt_BR``)."""
    if not root.is_dir():
        return ()
    return tuple(sorted(p.name for p in root.iterdir() if po_path(p.name, root).is_file()))


def catalog_for_tag(tag: str | None, root: Path = LOCALE_DIR) -> str | None:
    """The shipped locale that speaks to a user of ``tag`` (Discord's ``de``, ``pt-BR``, ``es-419``…;
    gettext's ``pt_BR`` too), or None for the source language or a language with no catalog."""
    if not tag:
        return None
    wanted = tag.replace("-", "_")
    language = wanted.split("_")[0].lower()
    shipped = shipped_locales(root)
    by_lower = {name.lower(): name for name in shipped}
    if wanted.lower() in by_lower:
        return by_lower[wanted.lower()]
    if language == SOURCE_LANGUAGE:
        return None
    if language in by_lower:
        return by_lower[language]
    # Another country's catalog of the same language (es-419 → es_ES) reads better than English.
    return next((name for name in shipped if name.split("_")[0].lower() == language), None)


def translations(locale: str, root: Path = LOCALE_DIR) -> gettext.GNUTranslations:
    """The catalog of a shipped ``locale``, read on first use (any thread)."""
    key = f"{root}:{locale}"
    found = _loaded.get(key)
    if found is not None:
        return found
    with _lock:
        found = _loaded.get(key)
        if found is None:
            found = _read(po_path(locale, root), locale)
            _loaded[key] = found
    return found


def preload(root: Path = LOCALE_DIR) -> None:
    """Read every shipped catalog now (a worker thread at start: ``bot/translator.py``)."""
    for locale in shipped_locales(root):
        translations(locale, root)


def _read(path: Path, locale: str) -> gettext.GNUTranslations:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with path.open("rb") as file:
        catalog = read_po(file, locale=locale, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)  # untranslated and fuzzy entries fall back to English
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)
