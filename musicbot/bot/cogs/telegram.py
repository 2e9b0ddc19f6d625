"""``/telegram link|unlink|status`` and ``/all`` (Manage Server): the Discord side of the Telegram bridge
(``musicbot/telegram/``).

Linking takes two people who prove each end: a server manager runs ``/telegram link chat_id``; the
bridge checks that its Telegram bot is in that chat and shows a one-time code, only to that manager;
an admin of the chat sends ``/confirm CODE`` there within 10 minutes. So nobody links a chat they do
not administer. Links, unlinks and the control setting are audited (``/settings audit``).

The bridge runs in shard 0's process; these commands reach it over the bus from any process
(``telegram/remote.py``). With ``TELEGRAM_TOKEN`` unset they say the bridge is off and how to turn it
on. Text from Telegram (a chat's title) is escaped here; answers are ephemeral.
"""

from __future__ import annotations

from datetime import datetime

import discord
from discord import app_commands
from discord.app_commands import Range

from musicbot.bot.checks import guild_and_member, require_manage_server
from musicbot.bot.cogs.base import Interaction, MusicCog
from musicbot.bot.format import safe
from musicbot.bot.replies import OK_COLOUR, PRIVATE_ANSWERS, defer, reply
from musicbot.bot.translator import command_path
from musicbot.i18n import N_, localized, ngettext, tr
from musicbot.storage.guild_settings import TelegramControl
from musicbot.storage.telegram import TelegramLinks
from musicbot.telegram.ops import BridgeRefusal

TELEGRAM = "Telegram"  # a name: the same in every language
MAX_CHAT_ID = 10**15  # Telegram's chat ids: up to 52 bits, negative for groups
CONTROL_TEXT = {  # English; tr() at use
    TelegramControl.EVERYONE: N_("every member of the chat"),
    TelegramControl.READ_ONLY: N_("the chat's admins (members can follow: /np, /queue, /list)"),
    TelegramControl.ADMINS: N_("only the chat's admins (members just see the mirror)"),
}
STATE_TEXT = {"connected": ("🟢", N_("connected")), "starting": ("🟡", N_("starting")),
              "token rejected": ("🔴", N_("token rejected")), "unreachable": ("🔴", N_("Telegram unreachable")),
              "conflict": ("🔴", N_("another program reads this bot's updates")), "stopped": ("⚪", N_("stopped"))}


def _when(iso: str | None) -> str:
    if iso is None:
        return ""
    try:
        when = f"<t:{int(datetime.fromisoformat(iso).timestamp())}:R>"
        return " " + tr("since {when}", when=when)
    except ValueError:
        return ""


