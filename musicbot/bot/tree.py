"""The command tree: payload checks and rate limits before any command, a deadline for its storage
calls (``storage/deadline.py``: the answer is deferred before the first one), and one place that turns
errors into answers.

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
from musicbot.bot.options import command_of, leaf_options, shape_problem, unknown_command
from musicbot.bot.options import problem as options_problem
from musicbot.bot.ratelimit import RateLimiter
from musicbot.bot.replies import answers_privately, defer, refuse
from musicbot.errors import MusicBotError
from musicbot.i18n import N_, localized, set_locale, tr
from musicbot.metrics import CommandOutcome, count_command
from musicbot.storage.deadline import command_deadline

if TYPE_CHECKING:
    from musicbot.bot.client import MusicBotClient

log = logging.getLogger(__name__)

UNEXPECTED = N_("Something went wrong on my side; it has been logged. Please try again.")
# How long a command's storage calls may take in all (after its answer was deferred); then the user
# reads "the database is not answering" instead of waiting for the driver's own 5–15 s timeouts.
COMMAND_STORAGE_S = 4.0
AUTOCOMPLETE_STORAGE_S = 2.0


def user_message(error: BaseException) -> str | None:
    """What to tell the user about ``error`` in their language (the task's locale), or None when it is a
    bug (log it, apologize)."""
    if isinstance(error, app_commands.CommandInvokeError | app_commands.TransformerError):
        original = error.__cause__ if isinstance(error, app_commands.TransformerError) else error.original
        if isinstance(original, MusicBotError):
            return localized(original)
        if isinstance(error, app_commands.TransformerError):
            # Only text the user typed is echoed: anything else would show a Python repr.
            if isinstance(error.value, str | int | float):
                return tr("“{value}” is not a valid value here.", value=str(error.value)[:60])
            return tr("That value is not a valid value here.")
        return None
    if isinstance(error, MusicBotError):
        return localized(error)
    if isinstance(error, app_commands.CommandOnCooldown):
        return localized(RateLimitedError(error.retry_after))
    if isinstance(error, app_commands.NoPrivateMessage):
        return localized(GuildOnlyError())
    if isinstance(error, app_commands.MissingPermissions):
        # Discord's own names of permissions (Manage Server…) are English in every client's API: kept as is.
        return tr("You need the {permissions} permission for this.",
                 permissions=", ".join(p.replace("_", " ").title() for p in error.missing_permissions))
    if isinstance(error, app_commands.CheckFailure):
        return str(error) or tr("You can't use this command here.")
    if isinstance(error, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):  # stale command list
        return tr("That command has changed; Discord may still be updating your command list. Try again in a minute.")
    return None


class MusicTree(app_commands.CommandTree["MusicBotClient"]):
    def __init__(self, client: MusicBotClient, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        self.rate_limiter = RateLimiter()
        self.storage_deadline_s = COMMAND_STORAGE_S
        # discord.py tells of a command that ran to its end only by this event (errors reach on_error).
        client.add_listener(self._completed, "on_app_command_completion")

    async def interaction_check(self, interaction: discord.Interaction[MusicBotClient]) -> bool:
        # Everything this interaction's task says from here on (answers, refusals) is in the user's language.
        set_locale(interaction.locale)
        autocomplete = interaction.type is discord.InteractionType.autocomplete
        if self.client.closing:
            # Shutting down: nothing new starts (its state would not be in the last snapshot).
            if autocomplete:
                await interaction.response.autocomplete([])
            else:
                count_command(command_name(interaction), CommandOutcome.RESTARTING)
                await refuse(interaction, localized(RestartingError()))
            return False
        # The payload against the command's declaration first: discord.py reads it blindly after
        # this hook, where a failure would raise in its task and leave the user with no answer.
        command = command_of(interaction)
        if command is None:
            wrong: str | None = shape_problem(interaction.data) or unknown_command()
        else:
            wrong = options_problem(command, interaction, focused_ok=autocomplete)
        if autocomplete:
            # Typing is not a command (the search cache absorbs it); a broken one gets no suggestions.
            focused = wrong is None and any(o.get("focused") for o in leaf_options(interaction.data))
            if not focused:
                await interaction.response.autocomplete([])
            else:
                command_deadline(AUTOCOMPLETE_STORAGE_S)  # Discord drops suggestions after 3 s
            return focused
        wait = self.rate_limiter.retry_after(interaction.user.id, command.qualified_name if command else None)
        if wait:
            # Answered here: discord.py only routes AppCommandErrors from this hook to on_error.
            await refuse(interaction, localized(RateLimitedError(wait)))
            count_command(command_name(interaction), CommandOutcome.RATE_LIMITED)
            return False
        if wrong is not None:
            await refuse(interaction, wrong)
            count_command(command_name(interaction), CommandOutcome.USER_ERROR)
            return False
        assert command is not None  # a missing command is ``wrong``
        private = answers_privately(command)

        async def defer_first() -> None:
            await defer(interaction, ephemeral=private)

        # The command runs in this task: its storage calls defer the answer first, then end by the deadline.
        command_deadline(self.storage_deadline_s, before_wait=defer_first)
        return True

    async def on_error(
        self, interaction: discord.Interaction[MusicBotClient], error: app_commands.AppCommandError
    ) -> None:
        message = user_message(error)
        count_command(command_name(interaction), outcome_of(error, message))
        if message is None:
            log.error("command /%s failed", command_name(interaction), exc_info=error)
            message = tr(UNEXPECTED)
        try:
            await refuse(interaction, message)
        except discord.HTTPException:
            log.warning("could not tell the user about an error", exc_info=True)

    async def _completed(self, interaction: discord.Interaction[MusicBotClient], _command: object) -> None:
        count_command(command_name(interaction), CommandOutcome.OK)


def command_name(interaction: discord.Interaction[Any]) -> str:
    """The label of ``musicbot_commands_total``: the full name (``filter set``); a bounded set."""
    command = command_of(interaction)
    return command.qualified_name if command is not None else "unknown"


def outcome_of(error: BaseException, message: str | None) -> CommandOutcome:
    """How a command that reached ``on_error`` ended; ``message`` is ``user_message(error)``."""
    if message is None:
        return CommandOutcome.ERROR
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(original, app_commands.CommandOnCooldown | RateLimitedError):
        return CommandOutcome.RATE_LIMITED
    return CommandOutcome.USER_ERROR
