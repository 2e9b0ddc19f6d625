"""``musicbot doctor``'s checks that go over the network: the database and Discord (event loop)."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from musicbot.doctor import CheckResult, fail, ok, warn
from musicbot.errors import ConfigError

DISCORD_API = "https://discord.com/api/v10"  # what discord.py uses when DISCORD_API_BASE is not set
DISCORD_TIMEOUT_S = 5.0  # long enough for a slow link or a proxy, short enough not to look hung
UPGRADE = "run `musicbot db upgrade`"


async def check_database(url: str) -> CheckResult:
    """The database at ``url`` answers and its schema is at this version's newest revision.
    A SQLite file that does not exist yet is reported, not created."""
    from musicbot.storage import StorageError, StorageUnavailableError, current_revision, head_revision
    from musicbot.storage.engine import is_sqlite_memory, parse_url, redact

    try:
        parsed = parse_url(url)
    except ConfigError as err:
        return fail("database", str(err), "correct DATABASE_URL")
    where = redact(parsed)
    if parsed.get_backend_name() == "sqlite" and not is_sqlite_memory(parsed):
        file = Path(str(parsed.database)).expanduser().absolute()
        if not file.is_file():  # connecting would create an empty one
            return fail("database", f"{where}: no database file at {file} yet", UPGRADE)
    try:
        revision = await current_revision(url)
    except StorageUnavailableError as err:  # its message ends in advice; the fix says it once
        return fail("database", f"cannot reach the database at {err.detail}",
                    "check DATABASE_URL and that the server is up and reachable from here")
    except StorageError as err:
        return fail("database", str(err), "check DATABASE_URL, and that this user may connect to that database")
    head = head_revision()
    if revision is None:
        return fail("database", f"{where}: reachable but empty (no schema)", UPGRADE)
    if revision != head:
        return fail("database", f"{where}: schema at revision {revision}, this musicbot's newest is {head}",
                    f"{UPGRADE} (if the database was migrated by a newer musicbot, upgrade musicbot instead)")
    return ok("database", f"{where}: reachable, schema at revision {head} (newest)")


async def check_discord(token: str | None, api_base: str | None, *,
                        timeout_s: float = DISCORD_TIMEOUT_S) -> CheckResult:
    """Discord's REST API answers and accepts the token: ``GET /users/@me``, which is how
    discord.py logs in. Proxies from ``HTTPS_PROXY`` apply."""
    base = (api_base or DISCORD_API).rstrip("/")
    if not token:
        return warn("discord", "DISCORD_TOKEN is not set: the token and the connection were not checked",
                    "set DISCORD_TOKEN (`musicbot run` needs it): https://discord.com/developers/applications "
                    "→ your application → Bot → Reset Token")
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s), trust_env=True) as http,
            http.get(f"{base}/users/@me", headers={"Authorization": f"Bot {token}"}) as response,
        ):
            status, reason = response.status, response.reason or ""
            user = await response.json(content_type=None) if status == 200 else None
    except TimeoutError:
        return fail("discord", f"no answer from Discord at {base} within {timeout_s:g} s", _UNREACHABLE_FIX)
    except aiohttp.ClientError as err:
        return fail("discord", f"cannot reach Discord at {base}: {err}", _UNREACHABLE_FIX)
    except ValueError as err:  # a token with a newline, or an answer that is not JSON
        return fail("discord", f"the request to {base} failed: {err}", "copy the token again, without spaces "
                    "or line breaks; check DISCORD_API_BASE if set")
    if status == 401:
        return fail("discord", f"Discord at {base} rejected the token (401 {reason})",
                    "copy a fresh token from https://discord.com/developers/applications → your application → "
                    "Bot → Reset Token, and set DISCORD_TOKEN to it (without a `Bot ` prefix)")
    if status != 200 or not isinstance(user, dict):
        return fail("discord", f"Discord at {base} answered {status} {reason} to GET /users/@me",
                    "try again in a minute; if it persists see https://discordstatus.com, or check DISCORD_API_BASE")
    return ok("discord", f"token accepted: {user.get('username', '?')} (id {user.get('id', '?')}) at {base}")


_UNREACHABLE_FIX = ("check the network, DNS and firewall; behind a proxy set HTTPS_PROXY; "
                    "if DISCORD_API_BASE is set, check that address")


async def check_redis(url: str, prefix: str, *, timeout_s: float = DISCORD_TIMEOUT_S) -> CheckResult:
    """Redis at ``REDIS_URL`` answers, and which of the bot's processes it hears from now (their
    heartbeat keys under ``prefix``: a process that stopped is gone from here within seconds)."""
    import msgspec
    import redis.asyncio

    from musicbot.cluster.messages import NodeInfo
    from musicbot.cluster.redis_transport import redacted
    from musicbot.cluster.transport import Keys

    where = redacted(url)
    client = redis.asyncio.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
    try:
        await client.ping()
        keys = Keys(prefix)
        nodes = []
        for node_id in await client.smembers(keys.nodes):  # type: ignore[misc, unused-ignore]  # redis-py's sync/async union
            name = node_id.decode(errors="replace") if isinstance(node_id, bytes) else str(node_id)
            raw = await client.get(keys.node(name))
            if raw is not None:
                try:
                    nodes.append(msgspec.json.decode(raw, type=NodeInfo))
                except msgspec.DecodeError:
                    continue
    except (OSError, redis.RedisError) as err:
        return fail("redis", f"cannot reach Redis at {where}: {err}",
                    "check REDIS_URL and that Redis is up and reachable from here")
    finally:
        await client.aclose()
    shards = sorted({shard for node in nodes if node.role == "bot" for shard in node.shard_ids})
    webs = sum(node.role == "web" for node in nodes)
    running = (f"{len(nodes) - webs} bot process(es) running shards {shards or 'none'}, {webs} web process(es)"
               if nodes else "no musicbot process is running on it now")
    return ok("redis", f"{where}: reachable; {running} (prefix {prefix})")
