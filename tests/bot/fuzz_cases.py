"""The cases ``test_fuzz.py`` sends: plausible, hostile and broken INTERACTION_CREATE payloads for every command of
the real tree, autocomplete, clicks and menu choices (live, stale and forged). Seeded: ``MUSICBOT_FUZZ_SEED``."""

from __future__ import annotations

import json
import math
import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands
from discord.enums import AppCommandOptionType as T

from tests.bot.world import ADMIN, ALICE, BOB, DJ, DJ_ROLE, GUILD, TEXT, VOICE, VOICE2, World
from tests.harness import BOT_ID, member, message_payload, role, user
from tests.harness.payloads import Payload

SEED = int(os.environ.get("MUSICBOT_FUZZ_SEED", "20260107"))
PER_COMMAND = int(os.environ.get("MUSICBOT_FUZZ_PER_COMMAND", "70"))
ADMIN_ROLE = 1501
UNKNOWN_ID = 987654321098765432
USERS = {"alice": ALICE, "bob": BOB, "dj": DJ, "admin": ADMIN}
ROLES = {"dj": [DJ_ROLE], "admin": [ADMIN_ROLE]}

MEDIA_QUERIES = ["a440", "a660", "long440", "long660", "list:a440,a660", "search:a", "search:long"]
WORDS = ["rock", "nightcore", "8d", "bass", "vaporwave", "flat", "pop", "1:23", "+10", "-15", "0:00", "2",
         "My list", "chill", "off", "on", "queue", "track", "similar", "volume", "timescale"]
HOSTILE_STRINGS = [
    "", " ", "\x00", "\n" * 40, "x" * 6001, "🎵" * 2100, "\u202eevil\u202c", "e\u0301\u0301\u0301" * 50,
    "\u200b", "@everyone", "@here", "<@5001>", "<@&1500>", "<#1001>", "**b** __u__ ~~s~~ ||sp|| `c` ```py\nx```",
    "> quote", "# heading", "[link](https://example.com)", "%s %d {0} {}", "' OR 1=1 --", "../../etc/passwd",
    "file:///etc/passwd", "http://127.0.0.1:1/x", "http://169.254.169.254/latest", "javascript:alert(1)",
    "nan", "inf", "-inf", "1e309", "-1", "99999999999999999999", "1:2:3:4", "-0:01", "+", "-", "::", "1:60",
    "99:99:99", "0x10", "١٢٣", "NaN:NaN",
]
HOSTILE_NUMBERS: list[Any] = [0, -1, -(2**31), 2**31, 2**53 + 1, -(2**63), 2**63, 10**30, 10**400, -(10**400), 1.5,
                              -0.0, 1e-9, 1e308, math.inf, -math.inf, math.nan]
WRONG_TYPES: list[Any] = [None, "abc", "12", "", True, False, [], {}, [1, 2], {"a": 1}, 3.25, 7]


@dataclass
class Case:
    n: int
    label: str
    payload: Payload
    kind: str  # "command" | "autocomplete" | "component" | "malformed"
    forged_type: bool = False  # carries a JSON value of the wrong type for its option (see module docstring)


# ---------------------------------------------------------------------------------------------- values


def resolved_for(kind: T, ident: int) -> Payload:
    if kind in (T.user, T.mentionable) and ident in {int(u["id"]) for u in USERS.values()} | {BOT_ID}:
        usr = next((u for u in USERS.values() if int(u["id"]) == ident), None) or user(BOT_ID, "musicbot", bot=True)
        mem = member(usr, roles={DJ["id"]: [DJ_ROLE], ADMIN["id"]: [ADMIN_ROLE]}.get(usr["id"], []))
        mem.pop("user")
        mem["permissions"] = "0"
        return {"users": {str(ident): usr}, "members": {str(ident): mem}}
    if kind in (T.role, T.mentionable) and ident in (DJ_ROLE, ADMIN_ROLE, GUILD):
        return {"roles": {str(ident): role(ident, {DJ_ROLE: "DJ", ADMIN_ROLE: "Admin"}.get(ident, "@everyone"))}}
    if kind is T.channel and ident in (TEXT, VOICE, VOICE2):
        return {"channels": {str(ident): {"id": str(ident), "name": f"c{ident}", "type": 0 if ident == TEXT else 2,
                                          "permissions": "0", "guild_id": str(GUILD)}}}
    return {}


