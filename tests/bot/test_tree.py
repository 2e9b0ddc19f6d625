"""Forged and stale command payloads: each gets one clear answer; none reaches a command, raises or shows a repr."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest

from musicbot.bot.tree import UNEXPECTED
from tests.bot.world import ADMIN, ALICE, GUILD, TEXT, World
from tests.harness.payloads import Payload

ADMIN_ROLE = 1501


async def answer_to(world: World, payload: Payload) -> str:
    """Deliver through the gateway's entry point, await what it spawned; the one answer's text (raises on more)."""
    world.fake.register_interaction(payload)
    before = asyncio.all_tasks()
    world.bot._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
    spawned = asyncio.all_tasks() - before
    done, _ = await asyncio.wait(spawned, timeout=10)
    errors = [t.exception() for t in done if not t.cancelled() and t.exception() is not None]
    assert not errors, errors
    [callback] = world.fake.callbacks(payload)
    content: str = callback["data"]["content"]
    assert callback["data"]["flags"] & 64 and UNEXPECTED not in content and "<" not in content, content
    return content


def slash(world: World, name: str, options: list[dict[str, Any]], *, who: Payload = ALICE,
          roles: list[int] | None = None, resolved: Payload | None = None) -> Payload:
    return world.fake.slash(name, options, guild_id=GUILD, channel_id=TEXT, user=who, roles=roles or [],
                            resolved=resolved or {})


def mutate(world: World, change: Callable[[Payload], None]) -> Payload:
    payload = slash(world, "volume", [{"name": "percent", "type": 4, "value": 50}])
    change(payload)
    return payload


@pytest.fixture
def errors_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    caplog.set_level(logging.ERROR)
    return caplog.records


async def test_an_option_whose_type_disagrees_with_the_declaration_never_reaches_the_command(
        world: World, errors_logged: list[logging.LogRecord]) -> None:
    # /volume declares an integer; the payload says "user" (a stale command list or a forged request).
    text = await answer_to(world, slash(world, "volume", [{"name": "percent", "type": 6, "value": "5001"}],
                                        resolved={"users": {"5001": ALICE}}))
    assert "is not a valid percent" in text
    assert not errors_logged


async def test_an_unknown_channel_is_named_in_words(world: World, errors_logged: list[logging.LogRecord]) -> None:
    text = await answer_to(world, slash(world, "settings announce",
                                        [{"name": "channel", "type": 7, "value": "987654321098765432"}],
                                        who=ADMIN, roles=[ADMIN_ROLE]))
    assert "That channel is unknown here" in text and "Object" not in text
    assert not errors_logged


@pytest.mark.parametrize("value", [10**400, -(10**400), 2**53 + 1])
async def test_a_number_beyond_discords_range_gets_an_answer(world: World, value: int,
                                                             errors_logged: list[logging.LogRecord]) -> None:
    text = await answer_to(world, slash(world, "volume", [{"name": "percent", "type": 4, "value": value}]))
    assert "percent must be a number between" in text
    text = await answer_to(world, slash(world, "settings normalization",
                                        [{"name": "enabled", "type": 5, "value": True},
                                         {"name": "target_lufs", "type": 10, "value": value}],
                                        who=ADMIN, roles=[ADMIN_ROLE]))
    assert "target_lufs must be a number between" in text
    assert not errors_logged


@pytest.mark.parametrize(("label", "change"), [
    ("options a dict", lambda p: p["data"].__setitem__("options", {"percent": 50})),
    ("options [null]", lambda p: p["data"].__setitem__("options", [None])),
    ("option without a type", lambda p: p["data"]["options"][0].pop("type")),
    ("option without a value", lambda p: p["data"]["options"][0].pop("value")),
    ("no name", lambda p: p["data"].pop("name")),
    ("resolved garbage", lambda p: p["data"].__setitem__("resolved", {"users": {"1": 5}})),
    ("a context menu of a slash command's name", lambda p: p["data"].update(type=2, target_id="5001")),
    ("a group without its subcommand", lambda p: p["data"].update(name="settings", options=[])),
])
async def test_garbled_payloads_raise_nothing_and_are_answered(
        world: World, label: str, change: Callable[[Payload], None], errors_logged: list[logging.LogRecord]) -> None:
    text = await answer_to(world, mutate(world, change))
    assert "try again in a minute" in text, label
    assert not errors_logged
