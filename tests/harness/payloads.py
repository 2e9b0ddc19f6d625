"""Gateway/REST payload builders for the offline Discord harness (discord.py 2.7.1 shapes).

Everything returns plain ``dict`` payloads exactly as Discord would send them (snowflakes as strings),
so they can be fed to discord.py's real parsers (``ConnectionState.parse_*``, ``discord.Interaction``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import discord

Payload = dict[str, Any]

BOT_ID = 900000000000000001
APP_ID = BOT_ID
OWNER_ID = 900000000000000002
TS = "2026-01-01T00:00:00.000000+00:00"

_ids = itertools.count(1300000000000000000)


def next_snowflake() -> str:
    """A fresh, process-unique snowflake (as a string, like Discord sends it)."""
    return str(next(_ids))


def _perm_str(value: discord.Permissions | int) -> str:
    return str(value.value if isinstance(value, discord.Permissions) else int(value))


# ---------------------------------------------------------------------------------------------- users/roles


def user(user_id: int, name: str, *, bot: bool = False, global_name: str | None = None) -> Payload:
    """A USER object."""
    return {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "global_name": global_name,
        "avatar": None,
        "bot": bot,
        "flags": 0,
    }


BOT_USER: Payload = user(BOT_ID, "musicbot", bot=True)
OWNER_USER: Payload = user(OWNER_ID, "owner", global_name="Owner")

APP_INFO: Payload = {
    "id": str(APP_ID),
    "name": "musicbot",
    "description": "",
    "icon": None,
    "rpc_origins": [],
    "bot_public": True,
    "bot_require_code_grant": False,
    "owner": OWNER_USER,
    "team": None,
    "verify_key": "00" * 32,
    "flags": 0,
    "summary": "",
}


def role(
    role_id: int,
    name: str,
    *,
    permissions: discord.Permissions | int = 0,
    position: int = 1,
    color: int = 0,
    managed: bool = False,
) -> Payload:
    """A ROLE object. The ``@everyone`` role has the guild's id."""
    return {
        "id": str(role_id),
        "name": name,
        "permissions": _perm_str(permissions),
        "position": position,
        "color": color,
        "hoist": False,
        "managed": managed,
        "mentionable": False,
        "flags": 0,
    }


def member(
    usr: Payload,
    *,
    roles: Iterable[int] = (),
    nick: str | None = None,
    permissions: discord.Permissions | int | None = None,
) -> Payload:
    """A guild MEMBER object. ``permissions`` is only present in interaction payloads (resolved perms)."""
    out: Payload = {
        "user": usr,
        "roles": [str(r) for r in roles],
        "nick": nick,
        "joined_at": TS,
        "deaf": False,
        "mute": False,
        "flags": 0,
    }
    if permissions is not None:
        out["permissions"] = _perm_str(permissions)
    return out


def _as_member(m: Payload) -> Payload:
    return m if "user" in m else member(m)


# ---------------------------------------------------------------------------------------------- guild


def channel(
    channel_id: int,
    *,
    guild_id: int,
    kind: int = 0,
    name: str = "general",
    position: int = 0,
    overwrites: Sequence[Payload] = (),
    user_limit: int = 0,
) -> Payload:
    """A guild CHANNEL object (``kind`` 0 = text, 2 = voice, 13 = stage)."""
    return {
        "id": str(channel_id),
        "type": kind,
        "name": name,
        "position": position,
        "guild_id": str(guild_id),
        "permission_overwrites": list(overwrites),
        "bitrate": 64000,
        "user_limit": user_limit,
        "nsfw": False,
        "rate_limit_per_user": 0,
        "parent_id": None,
    }


def _ids_of(value: int | Sequence[int]) -> list[int]:
    return [value] if isinstance(value, int) else list(value)


