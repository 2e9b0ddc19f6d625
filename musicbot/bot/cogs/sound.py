"""``/filter …`` (SPEC §1 sound group): presets, one subcommand per filter, the equalizer, clear, show.

Every change merges into the session's current filters (``merge_filters``: all-or-nothing
validation naming the field) and is heard from the next frame. Option names are the snake_case
of the Lavalink JSON keys (``mono_level`` ↔ ``monoLevel``) and their ranges are those of
``musicbot.dsp.settings`` (a test keeps them in step). A filter the guild does not allow is
refused by name; turning filters off is always allowed.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import discord
from discord import app_commands
from discord.app_commands import Range

from musicbot.bot.actions import (
    FILTER_LABELS,
    active_names,
    check_filters_allowed,
    checked_preset,
    filter_label,
    preset_kind,
)
from musicbot.bot.checks import controlling_session, guild_and_member
from musicbot.bot.cogs.base import Interaction, MusicCog
from musicbot.bot.errors import CommandRefusedError
from musicbot.bot.format import safe
from musicbot.bot.replies import OK_COLOUR, reply
from musicbot.bot.translator import option_name
from musicbot.dsp.params import EQ_BAND_CENTRES_HZ, FilterSettings
from musicbot.dsp.presets import EQ_PRESETS, FILTER_PRESETS, apply_preset
from musicbot.dsp.settings import BLOCKS, merge_filters, settings_to_json
from musicbot.errors import FilterConfigError
from musicbot.i18n import current_locale, decimal, lazy, tr
from musicbot.session import GuildSession

# Filters whose defaults change nothing: setting one without any option would do nothing.
NEUTRAL_DEFAULTS = ("timescale", "distortion", "channelMix")


class NoFilterOptionsError(CommandRefusedError):
    def __init__(self, options: list[str]) -> None:
        # The option names as the reader's Discord shows them (raised in the command's task).
        super().__init__(lazy("Give at least one of: {options}.", options=", ".join(option_name(o) for o in options)))


class NoPreferredFiltersError(CommandRefusedError):
    def __init__(self) -> None:
        super().__init__(lazy("You have no preferred filters yet. Choose them with /me filters."))


def snake(json_key: str) -> str:
    """``monoLevel`` → ``mono_level``: the option name of a Lavalink field."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", json_key).lower()


def describe_filters(settings: FilterSettings) -> list[str]:
    """One line per active filter: ``Timescale: speed 1.2 · pitch 1 · rate 1`` (current locale: the
    options named as its users' Discord names them)."""
    lines: list[str] = []
    data = settings_to_json(settings)
    for key, value in data.items():
        label = filter_label(key)
        if key == "volume":
            lines.append(f"{label}: ×{decimal(value)}")
        elif key == "equalizer":
            bands = " · ".join(f"{_hz(EQ_BAND_CENTRES_HZ[b['band']])} {_signed(b['gain'])}" for b in value)
            lines.append(f"{label}: {bands}")
        else:
            lines.append(f"{label}: " + " · ".join(f"{option_name(snake(k))} {decimal(v)}" for k, v in value.items()))
    return lines


def _hz(hz: float, *, english: bool = False) -> str:
    """``1.6 kHz`` (``english``: as the code writes it, for the choices' names the catalog translates)."""
    where = None if english else current_locale()
    return f"{decimal(hz / 1000, locale=where)} kHz" if hz >= 1000 else f"{decimal(hz, locale=where)} Hz"


def _signed(value: float) -> str:
    """``+0.25``, ``-0.1``: the sign always written, the decimal sign the locale's."""
    return ("+" if value >= 0 else "") + decimal(value)


EQ_BAND_CHOICES = [app_commands.Choice(name=_hz(hz, english=True), value=i) for i, hz in enumerate(EQ_BAND_CENTRES_HZ)]
FILTER_CHOICES = [app_commands.Choice(name=label, value=key) for key, label in FILTER_LABELS.items()]
BLOCK_FIELDS = {block.json_key: [f.json_key for f in block.fields] for block in BLOCKS}


