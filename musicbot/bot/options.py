"""A slash command's payload checked against its declaration before discord.py or the command reads it.

discord.py trusts Discord: it walks ``data.options`` assuming Discord's shapes, casts numbers with
``float()``, and turns an id without ``resolved`` data into a bare ``discord.Object``. Discord checks
options against the *registered* command, so normally nothing here fires; a stale command list or
a forged payload would otherwise raise inside discord.py's task (no answer at all), or hand a
command an ``Object`` where it declared a channel (an apology, or a ``repr`` shown to the user).
Here each such payload gets one clear sentence instead, and the command runs only on values of
the types it declared.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import AppCommandOptionType, app_commands

from musicbot.bot.translator import command_path, option_name
from musicbot.i18n import N_, tr

_NESTING = {AppCommandOptionType.subcommand.value, AppCommandOptionType.subcommand_group.value}
# Where Discord puts the object an id option names (``data.resolved``), per option type.
_RESOLVED_IN: dict[AppCommandOptionType, tuple[str, ...]] = {
    AppCommandOptionType.user: ("users",),
    AppCommandOptionType.channel: ("channels",),
    AppCommandOptionType.role: ("roles",),
    AppCommandOptionType.mentionable: ("users", "roles"),
    AppCommandOptionType.attachment: ("attachments",),
}
_UNKNOWN_ITEM = {
    AppCommandOptionType.user: N_("That member is unknown here; pick one from the list."),
    AppCommandOptionType.channel: N_("That channel is unknown here; pick one from the list."),
    AppCommandOptionType.role: N_("That role is unknown here; pick one from the list."),
    AppCommandOptionType.mentionable: N_("That member or role is unknown here; pick one from the list."),
    AppCommandOptionType.attachment: N_("That file is unknown here; pick one from the list."),
}
MAX_SAFE_INTEGER = 2**53  # Discord's integer options stay within ±2^53 (JavaScript's exact integers)
STALE = N_("Discord may still be updating your command list; try again in a minute.")
GARBLED = N_("That command arrived garbled.")
UNKNOWN_COMMAND = N_("That command has changed or no longer exists.")


def stale(sentence: str) -> str:
    """``sentence`` (translated) and the hint that the user's command list may be out of date."""
    return f"{sentence} {tr(STALE)}"


def unknown_command() -> str:
    return stale(tr(UNKNOWN_COMMAND))


def shape_problem(data: Any) -> str | None:
    """A user-facing sentence when ``data`` is not shaped like Discord's command data, else None.

    Checked before discord.py looks the command up: its lookup indexes these fields blindly.
    """
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not data["name"]:
        return stale(tr(GARBLED))
    if data.get("type", 1) != 1:
        return stale(tr("I have no app of that kind (only slash commands)."))  # context menus
    resolved = data.get("resolved", {})
    if not isinstance(resolved, dict) or not all(
        isinstance(group, dict) and all(isinstance(item, dict) for item in group.values())
        for group in resolved.values()
    ):
        return stale(tr(GARBLED))
    return None if _options_well_formed(data.get("options", [])) else stale(tr(GARBLED))


def _options_well_formed(options: Any) -> bool:
    if not isinstance(options, list):
        return False
    for option in options:
        if not isinstance(option, dict) or not isinstance(option.get("name"), str):
            return False
        kind = option.get("type")
        if not isinstance(kind, int) or isinstance(kind, bool):
            return False
        if kind in _NESTING:
            if not _options_well_formed(option.get("options", [])):
                return False
        elif "value" not in option:
            return False
    return True


def command_of(interaction: discord.Interaction[Any]) -> app_commands.Command[Any, ..., Any] | None:
    """The slash command ``interaction`` invokes, or None (unknown, a group, a garbled payload)."""
    if shape_problem(interaction.data) is not None:
        return None
    try:
        command = interaction.command
    except Exception:  # discord.py's lookup of a payload it cannot route: treated as unknown
        return None
    return command if isinstance(command, app_commands.Command) else None


def leaf_options(data: Any) -> list[dict[str, Any]]:
    """The options of the innermost subcommand (``data`` passed ``shape_problem``)."""
    options: list[dict[str, Any]] = data.get("options", [])
    while len(options) == 1 and options[0].get("type") in _NESTING:
        options = options[0].get("options", [])
    return options


def problem(command: app_commands.Command[Any, ..., Any], interaction: discord.Interaction[Any], *,
            focused_ok: bool = False) -> str | None:
    """What is wrong with the options sent for ``command`` (a user-facing sentence), or None.

    ``focused_ok``: an autocomplete payload, whose focused option holds half-typed text.
    """
    data: Any = interaction.data
    wrong = shape_problem(data)
    if wrong is not None:
        return wrong
    options = leaf_options(data)
    declared = {p.display_name: p for p in command.parameters}
    given: set[str] = set()
    for option in options:
        name = option["name"]
        if name not in declared or name in given:
            return stale(tr("{command} has no option “{option}” (or got it twice).",
                           command=command_path(command.qualified_name), option=name[:30]))
        given.add(name)
        if focused_ok and option.get("focused"):
            continue  # a half-typed autocomplete value
        message = _value_problem(declared[name], option, data.get("resolved", {}))
        if message is not None:
            return message
    missing = [p.display_name for p in command.parameters if p.required and p.display_name not in given]
    if missing and not focused_ok:
        return stale(tr("{command} needs the option “{option}”.", command=command_path(command.qualified_name),
                       option=option_name(missing[0])))
    try:
        # discord.py's own reading of the values, done here where a failure can still be answered.
        app_commands.Namespace(interaction, data.get("resolved", {}), options)  # type: ignore[arg-type]
    except Exception:  # any value discord.py cannot read is the sender's problem, not a bug
        return stale(tr(GARBLED))
    return None


def _value_problem(param: app_commands.Parameter, option: dict[str, Any], resolved: dict[str, Any]) -> str | None:
    # Only types and identities: ranges and choices are checked by the commands themselves, whose
    # messages name the setting and its allowed values in the user's terms.
    value = option["value"]
    shown = option_name(param.display_name)
    if isinstance(value, str | int | float):
        invalid = stale(tr("“{value}” is not a valid {option}.", value=str(value)[:40], option=shown))
    else:
        invalid = stale(tr("That value is not a valid {option}.", option=shown))
    if option["type"] != param.type.value:
        return invalid
    kind = param.type
    if kind is AppCommandOptionType.string:
        return None if isinstance(value, str) else invalid
    if kind is AppCommandOptionType.boolean:
        return None if isinstance(value, bool) else invalid
    if kind in (AppCommandOptionType.integer, AppCommandOptionType.number):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return invalid
        if kind is AppCommandOptionType.integer and not isinstance(value, int):
            return invalid
        # Past Discord's range an integer can't even become a float (discord.py's ``float(10**400)``
        # raises); NaN and ∞ go on to the command, whose range check names the setting.
        if isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER:
            return tr("{option} must be a number between −2^53 and 2^53.", option=shown)
        return None
    if kind in _RESOLVED_IN:
        ident = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
        if not ident.isdigit() or not any(ident in resolved.get(group, {}) for group in _RESOLVED_IN[kind]):
            return stale(tr(_UNKNOWN_ITEM[kind]))
    return None
