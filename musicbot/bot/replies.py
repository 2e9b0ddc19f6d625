"""Answering interactions: right whether or not the interaction was deferred, never pinging.

Discord gives 3 s for the first answer; commands that may take longer call ``defer`` first. After a
public defer, the first followup replaces the "thinking…" message and inherits its visibility, so an
*ephemeral* error after a public defer deletes the thinking message and sends a fresh ephemeral
followup (Discord has no way to make the original ephemeral afterwards).
"""

from __future__ import annotations

import io
import logging
from typing import Any

import discord
from discord import app_commands

log = logging.getLogger(__name__)

NO_PINGS = discord.AllowedMentions.none()
ERROR_COLOUR = discord.Colour.red()
OK_COLOUR = discord.Colour.blurple()
MAX_CONTENT = 2000  # Discord refuses longer message content
# ``extras`` of a command or group whose answers only the caller sees (a deferred answer must be
# deferred that way too: visibility is fixed by the first response).
PRIVATE_ANSWERS: dict[Any, Any] = {"private": True}


async def reply(
    interaction: discord.Interaction[Any],
    content: str | None = None,
    *,
    embed: discord.Embed | None = None,
    embeds: list[discord.Embed] | None = None,
    ephemeral: bool = False,
    view: discord.ui.View | None = None,
    file: discord.File | None = None,
) -> None:
    """The user-visible answer to ``interaction``, whatever state its response is in (``embeds``: several
    at once, 6000 characters in all; ``file``: an attachment)."""
    if content is not None and len(content) > MAX_CONTENT:  # an echoed user input must not get the answer refused
        content = content[: MAX_CONTENT - 1] + "…"
    extra: dict[str, Any] = {"allowed_mentions": NO_PINGS}
    if embed is not None:
        extra["embed"] = embed
    if embeds:
        extra["embeds"] = embeds
    if view is not None:
        extra["view"] = view
    if file is not None:
        extra["file"] = file
    if not interaction.response.is_done():
        await interaction.response.send_message(content, ephemeral=ephemeral, **extra)
        return
    if ephemeral and _deferred_publicly(interaction):
        try:
            await interaction.delete_original_response()
        except discord.HTTPException:
            log.debug("could not delete the thinking message", exc_info=True)
    await interaction.followup.send(content or discord.utils.MISSING, ephemeral=ephemeral, **extra)


class Upload(discord.File):
    """A file sent with a message. Discord's API describes an attachment's ``id`` (the file's index in the
    request) as a snowflake string; discord.py writes a number, which Discord happens to accept."""

    def __init__(self, data: bytes, filename: str) -> None:
        super().__init__(io.BytesIO(data), filename=filename)

    def to_dict(self, index: int) -> dict[str, Any]:
        payload = super().to_dict(index)
        payload["id"] = str(index)
        return payload


async def refuse(interaction: discord.Interaction[Any], message: str) -> None:
    """An ephemeral error: only the user who caused it sees it."""
    await reply(interaction, f"⚠️ {message}", ephemeral=True)


async def defer(interaction: discord.Interaction[Any], *, ephemeral: bool = False) -> None:
    """Acknowledge now (within Discord's 3 s) when the answer may take longer."""
    if not interaction.response.is_done():
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        # discord.py records the response type but not its visibility; remember it for ``reply``.
        interaction.extras["deferred_ephemeral"] = ephemeral


def answers_privately(command: app_commands.Command[Any, ..., Any]) -> bool:
    """Whether ``command`` (or a group it belongs to) is marked with ``PRIVATE_ANSWERS``."""
    node: app_commands.Command[Any, ..., Any] | app_commands.Group | None = command
    while node is not None:
        if node.extras.get("private"):
            return True
        node = node.parent
    return False


def _deferred_publicly(interaction: discord.Interaction[Any]) -> bool:
    kind = interaction.response.type
    deferred = kind is discord.InteractionResponseType.deferred_channel_message
    return deferred and not interaction.extras.get("deferred_ephemeral", False)
