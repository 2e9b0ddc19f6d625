"""Rate limits as users meet them: the production table, through the real command tree."""

from __future__ import annotations

from musicbot.bot.ratelimit import COMMAND_RATES, USER_RATE, Rate, RateLimiter
from tests.bot.answers import command
from tests.bot.world import ADMIN, ALICE, World

ADMIN_ROLE = 1501


async def test_the_settings_limit_covers_every_settings_subcommand(world: World) -> None:
    # The production per-command table, with a loose overall limit so only /settings' own one can refuse.
    world.bot.tree.rate_limiter = RateLimiter(Rate(1000, USER_RATE.per_s), COMMAND_RATES)
    allowed = COMMAND_RATES["settings"].count
    names = ["volume", "stay", "show", "volume", "crossfade"]
    options = {"volume": {"percent": 50}, "stay": {"enabled": True}, "show": {}, "crossfade": {"seconds": 1.0}}
    answers = [await command(world, f"settings {names[i % len(names)]}", options[names[i % len(names)]],
                             user=ADMIN, roles=[ADMIN_ROLE]) for i in range(allowed + 1)]
    assert all("too fast" not in a.content for a in answers[:allowed])
    assert "too fast" in answers[allowed].content and answers[allowed].ephemeral
    # Another user, and another command of the same user, are not held back by it.
    assert "too fast" not in (await command(world, "me show", user=ALICE)).content
    assert "too fast" not in (await command(world, "me show", user=ADMIN, roles=[ADMIN_ROLE])).content


def test_a_limit_named_by_a_group_applies_to_its_subcommands_and_one_named_fully_to_that_one_only() -> None:
    limiter = RateLimiter(Rate(100, 10.0), {"playlist": Rate(1, 10.0), "queue": Rate(1, 10.0)})
    assert limiter.retry_after(1, "playlist save") == 0.0
    assert limiter.retry_after(1, "playlist load") > 0  # the group's bucket is shared
    assert limiter.retry_after(1, "queue") == 0.0
    assert limiter.retry_after(1, "queue") > 0
    assert limiter.retry_after(1, "queuex") == 0.0  # a name that only starts like one is not in it