class TelegramCog(MusicCog):
    telegram = app_commands.Group(name="telegram", description="The linked Telegram chat (needs Manage Server)",
                                  guild_only=True, default_permissions=discord.Permissions(manage_guild=True),
                                  extras=PRIVATE_ANSWERS)

    @telegram.command(name="link", description="Link a Telegram chat: it controls and follows the music here")
    @app_commands.describe(chat_id="The chat's id: add the bot to the chat and send it /id there")
    async def link(self, interaction: Interaction, chat_id: Range[int, -MAX_CHAT_ID, MAX_CHAT_ID]) -> None:
        guild, member = guild_and_member(interaction)
        require_manage_server(member)
        await defer(interaction, ephemeral=True)  # the bridge asks Telegram about the chat first
        code = await self.bot.telegram.begin_link(guild.id, guild.name, chat_id, member.id)
        minutes = round(code.expires_in_s / 60)
        almost = ngettext(
            "Almost there: an admin of the Telegram chat **{chat}** sends this to `@{bot}` in that chat within "
            "{n} minute:", "Almost there: an admin of the Telegram chat **{chat}** sends this to `@{bot}` in that "
            "chat within {n} minutes:", minutes, chat=safe(code.chat_title, 80), bot=code.bot_username, n=minutes)
        command = f"```\n/confirm {code.code}\n```"  # Telegram's command: the same in every language
        await reply(interaction, f"{almost}\n{command}\n" + tr("Only you see this code; it works once."),
                    ephemeral=True)

    @telegram.command(name="unlink", description="Unlink the Telegram chat from this server")
    async def unlink(self, interaction: Interaction) -> None:
        guild, member = guild_and_member(interaction)
        require_manage_server(member)
        unlinked = await TelegramLinks(self.bot.db).unlink(guild.id, actor_id=member.id)
        if unlinked is None:
            await reply(interaction, tr("This server is not linked to a Telegram chat."), ephemeral=True)
            return
        title = safe(unlinked.chat_title or str(unlinked.chat_id), 80)
        await reply(interaction, "✅ " + tr("Unlinked from the Telegram chat **{chat}**: it no longer controls or "
                                            "follows the music here.", chat=title), ephemeral=True)

    @telegram.command(name="status", description="The Telegram bridge and the linked chat")
    async def status(self, interaction: Interaction) -> None:
        guild, member = guild_and_member(interaction)
        require_manage_server(member)
        link = await TelegramLinks(self.bot.db).for_guild(guild.id)
        settings = await self.bot.guild_settings(guild.id)
        embed = discord.Embed(title=f"✈️ {TELEGRAM}", colour=OK_COLOUR)
        chat_problem = None
        try:
            status = await self.bot.telegram.status(None if link is None else link.chat_id)
        except BridgeRefusal as refusal:
            embed.add_field(name=tr("Bridge"), value=localized(refusal), inline=False)
        else:
            username = f"`@{status.bot_username}`"
            bot = " " + tr("as {bot}", bot=username) if status.bot_username else ""
            known = STATE_TEXT.get(status.state)
            state = f"{known[0]} {tr(known[1])}" if known is not None else safe(status.state, 40)
            embed.add_field(name=tr("Bridge"), value=f"{state}{_when(status.since)}{bot}", inline=False)
            if status.last_error:
                error = status.last_error[:900].replace("`", "'")  # Telegram's or the network's own words
                embed.add_field(name=tr("Last error"), value=f"```\n{error}\n```", inline=False)
            chat_problem = status.chat_problem
        if link is None:
            embed.add_field(name=tr("Linked chat"), value=tr("none: `/telegram link chat_id` (send /id to the bot in "
                                                             "the chat for its id)"), inline=False)
        else:
            title = safe(link.chat_title or tr("a chat"), 80)
            when, by = f"<t:{int(link.linked_at.timestamp())}:R>", f"<@{link.linked_by}>"
            value = tr("**{chat}** (`{id}`), linked {when} by {member}", chat=title, id=str(link.chat_id), when=when,
                       member=by)
            if chat_problem:
                value += f"\n⚠️ {safe(chat_problem, 200)}"  # the bridge's words (English)
            embed.add_field(name=tr("Linked chat"), value=value, inline=False)
        embed.add_field(name=tr("Who controls from Telegram"), value=tr(CONTROL_TEXT[settings.telegram_control]) +
                        " (`" + command_path("settings telegram-control") + "`)", inline=False)
        await reply(interaction, embed=embed, ephemeral=True)

    @app_commands.command(name="all", description="Mention everyone in the linked Telegram chat")
    @app_commands.describe(reason="Why: shown in the Telegram chat with the mentions")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def mention_all(self, interaction: Interaction, reason: Range[str, 1, 300]) -> None:
        guild, member = guild_and_member(interaction)
        require_manage_server(member)
        done = await self.bot.telegram.mention_all(guild.id, member.display_name, reason)
        await reply(interaction, "📣 " + ngettext(
            "Sent to the linked Telegram chat, mentioning {n} member the bot has seen write there.",
            "Sent to the linked Telegram chat, mentioning {n} members the bot has seen write there.", done.members,
            n=done.members), ephemeral=True)
