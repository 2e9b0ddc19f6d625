"""``/settings …`` for the server (Manage Server) and ``/me …`` for the user (SPEC §1 settings group).

Each server setting is its own subcommand with typed options (a role, a text channel, ranges
that match ``musicbot.storage.guild_settings``); the repository validates again and the tree
shows its message if a value is still refused. Changes go through ``bot.update_guild_settings``,
which writes the audit log and applies them to a live session. Answers are ephemeral: they
concern the admin or the user who asked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import fields
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import Range

from musicbot.bot.actions import FILTER_LABELS, active_names, checked_preset, filter_label, preset_kind
from musicbot.bot.checks import guild_and_member, require_manage_server
from musicbot.bot.cogs.base import Interaction, MusicCog
from musicbot.bot.errors import CommandRefusedError
from musicbot.bot.format import format_duration, safe
from musicbot.bot.replies import OK_COLOUR, PRIVATE_ANSWERS, reply
from musicbot.bot.translator import CHOICE
from musicbot.dsp.params import FilterSettings
from musicbot.dsp.presets import EQ_PRESETS, FILTER_PRESETS, apply_preset
from musicbot.dsp.settings import parse_filters, settings_to_json
from musicbot.i18n import N_, lazy, ngettext, pgettext, tr
from musicbot.lookups.sponsorblock import CATEGORIES as SPONSORBLOCK_CATEGORIES
from musicbot.lookups.sponsorblock import CATEGORY_LABELS
from musicbot.queue.autoplay import AutoplayMode
from musicbot.storage import AuditEntry, AuditLog, GuildSettings, InvalidSettingError, UserSettings
from musicbot.storage.guild_settings import (
    DEFAULT_RETENTION_DAYS,
    FILTER_NAMES,
    MAX_RETENTION_DAYS,
    SETTING_NAMES,
    TelegramControl,
)
from musicbot.storage.validation import check_float, check_int

ALL_FILTERS = "all"
FILTER_CHOICES = [app_commands.Choice(name="All filters", value=ALL_FILTERS)] + [
    app_commands.Choice(name=FILTER_LABELS.get(k, k), value=k) for k in FILTER_NAMES
]
MODE_CHOICES = [app_commands.Choice(name=m.value, value=m.value) for m in AutoplayMode]
TELEGRAM_CONTROL_TEXT = {  # English; tr() at use
    TelegramControl.EVERYONE: N_("every chat member"),
    TelegramControl.READ_ONLY: N_("chat admins; members follow"),
    TelegramControl.ADMINS: N_("chat admins only"),
}
TELEGRAM_CONTROL_CHOICES = [
    app_commands.Choice(name="Everyone in the chat controls", value=TelegramControl.EVERYONE.value),
    app_commands.Choice(name="Admins control, members follow (/np, /queue, /list)",
                        value=TelegramControl.READ_ONLY.value),
    app_commands.Choice(name="Only admins use the commands (the default)", value=TelegramControl.ADMINS.value),
]
SPONSORBLOCK_CHOICES = [app_commands.Choice(name="Every kind", value=ALL_FILTERS)] + [
    app_commands.Choice(name=CATEGORY_LABELS[c].capitalize(), value=c) for c in SPONSORBLOCK_CATEGORIES
]
CURRENT, NONE = "current", "none"
AUDIT_SHOWN = 15
EMBED_LIMIT = 4000  # Discord allows 4096 characters in a description


class EveryoneRoleError(CommandRefusedError):
    def __init__(self) -> None:
        super().__init__(lazy("@everyone can't be the DJ role. Pick a role, or leave it empty so everyone can "
                              "control."))


class CannotPostError(CommandRefusedError):
    def __init__(self, mention: str) -> None:
        super().__init__(lazy("I can't send messages in {channel}. Allow me there, or pick another channel.",
                              channel=mention))


def _on(flag: bool) -> str:
    return tr("on") if flag else tr("off")


def _categories(keys: Iterable[str]) -> str:
    return ", ".join(tr(CATEGORY_LABELS[c]) for c in keys)


def settings_embed(s: GuildSettings) -> discord.Embed:
    """The server's settings, in the current locale (the admin's who asked)."""
    allowed = tr("all") if s.allowed_filters is None else (
        ", ".join(filter_label(k) for k in s.allowed_filters) or tr("none"))
    ended = tr("after {time}", time=format_duration(s.ended_leave_s)) if s.ended_leave_s else tr("at once")
    announce = f"<#{s.announce_channel_id}>" if s.announce_channel_id else tr("where music was asked for")
    crossfade = tr("off") if not s.crossfade_s else tr("{seconds} s", seconds=s.crossfade_s)
    rows = [
        (tr("DJ role"), f"<@&{s.dj_role_id}>" if s.dj_role_id else tr("none: everyone controls")),
        (tr("Default volume"), tr("{percent} %", percent=s.default_volume)),
        (tr("Max queue length"), ngettext("{n} track", "{n} tracks", s.max_queue_length, n=s.max_queue_length)),
        (tr("Max track length"), tr("no limit") if s.max_track_s is None else format_duration(s.max_track_s)),
        (tr("24/7 (stay in voice)"), _on(s.stay_24_7)),
        (tr("Leave after the queue ended"), ended),
        (tr("Pause while nobody listens"), _on(s.pause_when_alone)),
        (tr("Announce channel"), announce),
        (tr("Allowed filters"), allowed),
        (tr("Normalization"), tr("{state}, target {lufs} LUFS", state=_on(s.normalization), lufs=s.target_lufs)),
        (tr("Crossfade"), crossfade),
        (tr("Autoplay by default"), f"{_on(s.autoplay_default)} ({pgettext(CHOICE, s.autoplay_mode.value)})"),
        (tr("Vote skip"), tr("{percent} % of listeners", percent=round(s.vote_skip_ratio * 100))),
        (tr("Fair queue (turns by requester)"), _on(s.fair_queue)),
        (tr("Duplicate tracks"), tr("refused") if s.reject_duplicates else tr("allowed")),
        (tr("Play history kept"), ngettext("{n} day", "{n} days", s.history_retention_days,
                                           n=s.history_retention_days)),
        (tr("Telegram control"), tr(TELEGRAM_CONTROL_TEXT[s.telegram_control])),
        (tr("Lyrics (/lyrics, the panel's line)"), _on(s.lyrics)),
        (tr("SponsorBlock skips (YouTube)"), _categories(s.sponsorblock_categories) or tr("off")),
        (tr("Voice channel status"), _on(s.voice_status)),
    ]
    embed = discord.Embed(title="⚙️ " + tr("Server settings"), colour=OK_COLOUR)
    for name, value in rows:
        embed.add_field(name=name, value=value, inline=True)
    return embed


def audit_line(entry: AuditEntry) -> str:
    """``<when> <who>: setting old → new, …`` (values shown as stored, shortened)."""
    when = f"<t:{int(entry.created_at.timestamp())}:R>"
    if entry.action != "settings.update":
        return f"{when} <@{entry.actor_id}>: {safe(entry.action, 40)}"
    changes = []
    for name, change in list(entry.details.items())[:6]:
        old, new = change if isinstance(change, list) and len(change) == 2 else ("?", change)
        changes.append(f"{safe(str(name), 30)}: {safe(str(old), 30)} → {safe(str(new), 30)}")
    return f"{when} <@{entry.actor_id}>: " + ", ".join(changes)


def me_embed(u: UserSettings) -> discord.Embed:
    filters = tr("none") if not u.preferred_filters else active_names(parse_filters(u.preferred_filters))
    autoplay = tr("the server's default") if u.autoplay is None else _on(u.autoplay)
    volume = tr("the server's default") if u.default_volume is None else tr("{percent} %", percent=u.default_volume)
    embed = discord.Embed(title="🙂 " + tr("Your settings"), colour=OK_COLOUR)
    embed.add_field(name=tr("Default volume"), value=volume)
    embed.add_field(name=tr("Preferred filters"), value=filters)
    embed.add_field(name=tr("Autoplay"), value=autoplay)
    return embed


def admin(interaction: Interaction) -> tuple[discord.Guild, discord.Member]:
    """The guild and the caller, who must have Manage Server (checked before any value is looked at)."""
    guild, member = guild_and_member(interaction)
    require_manage_server(member)
    return guild, member


class SettingsCog(MusicCog):
    settings = app_commands.Group(name="settings", description="Server settings (needs Manage Server)",
                                  guild_only=True, default_permissions=discord.Permissions(manage_guild=True),
                                  extras=PRIVATE_ANSWERS)
    me = app_commands.Group(name="me", description="Your own settings", guild_only=True, extras=PRIVATE_ANSWERS)

    async def _update(self, interaction: Interaction, done: str | Callable[[GuildSettings], str],
                      **changes: Any) -> None:
        """Validate and store ``changes``, then confirm (``done`` may describe the stored result)."""
        guild, member = admin(interaction)
        after = await self.bot.update_guild_settings(guild.id, member.id, **changes)
        await reply(interaction, f"✅ {done if isinstance(done, str) else done(after)}", ephemeral=True)

    # ---------------------------------------------------------------- /settings
    @settings.command(name="show", description="Show the server's music settings")
    async def show(self, interaction: Interaction) -> None:
        guild, _ = admin(interaction)
        embed = settings_embed(await self.bot.guild_settings(guild.id))
        if (channel_id := self.bot.voice_status.missing_permission_in(guild.id)) is not None:
            channel = f"<#{channel_id}>"
            embed.add_field(name="⚠️ " + tr("Voice channel status"), inline=False,
                            value=tr("I may not set the status of {channel}: grant me **Set Voice Channel Status** "
                                     "there, then save `/settings voice-status on` again.", channel=channel))
        await reply(interaction, embed=embed, ephemeral=True)

    @settings.command(name="dj", description="The role that controls the music (empty: everyone)")
    @app_commands.describe(role="The DJ role; leave empty so everyone can control")
    async def dj(self, interaction: Interaction, role: discord.Role | None = None) -> None:
        admin(interaction)
        if role is not None and not isinstance(role, discord.Role):
            raise InvalidSettingError("role", lazy("that role is unknown here; pick one from the list"))
        if role is not None and role.is_default():
            raise EveryoneRoleError()
        done = tr("DJ role: {role}.", role=role.mention) if role else tr("No DJ role: everyone can control the music.")
        await self._update(interaction, done, dj_role_id=role.id if role else None)

    @settings.command(name="volume", description="The volume a new session starts at")
    @app_commands.describe(percent="0–200 %")
    async def volume(self, interaction: Interaction, percent: Range[int, 0, 200]) -> None:
        await self._update(interaction, tr("Default volume: {percent} %.", percent=percent), default_volume=percent)

    @settings.command(name="queue-limit", description="How many tracks the queue may hold")
    @app_commands.describe(tracks="1–10000 upcoming tracks")
    async def queue_limit(self, interaction: Interaction, tracks: Range[int, 1, 10_000]) -> None:
        done = ngettext("The queue holds at most {n} track.", "The queue holds at most {n} tracks.", tracks, n=tracks)
        await self._update(interaction, done, max_queue_length=tracks)

    @settings.command(name="track-limit", description="The longest track that may be queued")
    @app_commands.describe(minutes="1–1440 minutes; 0 for no limit")
    async def track_limit(self, interaction: Interaction, minutes: Range[int, 0, 1440]) -> None:
        minutes = check_int("minutes", minutes, 0, 1440)

        def done(s: GuildSettings) -> str:
            limit = s.max_track_s
            if limit is None:
                return tr("No limit on track length.")
            return tr("Tracks may be at most {length}.", length=format_duration(limit))

        await self._update(interaction, done, max_track_s=minutes * 60.0 if minutes else None)

    @settings.command(name="stay", description="24/7: stay in voice even when nobody listens")
    @app_commands.describe(enabled="On: never leave by itself")
    async def stay(self, interaction: Interaction, enabled: bool) -> None:
        await self._update(interaction, tr("24/7 is {state}.", state=_on(enabled)), stay_24_7=enabled)

    @settings.command(name="leave-when-ended", description="How long I stay in voice after the queue ended")
    @app_commands.describe(minutes="0–1440 minutes without music before I leave (default 5); 24/7 never leaves")
    async def leave_when_ended(self, interaction: Interaction, minutes: Range[float, 0.0, 1440.0]) -> None:
        seconds = check_float("minutes", minutes, 0.0, 1440.0, " minutes") * 60.0
        done = (tr("I leave as soon as the queue has ended.") if not seconds else
                tr("I leave when nothing played for {time} after the queue ended.", time=format_duration(seconds)))
        await self._update(interaction, done, ended_leave_s=seconds)

    @settings.command(name="pause-when-alone", description="Pause while nobody is in the voice channel")
    @app_commands.describe(enabled="On: the music pauses when the last listener leaves and goes on when one is back")
    async def pause_when_alone(self, interaction: Interaction, enabled: bool) -> None:
        await self._update(interaction, tr("Pausing while nobody listens is {state}.", state=_on(enabled)),
                           pause_when_alone=enabled)

    @settings.command(name="announce", description="Where track announcements go (empty: where music was asked for)")
    @app_commands.describe(channel="A text channel; leave empty for the channel where /play was used")
    async def announce(self, interaction: Interaction, channel: discord.TextChannel | None = None) -> None:
        admin(interaction)
        if channel is not None and not isinstance(channel, discord.TextChannel):
            raise InvalidSettingError("channel", lazy("pick a text channel of this server"))
        if channel is not None:
            me = channel.guild.me
            if me is not None and not channel.permissions_for(me).send_messages:
                raise CannotPostError(channel.mention)
        done = tr("Announcements go to {channel}.", channel=channel.mention) if channel else \
            tr("Announcements go where music was asked for.")
        await self._update(interaction, done, announce_channel_id=channel.id if channel else None)

    @settings.command(name="filter", description="Allow or forbid a filter on this server")
    @app_commands.describe(filter="A filter, or all of them", allowed="Whether members may use it")
    @app_commands.choices(filter=FILTER_CHOICES)
    async def filter(self, interaction: Interaction, filter: str, allowed: bool) -> None:
        guild, _ = admin(interaction)
        if filter != ALL_FILTERS and filter not in FILTER_NAMES:
            raise InvalidSettingError("filter", lazy("{value} is not a filter; pick one from the list",
                                                     value=safe(filter, 30)))
        current = await self.bot.guild_settings(guild.id)
        names = set(FILTER_NAMES if current.allowed_filters is None else current.allowed_filters)
        changed = set(FILTER_NAMES) if filter == ALL_FILTERS else {filter}
        names = names | changed if allowed else names - changed
        value = None if names >= set(FILTER_NAMES) else sorted(names)
        if filter == ALL_FILTERS:
            done = tr("All filters are allowed.") if allowed else tr("All filters are forbidden.")
        else:
            label = filter_label(filter)
            done = tr("{filter} is allowed.", filter=label) if allowed else tr("{filter} is forbidden.", filter=label)
        await self._update(interaction, done, allowed_filters=value)

    @settings.command(name="normalization", description="Even out loudness between tracks")
    @app_commands.describe(enabled="On: every track at about the same loudness",
                           target_lufs="Target loudness, −40 to −5 LUFS (default −14)")
    async def normalization(self, interaction: Interaction, enabled: bool,
                            target_lufs: Range[float, -40.0, -5.0] | None = None) -> None:
        changes: dict[str, Any] = {"normalization": enabled}
        if target_lufs is not None:
            changes["target_lufs"] = target_lufs
        if target_lufs is None:
            done = tr("Normalization is {state}.", state=_on(enabled))
        else:
            done = tr("Normalization is {state}, target {lufs} LUFS.", state=_on(enabled), lufs=float(target_lufs))
        await self._update(interaction, done, **changes)

    @settings.command(name="crossfade", description="Fade from one track into the next")
    @app_commands.describe(seconds="0–12 s; 0 turns crossfade off")
    async def crossfade(self, interaction: Interaction, seconds: Range[float, 0.0, 12.0]) -> None:
        done = tr("Crossfade is off.") if not seconds else tr("Crossfade: {seconds} s.", seconds=float(seconds))
        await self._update(interaction, done, crossfade_s=seconds)

    @settings.command(name="autoplay", description="Whether autoplay is on when a session starts")
    @app_commands.describe(enabled="On: keep playing related tracks when the queue ends", mode="What autoplay picks")
    @app_commands.choices(mode=MODE_CHOICES)
    async def autoplay(self, interaction: Interaction, enabled: bool, mode: str | None = None) -> None:
        changes: dict[str, Any] = {"autoplay_default": enabled}
        if mode is not None:
            changes["autoplay_mode"] = mode
        if mode is None:
            done = tr("Autoplay by default is {state}.", state=_on(enabled))
        else:
            done = tr("Autoplay by default is {state} ({mode}).", state=_on(enabled),
                      mode=pgettext(CHOICE, safe(mode, 20)))
        await self._update(interaction, done, **changes)

    @settings.command(name="vote-skip", description="The share of listeners a vote skip needs")
    @app_commands.describe(percent="0–100 % of the listeners in the voice channel")
    async def vote_skip(self, interaction: Interaction, percent: Range[int, 0, 100]) -> None:
        percent = check_int("percent", percent, 0, 100, " %")
        await self._update(interaction, tr("A vote skip needs {percent} % of listeners.", percent=percent),
                           vote_skip_ratio=percent / 100)

    @settings.command(name="fair", description="Take turns: the queue alternates between the people who added")
    @app_commands.describe(enabled="On: nobody can flood the queue; /move and /swap are off meanwhile")
    async def fair(self, interaction: Interaction, enabled: bool) -> None:
        await self._update(interaction, tr("Fair queue is {state}.", state=_on(enabled)), fair_queue=enabled)

    @settings.command(name="duplicates", description="Whether a track already queued may be added again")
    @app_commands.describe(allowed="Off: a track playing or queued is refused")
    async def duplicates(self, interaction: Interaction, allowed: bool) -> None:
        done = tr("Duplicate tracks are allowed.") if allowed else tr("A track already playing or queued is refused.")
        await self._update(interaction, done, reject_duplicates=not allowed)

    @settings.command(name="history-retention", description="How long the play history (/history) is kept")
    @app_commands.describe(days=f"1–{MAX_RETENTION_DAYS} days (default {DEFAULT_RETENTION_DAYS})")
    async def history_retention(self, interaction: Interaction, days: Range[int, 1, MAX_RETENTION_DAYS]) -> None:
        days = check_int("days", days, 1, MAX_RETENTION_DAYS, " days")
        await self._update(interaction, ngettext("Plays are kept {n} day, then deleted.",
                                                 "Plays are kept {n} days, then deleted.", days, n=days),
                           history_retention_days=days)

    @settings.command(name="telegram-control", description="Who in the linked Telegram chat controls the music")
    @app_commands.describe(who="The chat's admins always may; this is what its other members may do")
    @app_commands.choices(who=TELEGRAM_CONTROL_CHOICES)
    async def telegram_control(self, interaction: Interaction, who: str) -> None:
        await self._update(interaction, lambda s: tr("From Telegram: {who}.",
                                                     who=tr(TELEGRAM_CONTROL_TEXT[s.telegram_control])),
                           telegram_control=who)

    @settings.command(name="lyrics", description="Lyrics: /lyrics and the line being sung on the now-playing panel")
    @app_commands.describe(enabled="Off: no lyrics are looked up (LRCLIB) for this server")
    async def lyrics(self, interaction: Interaction, enabled: bool) -> None:
        await self._update(interaction, tr("Lyrics are {state}.", state=_on(enabled)), lyrics=enabled)

    @settings.command(name="sponsorblock", description="Skip a kind of segment in YouTube tracks (SponsorBlock)")
    @app_commands.describe(category="What viewers marked in the video", skip="Whether it is skipped")
    @app_commands.choices(category=SPONSORBLOCK_CHOICES)
    async def sponsorblock(self, interaction: Interaction, category: str, skip: bool) -> None:
        guild, _ = admin(interaction)
        if category != ALL_FILTERS and category not in SPONSORBLOCK_CATEGORIES:
            raise InvalidSettingError("category", lazy("{value} is not a category; pick one from the list",
                                                       value=safe(category, 30)))
        current = set((await self.bot.guild_settings(guild.id)).sponsorblock_categories)
        changed = set(SPONSORBLOCK_CATEGORIES) if category == ALL_FILTERS else {category}
        chosen = sorted(current | changed if skip else current - changed)

        def done(s: GuildSettings) -> str:
            skipped = _categories(s.sponsorblock_categories)
            return tr("YouTube tracks skip: {categories}.", categories=skipped) if skipped else \
                tr("SponsorBlock skips nothing.")

        await self._update(interaction, done, sponsorblock_categories=chosen)

    @settings.command(name="voice-status", description="Show the track as the voice channel's status")
    @app_commands.describe(enabled="On: the status says what plays (needs the Set Voice Channel Status permission)")
    async def voice_status(self, interaction: Interaction, enabled: bool) -> None:
        await self._update(interaction, tr("The voice channel status is {state}.", state=_on(enabled)),
                           voice_status=enabled)

    @settings.command(name="audit", description="Recent changes to the server's settings, and who made them")
    async def audit(self, interaction: Interaction) -> None:
        guild, _ = admin(interaction)
        entries = await AuditLog(self.bot.db).recent(guild.id, limit=AUDIT_SHOWN)
        if not entries:
            await reply(interaction, tr("No settings have been changed here yet."), ephemeral=True)
            return
        embed = discord.Embed(title="📜 " + tr("Settings changes"), colour=OK_COLOUR,
                              description="\n".join(audit_line(e) for e in entries)[:EMBED_LIMIT])
        await reply(interaction, embed=embed, ephemeral=True)

    @settings.command(name="reset", description="Put every music setting back to its default")
    async def reset(self, interaction: Interaction) -> None:
        defaults = GuildSettings(0)
        changes = {f.name: getattr(defaults, f.name) for f in fields(GuildSettings) if f.name in SETTING_NAMES}
        await self._update(interaction, tr("Every setting is back to its default."), **changes)

    # ---------------------------------------------------------------- /me
    @me.command(name="show", description="Show your settings")
    async def me_show(self, interaction: Interaction) -> None:
        await reply(interaction, embed=me_embed(await self.bot.user_settings.get(interaction.user.id)), ephemeral=True)

    @me.command(name="volume", description="The volume music you start begins at (empty: the server's default)")
    @app_commands.describe(percent="0–200 %; leave empty to use the server's default")
    async def me_volume(self, interaction: Interaction, percent: Range[int, 0, 200] | None = None) -> None:
        await self.bot.user_settings.update(interaction.user.id, default_volume=percent)
        text = tr("the server's default") if percent is None else tr("{percent} %", percent=percent)
        await reply(interaction, "✅ " + tr("Your volume: {volume}.", volume=text), ephemeral=True)

    @me.command(name="filters", description="Your preferred filters, applied with /filter mine")
    @app_commands.describe(choice="A preset, the filters playing now, or none")
    async def me_filters(self, interaction: Interaction, choice: Range[str, 1, 40]) -> None:
        key = choice.strip().lower()
        if key == NONE:
            chosen: FilterSettings | None = None
        elif key == CURRENT:
            guild, _ = guild_and_member(interaction)
            session = self.bot.sessions.get(guild.id)
            chosen = session.filters if session is not None else FilterSettings()
        else:
            chosen = apply_preset(FilterSettings(), checked_preset(key))
        data = settings_to_json(chosen) if chosen is not None else None
        await self.bot.user_settings.update(interaction.user.id, preferred_filters=data or None)
        summary = active_names(chosen) if chosen is not None else tr("none")
        await reply(interaction, "✅ " + tr("Your preferred filters: {filters}.", filters=summary), ephemeral=True)

    @me_filters.autocomplete("choice")
    async def me_filter_choices(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        typed = current.strip().lower()
        kinds = {"filter": tr("filter"), "equalizer": tr("equalizer")}
        options = [(CURRENT, tr("The filters playing now")), (NONE, tr("No preferred filters"))]
        options += [(n, f"{n} ({kinds.get(preset_kind(n) or '', '')})")
                    for n in [*sorted(FILTER_PRESETS), *sorted(EQ_PRESETS)]]
        return [app_commands.Choice(name=label, value=value) for value, label in options if typed in value][:25]

    @me.command(name="autoplay", description="Autoplay when you start the music (or the server's default)")
    @app_commands.describe(setting="On, off, or the server's default")
    @app_commands.choices(setting=[app_commands.Choice(name="On", value="on"),
                                   app_commands.Choice(name="Off", value="off"),
                                   app_commands.Choice(name="The server's default", value="server")])
    async def me_autoplay(self, interaction: Interaction, setting: str) -> None:
        if setting not in ("on", "off", "server"):
            raise InvalidSettingError("autoplay", lazy("pick on, off or the server's default"))
        value = {"on": True, "off": False}.get(setting)
        await self.bot.user_settings.update(interaction.user.id, autoplay=value)
        text = tr("the server's default") if value is None else _on(value)
        await reply(interaction, "✅ " + tr("Your autoplay: {state}.", state=text), ephemeral=True)

    @me.command(name="reset", description="Forget your settings")
    async def me_reset(self, interaction: Interaction) -> None:
        await self.bot.user_settings.update(interaction.user.id, default_volume=None, preferred_filters=None,
                                            autoplay=None)
        await reply(interaction, "✅ " + tr("Your settings are back to the server's defaults."), ephemeral=True)