def plausible_value(rng: random.Random, p: app_commands.Parameter) -> tuple[Any, Payload]:
    """A value Discord could send for ``p`` today, and the ``resolved`` data that comes with it."""
    if p.choices:
        return rng.choice(p.choices).value, {}
    if p.type is T.string:
        text = rng.choice(MEDIA_QUERIES + WORDS + [rng.choice(HOSTILE_STRINGS[6:])])
        low, high = int(p.min_value or 0), int(p.max_value or 6000)
        text = text[:high] if len(text) >= low else text + "x" * (low - len(text))
        return text, {}
    if p.type is T.integer:
        low = int(p.min_value) if p.min_value is not None else -3
        high = int(p.max_value) if p.max_value is not None else 60
        return rng.choice([low, min(high, low + rng.randint(0, 8)), high, rng.randint(low, min(high, low + 60))]), {}
    if p.type is T.number:
        low = float(p.min_value) if p.min_value is not None else -10.0
        high = float(p.max_value) if p.max_value is not None else 10.0
        return rng.choice([low, high, rng.uniform(low, high), round(rng.uniform(low, high), 2)]), {}
    if p.type is T.boolean:
        return rng.random() < 0.5, {}
    if p.type in (T.user, T.mentionable):
        ident = int(rng.choice([*USERS.values(), user(BOT_ID, "b")])["id"])
        return str(ident), resolved_for(p.type, ident)
    if p.type is T.role:
        ident = rng.choice([DJ_ROLE, ADMIN_ROLE, GUILD])
        return str(ident), resolved_for(p.type, ident)
    if p.type is T.channel:
        ident = rng.choice([TEXT, VOICE, VOICE2])
        return str(ident), resolved_for(p.type, ident)
    return None, {}


def hostile_value(rng: random.Random, p: app_commands.Parameter) -> tuple[Any, bool]:
    """A value Discord's own validation would stop (or that only a stale command list lets through).

    Returns (value, forged_type): forged_type when the JSON type does not match the option's type at all.
    """
    if p.type in (T.integer, T.number):
        edges = [v for v in (p.min_value, p.max_value) if v is not None]
        near = [e - 1 for e in edges[:1]] + [e + 1 for e in edges[1:]] + [e - 1e-6 for e in edges[:1]]
        pick = rng.choice([*HOSTILE_NUMBERS, *near, *near, "wrong"])
        if pick == "wrong":
            value = rng.choice(WRONG_TYPES)
            return value, not _json_type_fits(p.type, value)
        # Discord never sends a fraction, ∞ or NaN for an integer option; for a number one, NaN and ∞ can arrive
        # (discord.py turns an empty value into NaN, and JSON's 1e999 parses as ∞).
        return pick, p.type is T.integer and isinstance(pick, float)
    if p.type is T.string:
        if rng.random() < 0.15:
            value = rng.choice(WRONG_TYPES)
            return value, not isinstance(value, str)
        if p.choices and rng.random() < 0.5:
            return rng.choice(["OFF", "none", "all ", "🎵", "", "x" * 200]), False  # not one of the choices
        return rng.choice(HOSTILE_STRINGS), False
    if p.type is T.boolean:
        value = rng.choice([*WRONG_TYPES, "true", 0, 1])
        return value, not isinstance(value, bool)
    if p.type in (T.user, T.role, T.channel, T.mentionable):
        return rng.choice([str(UNKNOWN_ID), str(BOT_ID), "0", "abc", None, 5001, ""]), True
    return rng.choice(WRONG_TYPES), True


def _json_type_fits(kind: T, value: Any) -> bool:
    if kind is T.integer:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is T.number:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return True


def option(p: app_commands.Parameter, value: Any) -> Payload:
    return {"name": p.display_name, "type": p.type.value, "value": value}


# ---------------------------------------------------------------------------------------------- cases


