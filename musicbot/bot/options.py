"""Option names and JSON types checked against the command's declaration before the command runs.

discord.py trusts Discord to enforce option types, so a stale command list or a forged payload would
hand a command a dict where it expects an int. Discord checks options against the *registered*
command, so normally nothing here fires; when it does, the user gets one clear sentence instead of a
command running on values it never declared.
"""

from __future__ import annotations

from typing import Any

from discord import AppCommandOptionType, app_commands

_SNOWFLAKE_TYPES = {
    AppCommandOptionType.user,
    AppCommandOptionType.channel,
    AppCommandOptionType.role,
    AppCommandOptionType.mentionable,
    AppCommandOptionType.attachment,
}
_NESTING = {AppCommandOptionType.subcommand.value, AppCommandOptionType.subcommand_group.value}
STALE = "Discord may still be updating your command list; try again in a minute."


def leaf_options(data: Any) -> list[dict[str, Any]] | None:
    """The options of the innermost subcommand, or None when the payload's shape is not Discord's."""
    options = data.get("options", []) if isinstance(data, dict) else None
    while True:
        if not isinstance(options, list) or not all(isinstance(o, dict) for o in options):
            return None
        if len(options) == 1 and options[0].get("type") in _NESTING:
            options = options[0].get("options", [])
            continue
        return options


def _type_ok(kind: AppCommandOptionType, value: object) -> bool:
    if kind is AppCommandOptionType.string:
        return isinstance(value, str)
    if kind is AppCommandOptionType.integer:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is AppCommandOptionType.number:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is AppCommandOptionType.boolean:
        return isinstance(value, bool)
    if kind in _SNOWFLAKE_TYPES:
        return isinstance(value, str | int) and not isinstance(value, bool) and str(value).isdigit()
    return True


def problem(command: app_commands.Command[Any, ..., Any], data: Any, *, focused_ok: bool = False) -> str | None:
    """What is wrong with the options sent for ``command`` (a user-facing sentence), or None."""
    options = leaf_options(data)
    if options is None:
        return f"That command arrived garbled. {STALE}"
    declared = {p.display_name: p for p in command.parameters}
    given: dict[str, Any] = {}
    for option in options:
        name = option.get("name")
        if not isinstance(name, str) or name not in declared:
            return f"/{command.qualified_name} has no option “{str(name)[:30]}”. {STALE}"
        given[name] = option.get("value")
        if focused_ok and option.get("focused"):
            continue  # a half-typed autocomplete value
        message = _value_problem(declared[name], given[name])
        if message is not None:
            return message
    missing = [p.display_name for p in command.parameters if p.required and p.display_name not in given]
    if missing:
        return f"/{command.qualified_name} needs the option “{missing[0]}”. {STALE}"
    return None


def _value_problem(param: app_commands.Parameter, value: object) -> str | None:
    # Only the JSON type: ranges and choices are checked by the commands themselves, whose messages
    # name the setting and its allowed values in the user's terms (``timescale.speed: 10 is out of range``).
    if not _type_ok(param.type, value):
        return f"“{str(value)[:40]}” is not a valid {param.display_name}. {STALE}"
    return None