class SoundCog(MusicCog):
    filter_group = app_commands.Group(name="filter", description="Audio filters and presets", guild_only=True)
    set_group = app_commands.Group(name="set", description="Set one filter's parameters", parent=filter_group)

    # ---------------------------------------------------------------- shared
    async def _change(self, interaction: Interaction, what: str,
                      change: Callable[[FilterSettings], FilterSettings]) -> None:
        """Apply ``change(current) -> new settings`` if the caller may, then say what is on now."""
        session, _ = await controlling_session(interaction)
        before = session.filters
        after = change(before)
        check_filters_allowed(await self.bot.guild_settings(session.guild.id), before, after)
        session.set_filters(after)
        await reply(interaction, f"🎛️ {what}\n" + tr("Filters on: {names}.", names=active_names(after)))

    async def _set_block(self, interaction: Interaction, key: str, **given: float | None) -> None:
        values = {k: v for k, v in given.items() if v is not None}
        if not values and key in NEUTRAL_DEFAULTS:
            raise NoFilterOptionsError(list(given))

        def change(current: FilterSettings) -> FilterSettings:
            block = dict(settings_to_json(current).get(key, {}))
            block.update({field: values[snake(field)] for field in BLOCK_FIELDS[key] if snake(field) in values})
            return merge_filters(current, {key: block})

        await self._change(interaction, tr("{filter} set.", filter=filter_label(key)), change)

    # ---------------------------------------------------------------- presets, equalizer, clear, show
    @filter_group.command(name="preset", description="Add a filter or equalizer preset (nightcore, 8d, rock…)")
    @app_commands.describe(name="The preset; filter presets add to what is on, EQ presets replace the EQ")
    async def preset(self, interaction: Interaction, name: Range[str, 1, 40]) -> None:
        key = checked_preset(name)
        await self._change(interaction, tr("Preset {name} on.", name=key), lambda s: apply_preset(s, key))

    @preset.autocomplete("name")
    async def preset_names(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        typed = current.strip().lower()
        names = [*sorted(FILTER_PRESETS), *sorted(EQ_PRESETS)]
        kinds = {"filter": tr("filter"), "equalizer": tr("equalizer")}
        return [app_commands.Choice(name=f"{n} ({kinds.get(preset_kind(n) or '', '')})", value=n)
                for n in names if typed in n][:25]

    @filter_group.command(name="eq", description="Set one equalizer band")
    @app_commands.describe(band="The band's centre frequency",
                           gain="−0.25 removes the band, 0 leaves it, 0.25 doubles it (+6 dB), up to 1")
    @app_commands.choices(band=EQ_BAND_CHOICES)
    async def eq(self, interaction: Interaction, band: int, gain: Range[float, -0.25, 1.0]) -> None:
        def change(current: FilterSettings) -> FilterSettings:
            gains = list(current.equalizer)
            if not (isinstance(band, int) and 0 <= band < len(gains)):
                return merge_filters(current, {"equalizer": [{"band": band, "gain": gain}]})  # names the range
            gains[band] = gain
            bands = [{"band": i, "gain": g} for i, g in enumerate(gains) if g]
            return merge_filters(current, {"equalizer": bands or None})

        known = isinstance(band, int) and 0 <= band < len(EQ_BAND_CENTRES_HZ)
        if known:
            what = tr("Equalizer {band} set to {gain}.", band=_hz(EQ_BAND_CENTRES_HZ[band]), gain=_signed(gain))
        else:
            what = tr("Equalizer band set to {gain}.", gain=_signed(gain))
        await self._change(interaction, what, change)

    @filter_group.command(name="mine", description="Add your preferred filters (set with /me filters)")
    async def mine(self, interaction: Interaction) -> None:
        _, member = guild_and_member(interaction)
        prefs = (await self.bot.user_settings.get(member.id)).preferred_filters
        if not prefs:
            raise NoPreferredFiltersError()
        await self._change(interaction, tr("Your preferred filters are on."), lambda s: merge_filters(s, prefs))

    @filter_group.command(name="clear", description="Turn every filter off, or just one")
    @app_commands.describe(filter="Only this filter (leave empty for all)")
    @app_commands.choices(filter=FILTER_CHOICES)
    async def clear(self, interaction: Interaction, filter: str | None = None) -> None:
        session, _ = await controlling_session(interaction)
        if filter is not None and filter not in FILTER_LABELS:
            raise FilterConfigError("filter", lazy("“{value}” is not a filter; pick one from the list",
                                                   value=safe(filter, 30)))
        if filter is None:
            session.set_filters(FilterSettings())
            await reply(interaction, "🎛️ " + tr("All filters are off."))
            return
        after = merge_filters(session.filters, {filter: None})
        session.set_filters(after)
        await reply(interaction, "🎛️ " + tr("{filter} is off.", filter=filter_label(filter)) + "\n"
                    + tr("Filters on: {names}.", names=active_names(after)))

    @filter_group.command(name="show", description="Show the filters that are on")
    async def show(self, interaction: Interaction) -> None:
        guild, _ = guild_and_member(interaction)
        session: GuildSession | None = self.bot.sessions.get(guild.id)
        lines = describe_filters(session.filters) if session is not None else []
        embed = discord.Embed(title="🎛️ " + tr("Filters"), colour=OK_COLOUR,
                              description="\n".join(lines) if lines else tr("No filters are on."))
        settings = await self.bot.guild_settings(guild.id)
        if settings.allowed_filters is not None:
            allowed = ", ".join(filter_label(k) for k in settings.allowed_filters) or tr("none")
            embed.set_footer(text=tr("Allowed on this server: {filters}", filters=allowed))
        await reply(interaction, embed=embed)

    # ---------------------------------------------------------------- one subcommand per filter
    @set_group.command(name="volume", description="Filter gain ×0–5 (1 = unchanged; /volume is the player volume)")
    @app_commands.describe(level="Linear gain: 0.5 halves, 2 doubles")
    async def set_volume(self, interaction: Interaction, level: Range[float, 0.0, 5.0]) -> None:
        await self._change(interaction, tr("Filter volume ×{level}.", level=float(level)),
                           lambda s: merge_filters(s, {"volume": level}))

    @set_group.command(name="timescale", description="Speed, pitch and rate (1 = unchanged)")
    @app_commands.describe(speed="Tempo without changing pitch, ×0.25–4", pitch="Pitch without changing tempo, ×0.25–4",
                           rate="Tempo and pitch together like a record, ×0.25–4")
    async def set_timescale(self, interaction: Interaction, speed: Range[float, 0.25, 4.0] | None = None,
                            pitch: Range[float, 0.25, 4.0] | None = None,
                            rate: Range[float, 0.25, 4.0] | None = None) -> None:
        await self._set_block(interaction, "timescale", speed=speed, pitch=pitch, rate=rate)

    @set_group.command(name="karaoke", description="Remove the centre-panned voice")
    @app_commands.describe(level="How much to remove, 0–1", mono_level="How much of the kept band stays, 0–1",
                           filter_band="Centre of the band kept, Hz", filter_width="Width of the band kept, Hz")
    async def set_karaoke(self, interaction: Interaction, level: Range[float, 0.0, 1.0] | None = None,
                          mono_level: Range[float, 0.0, 1.0] | None = None,
                          filter_band: Range[float, 20.0, 20_000.0] | None = None,
                          filter_width: Range[float, 1.0, 10_000.0] | None = None) -> None:
        await self._set_block(interaction, "karaoke", level=level, mono_level=mono_level, filter_band=filter_band,
                              filter_width=filter_width)

    @set_group.command(name="tremolo", description="Volume that swings up and down")
    @app_commands.describe(frequency="Swings per second (more than 0, up to 50)", depth="How deep, more than 0 to 1")
    async def set_tremolo(self, interaction: Interaction, frequency: Range[float, 0.0, 50.0] | None = None,
                          depth: Range[float, 0.0, 1.0] | None = None) -> None:
        await self._set_block(interaction, "tremolo", frequency=frequency, depth=depth)

    @set_group.command(name="vibrato", description="Pitch that wobbles")
    @app_commands.describe(frequency="Wobbles per second (more than 0, up to 14)", depth="How deep, more than 0 to 1")
    async def set_vibrato(self, interaction: Interaction, frequency: Range[float, 0.0, 14.0] | None = None,
                          depth: Range[float, 0.0, 1.0] | None = None) -> None:
        await self._set_block(interaction, "vibrato", frequency=frequency, depth=depth)

    @set_group.command(name="rotation", description="8D: the sound circles around you")
    @app_commands.describe(rotation_hz="Turns per second, 0–5 (0.2 is a slow circle)")
    async def set_rotation(self, interaction: Interaction, rotation_hz: Range[float, 0.0, 5.0]) -> None:
        await self._set_block(interaction, "rotation", rotation_hz=rotation_hz)

    @set_group.command(name="distortion", description="Lavalink's distortion (offsets and scales, −100 to 100)")
    async def set_distortion(
        self, interaction: Interaction, *, sin_offset: Range[float, -100.0, 100.0] | None = None,
        sin_scale: Range[float, -100.0, 100.0] | None = None, cos_offset: Range[float, -100.0, 100.0] | None = None,
        cos_scale: Range[float, -100.0, 100.0] | None = None, tan_offset: Range[float, -100.0, 100.0] | None = None,
        tan_scale: Range[float, -100.0, 100.0] | None = None, offset: Range[float, -100.0, 100.0] | None = None,
        scale: Range[float, -100.0, 100.0] | None = None,
    ) -> None:
        await self._set_block(interaction, "distortion", sin_offset=sin_offset, sin_scale=sin_scale,
                              cos_offset=cos_offset, cos_scale=cos_scale, tan_offset=tan_offset,
                              tan_scale=tan_scale, offset=offset, scale=scale)

    @set_group.command(name="channelmix", description="Mix the left and right channels (each 0–1)")
    @app_commands.describe(left_to_left="Left into left", left_to_right="Left into right",
                           right_to_left="Right into left", right_to_right="Right into right")
    async def set_channel_mix(self, interaction: Interaction, left_to_left: Range[float, 0.0, 1.0] | None = None,
                              left_to_right: Range[float, 0.0, 1.0] | None = None,
                              right_to_left: Range[float, 0.0, 1.0] | None = None,
                              right_to_right: Range[float, 0.0, 1.0] | None = None) -> None:
        await self._set_block(interaction, "channelMix", left_to_left=left_to_left, left_to_right=left_to_right,
                              right_to_left=right_to_left, right_to_right=right_to_right)

    @set_group.command(name="lowpass", description="Muffle the highs")
    @app_commands.describe(smoothing="1 = nothing, 20 = clearly muffled, up to 1000")
    async def set_low_pass(self, interaction: Interaction, smoothing: Range[float, 1.0, 1000.0] | None = None) -> None:
        await self._set_block(interaction, "lowPass", smoothing=smoothing)

    @set_group.command(name="bassboost", description="Boost the bass (a low shelf)")
    @app_commands.describe(gain_db="Boost in dB, 0–24", frequency_hz="Up to which frequency, 20–500 Hz")
    async def set_bass_boost(self, interaction: Interaction, gain_db: Range[float, 0.0, 24.0] | None = None,
                             frequency_hz: Range[float, 20.0, 500.0] | None = None) -> None:
        await self._set_block(interaction, "bassBoost", gain_db=gain_db, frequency_hz=frequency_hz)

    @set_group.command(name="reverb", description="A room around the sound (each 0–1)")
    @app_commands.describe(room_size="Small to large", damping="Bright to dull", wet_level="Room sound",
                           dry_level="Direct sound", width="Mono to wide")
    async def set_reverb(self, interaction: Interaction, *, room_size: Range[float, 0.0, 1.0] | None = None,
                         damping: Range[float, 0.0, 1.0] | None = None, wet_level: Range[float, 0.0, 1.0] | None = None,
                         dry_level: Range[float, 0.0, 1.0] | None = None,
                         width: Range[float, 0.0, 1.0] | None = None) -> None:
        await self._set_block(interaction, "reverb", room_size=room_size, damping=damping, wet_level=wet_level,
                              dry_level=dry_level, width=width)
