"""What the now-playing panel (and ``/nowplaying``) shows: a snapshot of a session and its embed.

The embed reads well on a phone and on a desktop: the track (escaped: titles come from the
internet), a text progress bar with ``m:ss`` times, then short inline fields. Mentions inside an
embed never notify anyone; sends add ``allowed_mentions=none`` anyway.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import discord

from musicbot.bot.format import clock, progress_bar, requester_text, safe, track_line, truncate
from musicbot.bot.replies import OK_COLOUR
from musicbot.bot.translator import CHOICE, option_name
from musicbot.dsp.params import EQ_BAND_COUNT, ChannelMixParams, FilterSettings
from musicbot.dsp.presets import EQ_PRESETS
from musicbot.dsp.settings import settings_to_json
from musicbot.i18n import decimal, ngettext, pgettext, tr
from musicbot.lookups.sponsorblock import CATEGORY_LABELS
from musicbot.queue import LoopMode, QueueEntry
from musicbot.track import Track, format_duration

if TYPE_CHECKING:
    from musicbot.session import GuildSession

PAUSED_COLOUR = discord.Colour.light_grey()
ENDED_COLOUR = discord.Colour.dark_grey()
# A panel whose expected end moved by less than this only drifted with time (no edit needed).
END_DRIFT_S = 3.0
LOOP_ICONS = {LoopMode.OFF: "", LoopMode.TRACK: "🔂 ", LoopMode.QUEUE: "🔁 "}  # the mode's name: /loop's choice


@dataclass(frozen=True)
class NowPlaying:
    """One moment of a session as the panel shows it (event loop).

    ``ends_at`` is when the track should end, seconds since the epoch (None: paused, live or of
    unknown length); ``tempo`` is how much faster than 1× the filters play it. Position and
    ``length_s`` are as heard (SponsorBlock's skipped stretches not counted); ``lyric_line`` is the
    synced line sung now, ``skipped`` what SponsorBlock last left out of this track.
    """

    entry: QueueEntry
    position_s: float
    length_s: float | None
    paused: bool
    loop: LoopMode
    volume_percent: int
    filters: tuple[str, ...]
    next_up: QueueEntry | None
    upcoming: int
    autoplay_on: bool
    ends_at: float | None
    lyric_line: str | None = None
    skipped: str | None = None

    def looks_like(self, shown: NowPlaying) -> bool:
        """True when a panel showing ``shown`` needs no edit to show this.

        The progress moving on with time is no reason to edit (that would be an edit every few
        seconds per guild); a seek, a pause or a tempo change moves ``ends_at`` and is.
        """
        if replace(self, position_s=0.0, ends_at=None) != replace(shown, position_s=0.0, ends_at=None):
            return False
        if self.paused:
            return abs(self.position_s - shown.position_s) < 1.0
        if self.ends_at is None or shown.ends_at is None:
            return self.ends_at == shown.ends_at
        return abs(self.ends_at - shown.ends_at) < END_DRIFT_S


def snapshot(session: GuildSession, *, now: float | None = None) -> NowPlaying | None:
    """What ``session`` plays now, or None when nothing is playing."""
    entry = session.queue.current
    if entry is None:
        return None
    now = time.time() if now is None else now
    settings = session.filters
    tempo = settings.timescale.tempo_ratio if settings.timescale is not None else 1.0
    duration = session.length_s
    position = min(session.played_s, duration) if duration is not None else session.played_s
    paused = session.paused
    ends_at = None
    if not paused and duration is not None and not entry.track.is_live and tempo > 0:
        ends_at = now + (duration - position) / tempo
    line = session.lyrics.line_now()
    note = session.skips.last_skipped
    return NowPlaying(
        entry=entry,
        position_s=position,
        length_s=duration,
        paused=paused,
        loop=session.queue.loop,
        volume_percent=round(session.volume * 100),
        filters=tuple(describe_filters(settings)),
        next_up=next_up(session),
        upcoming=len(session.queue.upcoming),
        autoplay_on=session.autoplay is not None,
        ends_at=ends_at,
        lyric_line=None if line is None else (line.text or "♪"),
        skipped=(f"{_category(note.category)} ({format_duration(note.length_s)})"
                 if note is not None and note.entry_id == entry.entry_id else None),
    )


def _category(key: str) -> str:
    label = CATEGORY_LABELS.get(key)
    return tr(label) if label is not None else key


def next_up(session: GuildSession) -> QueueEntry | None:
    """The entry that plays after the current one (the current one again when looping it)."""
    queue = session.queue
    if queue.current is not None and queue.loop is LoopMode.TRACK:
        return queue.current
    if queue.upcoming:
        return queue.upcoming[0]
    return queue.current if queue.loop is LoopMode.QUEUE else None


def describe_filters(settings: FilterSettings) -> list[str]:
    """A few words per filter that changes the sound (``rate ×1.25``, ``8D 0.2 Hz``, ``EQ rock``), in the
    current locale."""
    out: list[str] = []
    data = settings_to_json(settings)
    if "volume" in data:
        out.append(tr("gain ×{gain}", gain=settings.volume))
    if "equalizer" in data:
        preset = next((name for name, gains in EQ_PRESETS.items()
                       if gains == settings.equalizer and any(gains)), None)
        bands = sum(1 for g in settings.equalizer if g)
        out.append(f"EQ {preset}" if preset else tr("EQ ({bands}/{count} bands)", bands=bands, count=EQ_BAND_COUNT))
    if (ts := settings.timescale) is not None:
        parts = [f"{option_name(name)} ×{decimal(value)}"
                 for name, value in (("speed", ts.speed), ("pitch", ts.pitch), ("rate", ts.rate)) if value != 1.0]
        out.extend(parts)
    if settings.karaoke is not None and settings.karaoke.level > 0:
        out.append(tr("karaoke"))
    if settings.tremolo is not None:
        out.append(tr("tremolo {hz} Hz", hz=settings.tremolo.frequency_hz))
    if settings.vibrato is not None:
        out.append(tr("vibrato {hz} Hz", hz=settings.vibrato.frequency_hz))
    if settings.rotation is not None and settings.rotation.rotation_hz > 0:
        out.append(f"8D {decimal(settings.rotation.rotation_hz)} Hz")
    if settings.distortion is not None and not settings.distortion.is_default:
        out.append(tr("distortion"))
    if settings.channel_mix is not None and settings.channel_mix != ChannelMixParams():
        out.append(tr("channel mix"))
    if settings.low_pass is not None and settings.low_pass.smoothing > 1.0:
        out.append(tr("low-pass {smoothing}", smoothing=settings.low_pass.smoothing))
    if settings.bass_boost is not None and settings.bass_boost.gain_db > 0:
        out.append(tr("bass +{db} dB", db=settings.bass_boost.gain_db))
    if settings.reverb is not None and settings.reverb.wet_level > 0:
        out.append(tr("reverb"))
    return out


def linked_title(track: Track, limit: int = 150) -> str:
    """The escaped title, a markdown link to the track's page when it has one."""
    name = safe(track.title or track.display_name, limit)
    if track.url.startswith(("https://", "http://")):
        # A ")" would end the markdown link early.
        return f"[{name}]({track.url.replace(')', '%29')})"
    return name


def now_playing_embed(state: NowPlaying) -> discord.Embed:
    """The panel's embed, in the current locale (the guild's for the panel: ``PanelManager``; the reader's for a
    ``/nowplaying`` copy)."""
    entry, track = state.entry, state.entry.track
    heading = "⏸️ " + tr("Paused") if state.paused else "🎶 " + tr("Now playing")
    if entry.autoplay:
        heading += " · " + tr("autoplay pick")
    lines = [f"**{linked_title(track)}**"]
    if track.artist:
        lines.append(tr("by {artist}", artist=safe(track.artist, 80)))
    lines.append(f"{progress_bar(state.position_s, state.length_s)} `{clock(state.position_s, state.length_s)}`")
    if state.ends_at is not None:
        # Discord renders this relative time live on every client (in its own language): the panel stays right
        # between edits.
        when = f"<t:{int(state.ends_at)}:R>"
        lines.append(tr("ends {when}", when=when))
    if state.skipped is not None:
        lines.append("⏩ " + tr("Skipped {what} (SponsorBlock)", what=state.skipped))
    if state.lyric_line is not None:
        lines.append(f"🎤 *{safe(state.lyric_line, 200)}*")
    embed = discord.Embed(title=heading, description="\n".join(lines),
                          colour=PAUSED_COLOUR if state.paused else OK_COLOUR)
    if track.thumbnail_url and track.thumbnail_url.startswith("https://"):
        embed.set_thumbnail(url=track.thumbnail_url)
    embed.add_field(name=tr("Requested by"), value=requester_text(entry), inline=True)
    embed.add_field(name=tr("Loop"), value=LOOP_ICONS[state.loop] + pgettext(CHOICE, state.loop.value), inline=True)
    embed.add_field(name=tr("Volume"), value=tr("{percent} %", percent=state.volume_percent), inline=True)
    embed.add_field(name=tr("Filters"), value=truncate(", ".join(state.filters), 1000) or tr("none"), inline=False)
    embed.add_field(name=tr("Up next"), value=_next_text(state), inline=False)
    if state.upcoming > 1:
        embed.set_footer(text=ngettext("{n} track in the queue · /queue to see them",
                                       "{n} tracks in the queue · /queue to see them", state.upcoming,
                                       n=state.upcoming))
    return embed


def _next_text(state: NowPlaying) -> str:
    if state.next_up is None:
        return tr("autoplay picks something") if state.autoplay_on else tr("nothing: add more with /play")
    if state.loop is LoopMode.TRACK:
        return tr("this track again (loop)")
    return track_line(state.next_up, 80)


def ended_embed() -> discord.Embed:
    return discord.Embed(title="⏹️ " + tr("Nothing playing"), colour=ENDED_COLOUR,
                         description=tr("The music has stopped. Use /play to start again."))
