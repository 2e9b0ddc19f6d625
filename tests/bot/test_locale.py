"""Localization through the real tree: a command sent with ``locale`` ``de`` (or ``ru``, ``pt-BR``…) is answered in
that language, English stays as it was, and the registered commands carry their translated names, descriptions and
choices, each one valid by Discord's rules."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

import discord

from musicbot.bot.sync import command_payload
from musicbot.bot.tree import UNEXPECTED
from tests.bot.world import ALICE, GUILD, TEXT, World
from tests.harness import invoke
from tests.harness.payloads import Payload

SHIPPED = {"de", "es-ES", "fr", "pt-BR", "ru"}


@dataclass
class Answer:
    content: str
    ephemeral: bool
    embeds: list[dict[str, Any]]
    components: list[dict[str, Any]]
    error: BaseException | None


async def command(world: World, name: str, options: dict[str, Any] | None = None, *, locale: str,
                  user: Payload = ALICE) -> Answer:
    payload = world.fake.slash(name, options, guild_id=GUILD, channel_id=TEXT, user=user, locale=locale)
    error = await invoke(world.bot, payload)
    [first, *_] = world.fake.callbacks(payload)
    data = first["data"] if first["type"] == 4 else world.fake.followups(payload)[-1].json
    answer = Answer(data.get("content") or "", bool((data.get("flags") or 0) & 64), data.get("embeds") or [],
                    data.get("components") or [], error)
    assert UNEXPECTED not in answer.content, error
    return answer


async def test_a_command_sent_in_german_is_answered_in_german(world: World) -> None:
    await world.join(ALICE)
    empty = await command(world, "queue", locale="de")
    assert empty.ephemeral and empty.content == "⚠️ Die Warteschlange ist leer. Füge Musik mit /abspielen hinzu."

    played = await command(world, "play", {"query": "long440"}, locale="de")
    assert played.error is None and played.content == "🎵 Läuft: Generator - Tone long440 (0:06)"
    assert (await command(world, "volume", {"percent": 50}, locale="de")).content == "🔉 Lautstärke 50 %."
    refused = await command(world, "resume", locale="de")
    assert refused.ephemeral and refused.content == "⚠️ Die Musik ist nicht pausiert."
    assert (await command(world, "pause", locale="de")).content == "⏸️ Pausiert. Mit /fortsetzen geht es weiter."

    [embed] = (await command(world, "queue", locale="de")).embeds
    assert embed["title"] == "Warteschlange"
    assert "**⏸️ Pausiert**" in embed["description"]
    assert "Nach diesem Titel ist nichts eingereiht." in embed["description"]
    assert embed["footer"]["text"] == "Seite 1/1 · 0 Titel · 0:00 insgesamt · Wiederholung: aus · Autoplay: aus"

    # The same commands from an English client read exactly as before.
    assert (await command(world, "volume", {"percent": 150}, locale="en-US")).content == "🔊 Volume 150 %."
    assert (await command(world, "pause", locale="en-GB")).content == "⚠️ The music is already paused. " \
        "Use /resume to continue."


async def test_other_languages_plurals_and_numbers(world: World) -> None:
    await world.join(ALICE)
    for query in ("long440", "a440", "a660", "long660", "a440", "a660"):
        await command(world, "play", {"query": query}, locale="ru")
    shuffled = await command(world, "shuffle", locale="ru")
    assert shuffled.content == "🔀 Перемешано 5 треков."
    cleared = await command(world, "clear", locale="pt-BR")
    assert cleared.content == "🧹 5 faixas removidas da fila."
    # A Spanish client of Latin America reads the Spanish catalog; a client in a language not shipped, English.
    assert (await command(world, "volume", {"percent": 80}, locale="es-419")).content == "🔉 Volumen 80 %."
    assert (await command(world, "volume", {"percent": 80}, locale="ja")).content == "🔉 Volume 80 %."


async def test_a_refusal_in_the_users_words_names_the_commands_as_their_discord_shows_them(world: World) -> None:
    answer = await command(world, "pause", locale="fr")
    assert answer.content == "⚠️ Je ne suis dans aucun salon vocal. Utilisez d'abord /jouer ou /rejoindre."
    await world.join(ALICE)
    await command(world, "play", {"query": "long440"}, locale="fr")
    assert (await command(world, "seek", {"position": "soon"}, locale="es-ES")).content == \
        "⚠️ «soon» no es un tiempo. Usa 1:23, 1:02:03, 90 (segundos), +10 o -15."


# ---------------------------------------------------------------- the registered commands
def discord_name(name: str) -> bool:
    """``^[-_\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$`` and lowercase, as Discord checks a command's names."""
    return 1 <= len(name) <= 32 and name == name.lower() and all(
        c in "-_" or unicodedata.category(c)[0] in "LN" or unicodedata.category(c) in ("Mn", "Mc") for c in name)


def check_names(items: list[dict[str, Any]], where: str, found: list[str]) -> None:
    """Names and descriptions of ``items`` (commands or options) and their localizations; siblings' names unique
    in every locale (Discord refuses two options or subcommands of the same name)."""
    locales = {v.value for v in discord.Locale}
    seen: dict[str, set[str]] = {}
    for item in items:
        path = f"{where} {item['name']}".strip()
        names = {"": item["name"], **(item.get("name_localizations") or {})}
        for locale, name in names.items():
            if locale and locale not in locales:
                found.append(f"{path}: unknown locale {locale}")
            if item.get("type", 1) != 3 and not discord_name(name):  # (3: a choice, shown as written)
                found.append(f"{path}: {locale or 'default'} name {name!r} is not a valid command name")
            if name in seen.setdefault(locale, set()):
                found.append(f"{path}: two siblings named {name!r} in {locale or 'the default'}")
            seen[locale].add(name)
        for locale, text in (item.get("description_localizations") or {}).items():
            if not 1 <= len(text) <= 100:
                found.append(f"{path}: {locale} description is {len(text)} characters")
        for choice in item.get("choices") or []:
            for locale, text in (choice.get("name_localizations") or {}).items():
                if not 1 <= len(text) <= 100:
                    found.append(f"{path}: {locale} choice {choice['name']!r} is {len(text)} characters")
        if item.get("options"):
            check_names(item["options"], path, found)


async def test_the_registered_commands_are_localized_and_valid(world: World) -> None:
    payload = await command_payload(world.bot)
    found: list[str] = []
    check_names(payload, "", found)
    assert found == []

    play = next(c for c in payload if c["name"] == "play")
    assert play["name_localizations"]["de"] == "abspielen"
    assert play["description_localizations"]["ru"] == "Включить песню или плейлист: ссылка или слова для поиска"
    assert {"de", "es-ES", "es-419", "fr", "pt-BR", "ru"} <= set(play["description_localizations"])
    query = next(o for o in play["options"] if o["name"] == "query")
    assert query["name_localizations"]["fr"] == "recherche"
    loop = next(c for c in payload if c["name"] == "loop")
    [mode] = loop["options"]
    assert {c["name"]: c["name_localizations"]["de"] for c in mode["choices"]} == \
        {"off": "aus", "track": "Titel", "queue": "Warteschlange"}
    # (That every name, description and choice is translated in every shipped catalog: tests/test_i18n.py.)
    for locale in SHIPPED:
        localized = [c for c in payload if locale in (c.get("description_localizations") or {})]
        assert len(localized) == len(payload), locale


# ---------------------------------------------------------------- what the bot says on its own: the guild's language
def channel_messages(world: World) -> list[Payload]:
    return [m for m in world.fake.channel_messages(TEXT) if not (m.get("flags") or 0) & 64]


def panel_message(world: World) -> Payload | None:
    return next((m for m in channel_messages(world) for row in m.get("components") or []
                 for c in row["components"] if c.get("custom_id") == "np:pause"), None)


async def test_the_panel_and_announcements_speak_the_servers_language(world: World) -> None:
    from tests.bot.world import ADMIN, wait_for

    world.guild.preferred_locale = discord.Locale.russian  # Server Settings → the server's primary language
    cog: Any = world.bot.get_cog("NowPlayingCog")
    cog.panels.interval_s = 0.05
    await world.bot.update_guild_settings(GUILD, ADMIN["id"], ended_leave_s=0.3)
    await world.join(ALICE)
    # The member asked in German: the answer is theirs, the channel's panel the server's.
    answer = await command(world, "play", {"query": "a440"}, locale="de")
    assert answer.content.startswith("🎵 Läuft: ")
    await wait_for(lambda: panel_message(world) is not None)
    panel = panel_message(world)
    assert panel is not None
    assert panel["embeds"][0]["title"] == "🎶 Сейчас играет"
    assert {f["name"] for f in panel["embeds"][0]["fields"]} >= {"Заказал", "Повтор", "Громкость", "Далее"}
    labels = {c.get("label") for row in panel["components"] for c in row["components"]}
    assert {"Назад", "Пауза", "Пропустить", "Стоп", "Повтор: выкл."} <= labels
    # The queue ends, and a while later the bot leaves and says so, in Russian.
    left = "Вышел из голосового канала: очередь закончилась, и какое-то время ничего не играло."
    await wait_for(lambda: any(m.get("content") == left for m in channel_messages(world)), timeout=10.0)
    # The panel said the music ended (and dropped its buttons), in Russian too.
    await wait_for(lambda: any(e.get("title") == "⏹️ Ничего не играет" for m in channel_messages(world)
                               for e in m.get("embeds") or []))