class CaseMaker:
    def __init__(self, world: World, rng: random.Random) -> None:
        self.world = world
        self.rng = rng
        self.n = 0

    def interaction(self, name: str, options: list[Payload], resolved: Payload | None = None,
                    who: str | None = None) -> tuple[str, Payload]:
        who = who or self.rng.choice(list(USERS))
        perms = discord.Permissions.general() | discord.Permissions.voice() | discord.Permissions.text()
        perms.manage_guild = who == "admin"
        perms.administrator = False
        payload = self.world.fake.slash(name, options, guild_id=GUILD, channel_id=TEXT, user=USERS[who],
                                        roles=ROLES.get(who, []), permissions=perms, resolved=resolved or {})
        return who, payload

    def case(self, kind: str, label: str, payload: Payload, forged_type: bool = False) -> Case:
        self.n += 1
        return Case(self.n, label, payload, kind, forged_type)

    def command_cases(self, cmd: app_commands.Command[Any, ..., Any]) -> Iterator[Case]:
        rng = self.rng
        params = cmd.parameters
        for _ in range(PER_COMMAND):
            options: list[Payload] = []
            resolved: Payload = {}
            for p in params:
                if p.required or rng.random() < 0.5:
                    value, res = plausible_value(rng, p)
                    options.append(option(p, value))
                    for key, items in res.items():
                        resolved.setdefault(key, {}).update(items)
            roll = rng.random()
            forged = False
            note = "plausible"
            if roll < 0.35 and params:
                p = rng.choice(params)
                value, forged = hostile_value(rng, p)
                options = [o for o in options if o["name"] != p.display_name] + [option(p, value)]
                note = f"hostile {p.display_name}"
            elif roll < 0.55:
                options, forged, note = self.broken_options(cmd, options)
            rng.shuffle(options)
            who, payload = self.interaction(cmd.qualified_name, options, resolved)
            yield self.case("command", f"/{cmd.qualified_name} [{note}] {_short(options)} as {who}", payload, forged)

    def broken_options(self, cmd: app_commands.Command[Any, ..., Any],
                       options: list[Payload]) -> tuple[list[Payload], bool, str]:
        rng = self.rng
        required = [p for p in cmd.parameters if p.required]
        pick = rng.randrange(6)
        if pick == 0 and required:
            name = rng.choice(required).display_name
            return [o for o in options if o["name"] != name], False, f"missing {name}"
        if pick == 1:
            return [*options, {"name": "bogus", "type": 3, "value": "x"}], False, "unknown option"
        if pick == 2 and options:
            return [*options, dict(rng.choice(options))], False, "duplicate option"
        if pick == 3 and options:
            victim = dict(rng.choice(options))
            victim["type"] = rng.choice([t for t in (3, 4, 5, 6, 10) if t != victim["type"]])
            return [o for o in options if o["name"] != victim["name"]] + [victim], True, "option type lies"
        if pick == 4 and options:
            victim = {k: v for k, v in rng.choice(options).items() if k != "value"}
            return [o for o in options if o["name"] != victim["name"]] + [victim], True, "option without value"
        return [{"name": "extra", "type": 1, "options": options}], False, "unknown subcommand below"

    def autocomplete_cases(self, cmd: app_commands.Command[Any, ..., Any]) -> Iterator[Case]:
        for p in cmd.parameters:
            if not p.autocomplete:
                continue
            for _ in range(max(4, PER_COMMAND // 4)):
                typed = self.rng.choice(MEDIA_QUERIES + WORDS + HOSTILE_STRINGS)
                who = self.rng.choice(list(USERS))
                payload = self.world.fake.autocomplete(
                    cmd.qualified_name, [option(p, typed)], focused=p.display_name, guild_id=GUILD,
                    channel_id=TEXT, user=USERS[who], roles=ROLES.get(who, []))
                yield self.case("autocomplete", f"autocomplete /{cmd.qualified_name} {p.display_name}={typed!r:.60}"
                                f" as {who}", payload)

    def component_cases(self, count: int) -> Iterator[Case]:
        """Clicks and menu choices on the persistent controls (the now-playing panel), on any panel message; and on
        controls no live view takes: a pager or search menu from before a restart, unknown ids, a menu choice sent
        with a button's id (and the reverse)."""
        items = [item for view in self.world.bot.persistent_views for item in view.children
                 if isinstance(item, discord.ui.Button | discord.ui.Select) and item.custom_id]
        if not items:
            return
        stale = ["queue:back", "queue:forward", "search:pick", "np:nope", "someone-else", "x" * 100]
        for _ in range(count):
            who = self.rng.choice(list(USERS))
            messages = [m for m in self.world.fake.messages.values() if m.get("components")]
            message = self.rng.choice(messages) if messages else None
            if message is None:
                message = message_payload(TEXT, content="panel", guild_id=GUILD)
            roll = self.rng.random()
            if roll < 0.3:
                custom_id = self.rng.choice(stale + [str(i.custom_id) for i in items])
                as_menu = self.rng.random() < 0.5
                if as_menu:
                    payload = self.world.fake.select(custom_id, ["1"], guild_id=GUILD, message=message,
                                                     user=USERS[who], roles=ROLES.get(who, []))
                else:
                    payload = self.world.fake.click(custom_id, guild_id=GUILD, message=message, user=USERS[who],
                                                    roles=ROLES.get(who, []))
                yield self.case("component", f"stale/forged {'select' if as_menu else 'click'} {custom_id[:30]} "
                                f"as {who}", payload)
                continue
            item = self.rng.choice(items)
            assert item.custom_id is not None
            if isinstance(item, discord.ui.Select):
                values = [o.value for o in item.options]
                chosen = self.rng.choice([[self.rng.choice(values)] if values else [], ["bogus"], [], ["x" * 200]])
                payload = self.world.fake.select(item.custom_id, chosen, guild_id=GUILD, message=message,
                                                 user=USERS[who], roles=ROLES.get(who, []))
                label = f"select {item.custom_id}={chosen} as {who}"
            else:
                payload = self.world.fake.click(item.custom_id, guild_id=GUILD, message=message, user=USERS[who],
                                                roles=ROLES.get(who, []))
                label = f"click {item.custom_id} as {who}"
            yield self.case("component", label, payload)

    def malformed_cases(self, names: list[str], groups: list[str]) -> Iterator[Case]:
        """Shapes no well-behaved Discord sends; the bot may refuse them, never crash on them."""
        rng = self.rng
        mutations: list[tuple[str, Callable[[Payload], None]]] = [
            ("no data", lambda p: p.pop("data")),
            ("data null", lambda p: p.__setitem__("data", None)),
            ("data {}", lambda p: p.__setitem__("data", {})),
            ("no name", lambda p: p["data"].pop("name")),
            ("name null", lambda p: p["data"].__setitem__("name", None)),
            ("unknown command", lambda p: p["data"].__setitem__("name", rng.choice(["nope", "", "PLAY", "x" * 40]))),
            ("options a string", lambda p: p["data"].__setitem__("options", "query=a440")),
            ("options a dict", lambda p: p["data"].__setitem__("options", {"query": "a440"})),
            ("options null", lambda p: p["data"].__setitem__("options", None)),
            ("options [null]", lambda p: p["data"].__setitem__("options", [None])),
            ("options [1]", lambda p: p["data"].__setitem__("options", [1])),
            ("option without name", lambda p: p["data"].__setitem__("options", [{"type": 3, "value": "x"}])),
            ("option without type", lambda p: p["data"].__setitem__("options", [{"name": "query", "value": "x"}])),
            ("user context menu", lambda p: p["data"].update(type=2, target_id=str(ALICE["id"]))),
            ("message context menu", lambda p: p["data"].update(type=3, target_id="1")),
            ("unknown command type", lambda p: p["data"].update(type=99)),
            ("resolved garbage", lambda p: p["data"].__setitem__("resolved", {"users": {"1": {}}})),
            ("in a DM", _as_dm),
            ("unknown guild", lambda p: p.update(guild_id=str(UNKNOWN_ID))),
            ("no channel", lambda p: (p.pop("channel_id"), p.pop("channel"))),
            ("command_guild_id elsewhere", lambda p: p["data"].__setitem__("guild_id", str(UNKNOWN_ID))),
            ("interaction type 99", lambda p: p.update(type=99)),
        ]
        for _ in range(max(60, PER_COMMAND * 8)):
            label, mutate = rng.choice(mutations)
            base = rng.choice(names + groups)
            _, payload = self.interaction(base, [])
            try:
                mutate(payload)
            except (KeyError, TypeError):
                continue  # the mutation does not apply to this shape
            kind = "malformed"
            yield self.case(kind, f"/{base} [{label}]", payload, forged_type=True)
        for group in groups:  # a group invoked as if it were a command: a stale command list
            _, payload = self.interaction(group, [])
            yield self.case("command", f"/{group} [group without subcommand]", payload)


def _as_dm(p: Payload) -> None:
    usr = p.pop("member")["user"]
    p.pop("guild_id")
    p["user"] = usr
    p["channel"] = {"id": "777", "type": 1, "recipients": [usr]}
    p["channel_id"] = "777"
    p["context"] = 1


def _short(options: list[Payload]) -> str:
    text = json.dumps(options, ensure_ascii=False, default=str)
    return text if len(text) <= 160 else text[:157] + "…"