def guild_payload(
    guild_id: int,
    *,
    text_id: int | Sequence[int],
    voice_id: int | Sequence[int],
    members: Sequence[Payload] = (),
    roles: Sequence[Payload] = (),
    name: str = "Test Guild",
    owner_id: int = OWNER_ID,
    everyone_permissions: discord.Permissions | int | None = None,
    include_bot: bool = True,
    extra_channels: Sequence[Payload] = (),
) -> Payload:
    """A GUILD_CREATE payload: text channel(s) ``general``/``general-2``…, voice channel(s) ``Music``/``Music 2``….

    ``members`` are USER payloads (plain member with no roles) or MEMBER payloads (``member(user, roles=...)``).
    The bot user is added automatically (``include_bot``). ``@everyone`` (id == guild id) gets
    ``everyone_permissions`` (default: ``Permissions.all()``). Note ``owner_id`` (default ``OWNER_ID``) bypasses
    every permission check: use another user to test permission denials.
    """
    everyone = role(
        guild_id,
        "@everyone",
        permissions=discord.Permissions.all() if everyone_permissions is None else everyone_permissions,
        position=0,
    )
    channels: list[Payload] = []
    for i, cid in enumerate(_ids_of(text_id)):
        name_ = "general" if i == 0 else f"general-{i + 1}"
        channels.append(channel(cid, guild_id=guild_id, kind=0, name=name_, position=i))
    for i, cid in enumerate(_ids_of(voice_id)):
        name_ = "Music" if i == 0 else f"Music {i + 1}"
        channels.append(channel(cid, guild_id=guild_id, kind=2, name=name_, position=i))
    channels.extend(extra_channels)
    mems = [_as_member(m) for m in members]
    if include_bot and not any(m["user"]["id"] == str(BOT_ID) for m in mems):
        mems.insert(0, member(BOT_USER))
    return {
        "id": str(guild_id),
        "name": name,
        "icon": None,
        "owner_id": str(owner_id),
        "features": [],
        "roles": [everyone, *roles],
        "emojis": [],
        "stickers": [],
        "channels": channels,
        "threads": [],
        "members": mems,
        "voice_states": [],
        "presences": [],
        "member_count": len(mems),
        "large": False,
        "unavailable": False,
        "premium_tier": 0,
        "mfa_level": 0,
        "verification_level": 0,
        "explicit_content_filter": 0,
        "default_message_notifications": 0,
        "system_channel_flags": 0,
        "preferred_locale": "en-US",
    }


def member_voice_state(
    guild_id: int,
    channel_id: int | None,
    usr: Payload,
    *,
    roles: Iterable[int] = (),
    session_id: str | None = None,
    self_mute: bool = False,
    self_deaf: bool = False,
    mute: bool = False,
    deaf: bool = False,
    suppress: bool = False,
) -> Payload:
    """A VOICE_STATE_UPDATE payload for ``usr`` (USER or MEMBER payload); ``channel_id=None`` means 'left voice'."""
    mem = _as_member(usr) if "user" in usr or not roles else member(usr, roles=roles)
    return {
        "guild_id": str(guild_id),
        "channel_id": None if channel_id is None else str(channel_id),
        "user_id": mem["user"]["id"],
        "session_id": session_id or f"session-{mem['user']['id']}",
        "deaf": deaf,
        "mute": mute,
        "self_deaf": self_deaf,
        "self_mute": self_mute,
        "self_video": False,
        "self_stream": False,
        "suppress": suppress,
        "request_to_speak_timestamp": None,
        "member": mem,
    }


def message_payload(
    channel_id: int | str,
    *,
    content: str = "",
    embeds: Sequence[Payload] = (),
    components: Sequence[Payload] = (),
    author: Payload = BOT_USER,
    message_id: str | None = None,
    flags: int = 0,
    guild_id: int | str | None = None,
) -> Payload:
    """A MESSAGE object."""
    out: Payload = {
        "id": message_id or next_snowflake(),
        "channel_id": str(channel_id),
        "author": author,
        "content": content,
        "timestamp": TS,
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": list(embeds),
        "pinned": False,
        "type": 0,
        "flags": flags,
        "components": list(components),
    }
    if guild_id is not None:
        out["guild_id"] = str(guild_id)
    return out


