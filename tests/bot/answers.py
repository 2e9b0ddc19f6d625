"""How a test reads what the user saw: run a command as someone, get the answer (callback type, content,
ephemeral flag, embeds, the error that reached the tree), and the common checks on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from musicbot.bot.tree import UNEXPECTED
from musicbot.session import GuildSession
from tests.bot.world import ADMIN, ALICE, DJ, DJ_ROLE, GUILD, TEXT, World
from tests.harness import invoke
from tests.harness.payloads import Payload

ROLES = {DJ["id"]: [DJ_ROLE]}
ADMIN_ID = int(ADMIN["id"])


@dataclass
class Answer:
    type: int  # 4: answered at once, 5: deferred then a followup
    content: str
    ephemeral: bool
    embeds: list[dict[str, Any]]
    error: BaseException | None  # what reached the tree's on_error (refusals do), None on success


async def command(world: World, name: str, options: dict[str, Any] | None = None, *, user: Payload = ALICE,
                  roles: list[int] | None = None, resolved: Payload | None = None) -> Answer:
    """Run ``/name`` as ``user`` and return the answer they see (``resolved``: users, roles, channels named)."""
    payload = world.fake.slash(name, options, guild_id=GUILD, channel_id=TEXT, user=user,
                               roles=ROLES.get(user["id"], []) if roles is None else roles, resolved=resolved)
    error = await invoke(world.bot, payload)
    [first, *_] = world.fake.callbacks(payload)
    data = first["data"] if first["type"] == 4 else world.fake.followups(payload)[-1].json
    answer = Answer(first["type"], data.get("content") or "", bool((data.get("flags") or 0) & 64),
                    data.get("embeds") or [], error)
    assert UNEXPECTED not in answer.content, error  # a bug, not a refusal
    return answer


async def suggestions(world: World, name: str, options: dict[str, Any], focused: str,
                      user: Payload = ALICE) -> list[dict[str, Any]]:
    payload = world.fake.autocomplete(name, options, focused=focused, guild_id=GUILD, channel_id=TEXT, user=user)
    assert await invoke(world.bot, payload) is None
    [callback] = world.fake.callbacks(payload)
    assert callback["type"] == 8
    choices: list[dict[str, Any]] = callback["data"]["choices"]
    return choices


def refused(answer: Answer, text: str) -> bool:
    return answer.ephemeral and answer.content.startswith("⚠️") and text in answer.content and answer.error is not None


def ok(answer: Answer, text: str) -> bool:
    """A public success; answered at once (4) or, by a command that waited on storage, deferred first (5)."""
    return answer.type in (4, 5) and not answer.ephemeral and text in answer.content and answer.error is None


async def playing(world: World, query: str = "long440", user: Payload = ALICE) -> GuildSession:
    await world.join(user)
    answer = await command(world, "play", {"query": query}, user=user)
    assert answer.error is None, answer.content
    session = world.bot.sessions.get(GUILD)
    assert session is not None and session.queue.current is not None
    return session
