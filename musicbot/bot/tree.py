"""The command tree: rate limits before any command, and one place that turns errors into answers.

Users see a short ephemeral message for everything they can cause (``MusicBotError`` and
discord.py's own check/transform errors); anything else is a bug: the traceback goes to the log
and the user gets a neutral apology, never a traceback. Every command's outcome is counted there
too (``musicbot_commands_total``: ok, user_error, rate_limited, error).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from musicbot.bot.errors import GuildOnlyError, RateLimitedError, RestartingError
from musicbot.bot.options import problem as options_problem
from musicbot.bot.ratelimit import RateLimiter
from musicbot.bot.replies import refuse
from musicbot.errors import MusicBotError
from musicbot.metrics import CommandOutcome, count_command

if TYPE_CHECKING:
    from musicbot.bot.client import MusicBotClient

log = logging.getLogger(__name__)

UNEXPECTED = "Something went wrong on my side; it has been logged. Please try again."


def user_message(error: BaseException) -> str | None:
    """What to tell the user about ``error``, or None when it is a bug (log it, apologize)."""
    if isinstance(error, app_commands.CommandInvokeError | app_commands.TransformerError):
        original = error.__cause__ if isinstance(error, app_commands.TransformerError) else error.original
        if isinstance(original, MusicBotError):
            return str(original)
        if isinstance(error, app_commands.TransformerError):
            return f"“{str(error.value)[:60]}” is not a valid value here."
        return None
    if isinstance(error, MusicBotError):
        return str(error)
    if isinstance(error, app_commands.CommandOnCooldown):
        return str(RateLimitedError(error.retry_after))
    if isinstance(error, app_commands.NoPrivateMessage):
        return str(GuildOnlyError())
    if isinstance(error, app_commands.MissingPermissions):
        return "You need the " + ", ".join(p.replace("_", " ").title() for p in error.missing_permissions) + \
            " permission for this."
    if isinstance(error, app_commands.CheckFailure):
        return str(error) or "You can't use this command here."
    if isinstance(error, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):  # stale command list
        return "That command has changed; Discord may still be updating your command list. Try again in a minute."
    return None


class MusicTree(app_commands.CommandTree["MusicBotClient"]):
    def __init__(self, client: MusicBotClient, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        self.rate_limiter = RateLimiter()
        # discord.py tells of a command that ran to its end only by this event (errors reach on_error).
        client.add_listener(self._completed, "on_app_command_completion")

    async def interaction_check(self, interaction: discord.Interaction[MusicBotClient]) -> bool:
        if self.client.closing:
            # Shutting down: nothing new starts (its state would not be in the last snapshot).
            if interaction.type is discord.InteractionType.autocomplete:
                await interaction.response.autocomplete([])
            else:
                count_command(command_name(interaction), CommandOutcome.RESTARTING)
                await refuse(interaction, str(RestartingError()))
            return False
        if interaction.type is discord.InteractionType.autocomplete:
            return True  # typing is not a command; the search cache absorbs it
        command = interaction.command.qualified_name if interaction.command is not None else None
        wait = self.rate_limiter.retry_after(interaction.user.id, command)
        if wait:
            # Answered here: discord.py only routes AppCommandErrors from this hook to on_error.
            await refuse(interaction, str(RateLimitedError(wait)))
            count_command(command_name(interaction), CommandOutcome.RATE_LIMITED)
            return False
        if isinstance(interaction.command, app_commands.Command):
            wrong = options_problem(interaction.command, interaction.data)
            if wrong is not None:
                await refuse(interaction, wrong)
                count_command(command_name(interaction), CommandOutcome.USER_ERROR)
                return False
        return True

    async def on_error(
        self, interaction: discord.Interaction[MusicBotClient], error: app_commands.AppCommandError
    ) -> None:
        message = user_message(error)
        count_command(command_name(interaction), outcome_of(error, message))
        if message is None:
            name = interaction.command.qualified_name if interaction.command is not None else "?"
            log.error("command /%s failed", name, exc_info=error)
            message = UNEXPECTED
        try:
            await refuse(interaction, message)
        except discord.HTTPException:
            log.warning("could not tell the user about an error", exc_info=True)

    async def _completed(self, interaction: discord.Interaction[MusicBotClient], _command: object) -> None:
        count_command(command_name(interaction), CommandOutcome.OK)


def command_name(interaction: discord.Interaction[Any]) -> str:
    """The label of ``musicbot_commands_total``: the full name (``filter set``); a bounded set."""
    return interaction.command.qualified_name if interaction.command is not None else "unknown"


def outcome_of(error: BaseException, message: str | None) -> CommandOutcome:
    """How a command that reached ``on_error`` ended; ``message`` is ``user_message(error)``."""
    if message is None:
        return CommandOutcome.ERROR
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(original, app_commands.CommandOnCooldown | RateLimitedError):
        return CommandOutcome.RATE_LIMITED
    return CommandOutcome.USER_ERROR
