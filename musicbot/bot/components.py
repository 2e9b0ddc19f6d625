"""The bot's component custom ids, and an answer for every click no live view will take.

discord.py routes a component interaction to the view that registered its ``(type, custom_id)``
for that message (or to a persistent view) and silently drops the rest: a ``/queue`` pager or a
``/search`` menu from before a restart, one whose view timed out, a control of another bot or
version, or a payload whose component type does not match the id (a menu choice sent with a
button's id). The user then sees "This interaction failed" and no reason. Every custom id the bot
sends starts with one of the prefixes below, so an unrouted one can be answered in words that
say what to do.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord

from musicbot.bot.replies import refuse
from musicbot.i18n import N_, set_locale, tr

log = logging.getLogger(__name__)

PANEL = "np:"  # the now-playing panel (persistent; bot/panel.py)
QUEUE_PAGER = "queue:"  # ◀ ▶ under /queue (cogs/queue.py)
SEARCH_MENU = "search:"  # the menu under /search results (cogs/play.py)
LYRICS_PAGER = "lyrics:"  # ◀ ▶ under /lyrics (cogs/lyrics.py)

EXPIRED = {
    QUEUE_PAGER: N_("This menu has expired: run /queue again."),
    SEARCH_MENU: N_("This menu has expired: run /search again."),
    LYRICS_PAGER: N_("These buttons have expired: run /lyrics again."),
}
WRONG_KIND = N_("That control doesn't work that way. Use the buttons on the latest now-playing message.")
UNKNOWN = N_("That control isn't one of mine (any more). Run the command again for fresh buttons.")

# Answers in flight: the loop keeps only weak references to tasks.
_answering: set[asyncio.Task[None]] = set()


def custom_id(prefix: str, name: str) -> str:
    """The id of one of the bot's controls: ``custom_id(QUEUE_PAGER, "back")`` → ``"queue:back"``."""
    return prefix + name


def unrouted_message(custom: str) -> str:
    """What to tell a user whose click on ``custom`` no live view takes (English; ``tr()`` translates it)."""
    for prefix, message in EXPIRED.items():
        if custom.startswith(prefix):
            return message
    return WRONG_KIND if custom.startswith(PANEL) else UNKNOWN


def is_routed(interaction: discord.Interaction[Any]) -> bool:
    """Whether discord.py's view store has a live control for this component interaction.

    Reads the store's table the way ``ViewStore.dispatch_view`` does (discord.py has no public
    lookup); called right after that dispatch, before any view callback ran, so a view that stops
    itself in its callback is still counted as the one that answers.
    """
    data: Any = interaction.data
    store: Any = getattr(interaction._state, "_view_store", None)
    if store is None or not isinstance(data, dict):
        return True  # not something this module can judge: leave it to discord.py
    key: tuple[Any, Any] = (data.get("component_type"), data.get("custom_id"))
    message_id = interaction.message.id if interaction.message is not None else None
    views: dict[int | None, dict[tuple[Any, Any], Any]] = store._views
    for entity in (message_id, None):
        item = views.get(entity, {}).get(key)
        if item is not None and item.view is not None and not item.view.is_finished():
            return True
    return any(pattern.fullmatch(str(key[1])) for pattern in store._dynamic_items)


def answer_if_unrouted(interaction: discord.Interaction[Any]) -> None:
    """Event loop, synchronously at dispatch: an ephemeral answer for a click no live view takes."""
    if interaction.type is not discord.InteractionType.component or is_routed(interaction):
        return
    data: Any = interaction.data
    custom = str(data.get("custom_id", "")) if isinstance(data, dict) else ""
    task = asyncio.get_running_loop().create_task(_answer(interaction, unrouted_message(custom)))
    _answering.add(task)
    task.add_done_callback(_answering.discard)


async def _answer(interaction: discord.Interaction[Any], message: str) -> None:
    set_locale(interaction.locale)
    try:
        await refuse(interaction, tr(message))
    except discord.HTTPException:
        log.warning("could not answer a click on an expired or unknown control", exc_info=True)
