"""The catalogs cover the code: every message marked for translation is in the template and translated in every
shipped locale (placeholders, emoji, markup and command names kept), nothing user-visible in the converted modules
is left as bare English, and locales, plural forms and numbers behave per language.

What counts as converted is ``CONVERTED`` below: the modules whose every Discord-facing string goes through
``musicbot.i18n``. The catalog check itself covers every message marked anywhere and every slash command.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from musicbot.i18n import (
    Clause,
    current_locale,
    decimal,
    lazy,
    lazy_plural,
    localized,
    ngettext,
    number,
    percent,
    tr,
    use_locale,
)
from musicbot.i18n.catalogs import LOCALE_DIR, catalog_for_tag, po_path, shipped_locales, translations
from musicbot.i18n.extract import problems

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = {"de", "es_ES", "fr", "pt_BR", "ru"}

# The modules whose user-visible text is all marked (the completeness test below holds them to it).
CONVERTED = [
    "musicbot/bot/actions.py", "musicbot/bot/checks.py", "musicbot/bot/components.py", "musicbot/bot/errors.py",
    "musicbot/bot/format.py", "musicbot/bot/options.py", "musicbot/bot/tree.py",
    "musicbot/bot/cogs/control.py", "musicbot/bot/cogs/info.py", "musicbot/bot/cogs/nowplaying.py",
    "musicbot/bot/cogs/play.py", "musicbot/bot/cogs/queue.py", "musicbot/bot/cogs/sound.py",
    "musicbot/bot/embeds.py", "musicbot/bot/panel.py", "musicbot/bot/sessions.py", "musicbot/bot/resume.py",
    "musicbot/bot/voice_status.py", "musicbot/session_playback.py", "musicbot/session_voice.py",
    "musicbot/session_requester.py", "musicbot/bot/cogs/lyrics.py", "musicbot/bot/cogs/settings.py",
    "musicbot/bot/cogs/telegram.py", "musicbot/bot/cogs/library.py", "musicbot/bot/playlist_access.py",
    "musicbot/bot/playlist_import.py", "musicbot/storage/playlist_file.py",
    "musicbot/storage/errors.py", "musicbot/storage/playlists.py", "musicbot/storage/deadline.py",
    "musicbot/queue/errors.py", "musicbot/queue/votes.py", "musicbot/queue/entry.py",
    "musicbot/sources/errors.py", "musicbot/sources/damage.py", "musicbot/sources/resolver.py",
    "musicbot/sources/spotify.py", "musicbot/sources/ssrf.py", "musicbot/sources/http.py",
    "musicbot/sources/local.py", "musicbot/sources/ytdlp.py", "musicbot/sources/guarded_http.py",
    "musicbot/sources/media.py",
]


def test_every_message_is_translated_in_every_shipped_locale() -> None:
    # The template is what the code marks now (run `python -m musicbot.i18n.extract` after changing a message),
    # and every catalog translates all of it, keeping placeholders, emoji, markup and /command names.
    assert problems() == []


def test_the_required_locales_ship() -> None:
    assert set(shipped_locales()) >= REQUIRED


# ---------------------------------------------------------------- nothing bare reaches Discord
SINKS = {"reply", "refuse", "send_message", "edit_message", "edit_original_response", "send", "Embed", "add_field",
         "set_footer", "set_author", "Button", "SelectOption", "Select", "announce"}
TEXT_KEYWORDS = {"content", "title", "description", "name", "value", "text", "label", "placeholder"}
MARKERS = {"tr", "ngettext", "pgettext", "lazy", "lazy_plural", "N_", "localized"}
NOT_USER_ERRORS = {"ValueError", "TypeError", "RuntimeError", "KeyError", "AssertionError", "NotImplementedError"}


def _bare_english(node: ast.AST) -> bool:
    """A literal with words in it that no translation call wraps (emoji, numbers and markup alone are fine; so is
    one lowercase identifier, a field's or an option's key: ``FilterConfigError("filter", …)``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        identifier = node.value.replace("_", "").isalpha() and node.value.islower()
        return any(c.isalpha() for c in node.value) and not identifier
    if isinstance(node, ast.JoinedStr):
        return any(_bare_english(v) for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.BinOp):
        return _bare_english(node.left) or _bare_english(node.right)
    if isinstance(node, ast.IfExp):
        return _bare_english(node.body) or _bare_english(node.orelse)
    return False


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def bare_strings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _callee(node)
        is_error = name.endswith(("Error", "Refusal")) and name not in NOT_USER_ERRORS
        is_super_init = name == "__init__" and isinstance(node.func, ast.Attribute) and \
            isinstance(node.func.value, ast.Call) and _callee(node.func.value) == "super"
        if not (name in SINKS or is_error or is_super_init):
            continue
        values = list(node.args) + [k.value for k in node.keywords if k.arg in TEXT_KEYWORDS or k.arg is None]
        for value in values:
            if _bare_english(value):
                where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                found.append(f"{where}:{node.lineno}: {ast.unparse(value)[:80]}")
    return found


@pytest.mark.parametrize("module", CONVERTED)
def test_no_bare_english_is_sent(module: str) -> None:
    assert bare_strings(ROOT / module) == []


def test_the_bare_english_check_sees_what_it_should(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("async def f(i, e):\n    await reply(i, f'Queued {e}.')\n    raise CommandRefusedError('No.')\n"
                      "    await reply(i, '⏸️ ' + tr('Paused.'))\n    raise ValueError('internal')\n")
    assert len(bare_strings(sample)) == 2


# ---------------------------------------------------------------- locales
def test_discord_locales_find_their_catalog() -> None:
    assert catalog_for_tag("de") == "de"
    assert catalog_for_tag("pt-BR") == "pt_BR"
    assert catalog_for_tag("es-ES") == "es_ES"
    assert catalog_for_tag("es-419") == "es_ES"  # Latin American Spanish reads the Spanish catalog
    assert catalog_for_tag("fr") == "fr"
    assert catalog_for_tag("ru") == "ru"
    assert catalog_for_tag("en-US") is None and catalog_for_tag("en-GB") is None  # the source language
    assert catalog_for_tag("ja") is None and catalog_for_tag(None) is None


def test_a_language_is_added_by_adding_its_file(tmp_path: Path) -> None:
    shutil.copytree(LOCALE_DIR, tmp_path / "locale")
    root = tmp_path / "locale"
    po = po_path("it", root)
    assert not po.parent.exists()
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
                  '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\nmsgid "Resumed."\nmsgstr "Ripresa."\n',
                  encoding="utf-8")
    assert "it" in shipped_locales(root)
    assert catalog_for_tag("it", root) == "it"
    assert translations("it", root).gettext("Resumed.") == "Ripresa."
    assert translations("it", root).gettext("Skipped.") == "Skipped."  # untranslated: the English


def test_the_current_locale_belongs_to_its_block() -> None:
    assert current_locale() is None
    with use_locale("de"):
        assert tr("Resumed.") == "Geht weiter."
        with use_locale("fr"):
            assert tr("Resumed.") == "Reprise."
        assert current_locale() == "de"
    assert tr("Resumed.") == "Resumed."


def test_errors_read_english_unless_shown_to_a_reader() -> None:
    from musicbot.queue.errors import DuplicateTrackError
    from musicbot.track import Track

    error = DuplicateTrackError(Track(id="t:1", title="Song", artist="", duration_s=1.0, url="https://example.com/a"))
    with use_locale("de"):
        assert str(error) == "“Song” is already in the queue."  # logs and the dashboard's API
        assert localized(error) == "„Song“ ist schon in der Warteschlange."
    assert localized(error, "ru") == "«Song» уже в очереди."


def test_russian_has_three_plural_forms() -> None:
    with use_locale("ru"):
        forms = [ngettext("Shuffled {n} track.", "Shuffled {n} tracks.", n, n=n) for n in (1, 3, 5, 21, 11)]
    assert forms == ["Перемешан 1 трек.", "Перемешано 3 трека.", "Перемешано 5 треков.", "Перемешан 21 трек.",
                     "Перемешано 11 треков."]
    assert ngettext("Shuffled {n} track.", "Shuffled {n} tracks.", 2, n=2) == "Shuffled 2 tracks."


def test_numbers_follow_the_locale() -> None:
    assert number(12345) == "12345" and decimal(1.25) == "1.25" and percent(0.253, 1) == "25.3%"  # as before
    with use_locale("de"):
        assert number(12345) == "12.345"
        assert number(1234.56, 1) == "1.234,6"
        assert decimal(1.25) == "1,25"
        assert percent(0.253, 1) == "25,3\xa0%"  # German puts a (no-break) space before the sign
        assert tr("The queue is full ({limit} tracks max on this server).", limit=10000) == \
            "Die Warteschlange ist voll (höchstens 10.000 Titel auf diesem Server)."
    with use_locale("pt-BR"):
        assert percent(0.253, 1) == "25,3%"
    with use_locale("fr"):
        assert decimal(-0.5) in ("-0,5", "\u22120,5")


def test_a_clause_after_a_colon_starts_lowercase_except_in_german() -> None:
    text = lazy("Playback stopped at {position}: {reason}", position="1:23",
                reason=Clause(lazy("The file is empty or cut short.")))
    assert str(text) == "Playback stopped at 1:23: the file is empty or cut short."
    assert text.render("fr") == "Lecture interrompue à 1:23 : le fichier est vide ou tronqué."
    assert text.render("de") == "Wiedergabe bei 1:23 abgebrochen: Die Datei ist leer oder gekürzt."


def test_a_broken_translation_falls_back_to_english() -> None:
    catalog = translations("de")
    saved = catalog._catalog.copy()  # type: ignore[attr-defined]
    try:
        catalog._catalog[("{n} was refused", 0)] = "{anzahl} abgelehnt"  # type: ignore[attr-defined]
        assert lazy_plural("{n} was refused", "{n} were refused", 1, n=1).render("de") == "1 was refused"
    finally:
        catalog._catalog.clear()  # type: ignore[attr-defined]
        catalog._catalog.update(saved)  # type: ignore[attr-defined]