# ---------------------------------------------------------------------------------------------- interactions

# ApplicationCommandOptionType
OPT_SUB_COMMAND = 1
OPT_SUB_COMMAND_GROUP = 2
OPT_STRING = 3
OPT_INTEGER = 4
OPT_BOOLEAN = 5
OPT_USER = 6
OPT_CHANNEL = 7
OPT_ROLE = 8
OPT_NUMBER = 10


def option(name: str, value: Any, *, type: int | None = None, focused: bool = False) -> Payload:
    """One command option; the type is inferred (bool→5, int→4, float→10, else str→3) unless given.

    For user/channel/role options pass ``type=OPT_USER`` etc., the id as ``value`` and a ``resolved`` mapping
    to the interaction builder.
    """
    if type is None:
        if isinstance(value, bool):
            type = OPT_BOOLEAN
        elif isinstance(value, int):
            type = OPT_INTEGER
        elif isinstance(value, float):
            type = OPT_NUMBER
        else:
            type = OPT_STRING
    out: Payload = {"name": name, "type": type, "value": value}
    if focused:
        out["focused"] = True
    return out


Options = Mapping[str, Any] | Sequence[Payload] | None


def _options(options: Options, focused: str | None = None) -> list[Payload]:
    if options is None:
        return []
    if isinstance(options, Mapping):
        out = []
        for k, v in options.items():
            if isinstance(v, dict) and "type" in v:
                out.append({"name": k, **v})
            else:
                out.append(option(k, v))
    else:
        out = [dict(o) for o in options]
    if focused is not None:
        for o in out:
            if o["name"] == focused:
                o["focused"] = True
                break
        else:
            raise KeyError(f"focused option {focused!r} not among the options")
    return out


def _command_data(
    name: str,
    options: Options,
    *,
    focused: str | None,
    command_guild_id: int | None,
    resolved: Payload | None,
    command_id: str | None,
) -> Payload:
    """``'play'`` → command; ``'playlist add'`` → subcommand; ``'admin playlist add'`` → group + subcommand."""
    parts = name.split()
    if not 1 <= len(parts) <= 3:
        raise ValueError(f"bad command name {name!r}")
    opts = _options(options, focused)
    if len(parts) >= 2:
        opts = [{"name": parts[-1], "type": OPT_SUB_COMMAND, "options": opts}]
    if len(parts) == 3:
        opts = [{"name": parts[1], "type": OPT_SUB_COMMAND_GROUP, "options": opts}]
    data: Payload = {
        "id": command_id or next_snowflake(),
        "name": parts[0],
        "type": 1,
        "options": opts,
        "resolved": resolved or {},
    }
    if command_guild_id is not None:
        data["guild_id"] = str(command_guild_id)
    return data


def _interaction_base(
    itype: int,
    *,
    guild_id: int,
    channel_id: int,
    usr: Payload,
    roles: Iterable[int],
    permissions: discord.Permissions | int | None,
    app_permissions: discord.Permissions | int | None,
    locale: str,
    channel_type: int = 0,
) -> Payload:
    mem = member(usr, roles=roles, permissions=discord.Permissions.all() if permissions is None else permissions)
    return {
        "id": next_snowflake(),
        "application_id": str(APP_ID),
        "type": itype,
        "token": "tok-" + next_snowflake(),
        "version": 1,
        "guild_id": str(guild_id),
        "channel_id": str(channel_id),
        "channel": {
            "id": str(channel_id),
            "type": channel_type,
            "guild_id": str(guild_id),
            "name": "general",
            "position": 0,
            "permission_overwrites": [],
        },
        "member": mem,
        "app_permissions": _perm_str(discord.Permissions.all() if app_permissions is None else app_permissions),
        "locale": locale,
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(guild_id)},
        "context": 0,
        "attachment_size_limit": 10 * 1024 * 1024,
    }


