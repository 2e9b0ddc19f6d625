"""``musicbot sync``: register the slash commands with Discord, or print what would be registered.

Discord only shows commands an application has registered (a bulk overwrite: ``PUT
/applications/{id}/commands``, or ``.../guilds/{gid}/commands`` for one guild, where changes show at once).
The payload is exactly what discord.py's ``CommandTree.sync`` sends; building it needs no network, so
``--dry-run`` works without a token.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import discord
from discord import app_commands

from musicbot.bot.client import MusicBotClient
from musicbot.config import Config
from musicbot.errors import ConfigError, MusicBotError

log = logging.getLogger(__name__)


class SyncError(MusicBotError):
    """Discord refused the registration, or could not be reached."""


class _SyncClient(MusicBotClient):
    """The bot as far as registering commands needs: no database, no sources, no endpoints, no gateway."""

    async def setup_hook(self) -> None:
        await self.install_commands()


async def command_payload(bot: MusicBotClient, guild_id: int | None = None) -> list[dict[str, Any]]:
    """The JSON list ``tree.sync(guild=...)`` would PUT: global commands, or (with ``guild_id``) the global ones
    copied to that guild, as ``musicbot sync --guild`` registers them."""
    await bot.install_commands()
    tree = bot.tree
    guild = None if guild_id is None else discord.Object(guild_id)
    if guild is not None:
        tree.copy_global_to(guild=guild)
    commands = tree.get_commands(guild=guild)
    translator = tree.translator
    if translator is not None:  # sync sends the translated payload when a translator is set
        return [await c.get_translated_payload(tree, translator) for c in commands]
    return [c.to_dict(tree) for c in commands]


async def dry_run(config: Config, guild_id: int | None = None) -> list[dict[str, Any]]:
    """The payload, built offline (the client opens no connection before ``login``)."""
    return await command_payload(_SyncClient(config), guild_id)


async def sync(config: Config, guild_id: int | None = None) -> list[app_commands.AppCommand]:
    """Log in with ``DISCORD_TOKEN`` and overwrite the registered commands; returns what Discord now has."""
    token = config.require_token()
    from musicbot.bot.proxies import apply_proxies

    bot = _SyncClient(config)
    apply_proxies(bot, config)  # the same REST base, outbound proxy and CA file as `musicbot run`
    try:
        await bot.login(token)  # sets the application id; setup_hook installs the commands
        guild = None if guild_id is None else discord.Object(guild_id)
        if guild is not None:
            bot.tree.copy_global_to(guild=guild)
        return await bot.tree.sync(guild=guild)
    except discord.LoginFailure:
        raise ConfigError("DISCORD_TOKEN was refused by Discord: copy the bot's token again from "
                          "https://discord.com/developers/applications") from None
    except discord.Forbidden:
        where = f"in guild {guild_id}: invite the bot there" if guild_id else ": check the bot's application"
        raise SyncError(f"Discord refused the commands {where} with the applications.commands scope") from None
    except discord.HTTPException as err:
        raise SyncError(f"Discord refused the commands: {err}") from None
    except (aiohttp.ClientError, OSError) as err:
        raise SyncError(f"cannot reach Discord ({discord.http.Route.BASE}): {err}") from None
    finally:
        await bot.close()


SYNC_STAMP = "commands.sha256"


async def sync_if_changed(bot: MusicBotClient) -> bool:
    """At start-up: register the commands when they differ from what this data folder last registered.

    Discord rate-limits command registration and a global overwrite takes a while to reach every
    client, so the bot does it only when the payload changed (a hash kept beside the database),
    and ``musicbot sync`` stays available to force it. Returns True when it registered.
    """
    import hashlib
    import json

    guild_id = bot.config.dev_guild
    payload = await command_payload(bot, guild_id)
    digest = hashlib.sha256(json.dumps([guild_id, payload], sort_keys=True).encode()).hexdigest()
    stamp = bot.config.data_dir / SYNC_STAMP
    if stamp.exists() and stamp.read_text().strip() == digest:
        return False
    try:
        await bot.tree.sync(guild=None if guild_id is None else discord.Object(guild_id))
    except discord.HTTPException as err:
        # The bot still works with the commands Discord already has; the next start tries again.
        log.warning("could not register the slash commands (%s); run `musicbot sync` to retry", err)
        return False
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest + "\n")
    log.info("registered %d slash commands %s", len(payload), f"in guild {guild_id}" if guild_id else "globally")
    return True