def slash_payload(
    name: str,
    options: Options = None,
    *,
    guild_id: int,
    channel_id: int,
    user: Payload = OWNER_USER,
    roles: Iterable[int] = (),
    permissions: discord.Permissions | int | None = None,
    app_permissions: discord.Permissions | int | None = None,
    resolved: Payload | None = None,
    command_guild_id: int | None = None,
    locale: str = "en-US",
) -> Payload:
    """INTERACTION_CREATE type 2 (slash command).

    ``name`` may contain a subcommand (``'queue remove'``) or group + subcommand (``'dj role set'``).
    ``options``: mapping name→value (type inferred, see :func:`option`) or a list of raw option dicts.
    ``permissions`` are the invoking member's resolved permissions (default: all) and ``roles`` its role ids;
    ``command_guild_id`` marks a guild-registered command (``data.guild_id``).
    """
    p = _interaction_base(
        2,
        guild_id=guild_id,
        channel_id=channel_id,
        usr=user,
        roles=roles,
        permissions=permissions,
        app_permissions=app_permissions,
        locale=locale,
    )
    p["data"] = _command_data(
        name, options, focused=None, command_guild_id=command_guild_id, resolved=resolved, command_id=None
    )
    return p


def autocomplete_payload(
    name: str,
    options: Options,
    *,
    focused: str,
    guild_id: int,
    channel_id: int,
    user: Payload = OWNER_USER,
    roles: Iterable[int] = (),
    permissions: discord.Permissions | int | None = None,
    command_guild_id: int | None = None,
    locale: str = "en-US",
) -> Payload:
    """INTERACTION_CREATE type 4 (autocomplete); ``focused`` names the option being typed (its partial value)."""
    p = _interaction_base(
        4,
        guild_id=guild_id,
        channel_id=channel_id,
        usr=user,
        roles=roles,
        permissions=permissions,
        app_permissions=None,
        locale=locale,
    )
    p["data"] = _command_data(
        name, options, focused=focused, command_guild_id=command_guild_id, resolved=None, command_id=None
    )
    return p


def component_payload(
    custom_id: str,
    *,
    message: Payload,
    guild_id: int,
    channel_id: int | None = None,
    component_type: int = 2,
    values: Sequence[str] | None = None,
    user: Payload = OWNER_USER,
    roles: Iterable[int] = (),
    permissions: discord.Permissions | int | None = None,
    locale: str = "en-US",
) -> Payload:
    """INTERACTION_CREATE type 3: a button click (``component_type=2``) or string-select choice (3, ``values``).

    ``message`` is the MESSAGE the component is attached to; its id must be the one discord.py stored the
    view under (the fake's recorded message, see ``FakeDiscord.messages``), unless the view is persistent.
    """
    cid = int(message["channel_id"]) if channel_id is None else channel_id
    p = _interaction_base(
        3,
        guild_id=guild_id,
        channel_id=cid,
        usr=user,
        roles=roles,
        permissions=permissions,
        app_permissions=None,
        locale=locale,
    )
    data: Payload = {"custom_id": custom_id, "component_type": component_type}
    if component_type != 2:
        data["values"] = list(values or [])
    p["data"] = data
    p["message"] = message
    return p


def modal_submit_payload(
    custom_id: str,
    values: Mapping[str, str],
    *,
    guild_id: int,
    channel_id: int,
    user: Payload = OWNER_USER,
    roles: Iterable[int] = (),
    permissions: discord.Permissions | int | None = None,
    message: Payload | None = None,
) -> Payload:
    """INTERACTION_CREATE type 5: a modal submitted with ``values`` (text input custom_id → value)."""
    p = _interaction_base(
        5,
        guild_id=guild_id,
        channel_id=channel_id,
        usr=user,
        roles=roles,
        permissions=permissions,
        app_permissions=None,
        locale="en-US",
    )
    p["data"] = {
        "custom_id": custom_id,
        "components": [{"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]} for k, v in values.items()],
    }
    if message is not None:
        p["message"] = message
    return p
