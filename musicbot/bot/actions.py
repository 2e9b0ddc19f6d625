"""What each playback action does to a session, and when it is refused: one rule per action.

Slash commands (``cogs/control.py``, ``cogs/queue.py``) and the now-playing panel's buttons
(``cogs/nowplaying.py``) call these, so a click and the command it stands for can never decide
differently (they did: shuffle's refusal read one way from the button, another from /shuffle).
Who may act (voice channel, DJ) is ``checks.py``'s; how to answer is the caller's.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable
from typing import TYPE_CHECKING, TypeVar

from musicbot.bot.errors import CommandRefusedError
from musicbot.bot.format import format_duration, safe, track_title
from musicbot.bot.replies import defer
from musicbot.dsp.params import IDENTITY_SETTINGS, FilterSettings
from musicbot.dsp.presets import EQ_PRESETS, FILTER_PRESETS, apply_preset
from musicbot.dsp.settings import settings_to_json
from musicbot.i18n import N_, Listing, lazy, lazy_plural, tr
from musicbot.queue import LoopMode, QueueEntry
from musicbot.voice.protocol import MAX_PLAYER_VOLUME

if TYPE_CHECKING:
    from musicbot.bot.interaction import Interaction
    from musicbot.session import GuildSession
    from musicbot.storage import GuildSettings

T = TypeVar("T")

# Discord wants a first answer within 3 s; work still running after this long gets a "thinking…" first.
DEFER_AFTER_S = 2.0
MAX_VOLUME_PERCENT = round(MAX_PLAYER_VOLUME * 100)
MAX_INDEX = 10_000  # the largest queue a guild may allow
FILTERS_OFF = "off"  # the filter preset choice that turns every filter off
# Names users read, per Lavalink key (``/filter`` and ``/settings filter`` use them too).
# English, as the /filter choices show them; ``filter_label`` translates (the choices are translated by
# Discord's own localizations, bot/translator.py).
FILTER_LABELS: dict[str, str] = {
    "volume": N_("Volume"), "equalizer": N_("Equalizer"), "karaoke": N_("Karaoke"), "timescale": N_("Timescale"),
    "tremolo": N_("Tremolo"), "vibrato": N_("Vibrato"), "rotation": N_("8D rotation"),
    "distortion": N_("Distortion"), "channelMix": N_("Channel mix"), "lowPass": N_("Low-pass"),
    "bassBoost": N_("Bass boost"), "reverb": N_("Reverb"),
}


def filter_label(key: str) -> str:
    """A filter's name in the current locale (the Lavalink key itself when it has no label)."""
    label = FILTER_LABELS.get(key)
    return tr(label) if label is not None else key


class NothingPlayingRefusal(CommandRefusedError):
    def __init__(self) -> None:
        super().__init__(lazy("Nothing is playing. Use /play to start something."))


class FilterNotAllowedError(CommandRefusedError):
    def __init__(self, keys: list[str]) -> None:
        names = Listing(lazy(FILTER_LABELS[k]) if k in FILTER_LABELS else k for k in keys)
        super().__init__(lazy_plural(
            "{names} is not allowed on this server (a server manager can change that with /settings filter).",
            "{names} are not allowed on this server (a server manager can change that with /settings filter).",
            len(keys), names=names))


async def soon(interaction: Interaction, work: Awaitable[T]) -> T:
    """Await ``work``, deferring the reply only if it is still running after ``DEFER_AFTER_S``.

    Opening a track (skip, seek, previous) is usually instant but may mean re-resolving a stream
    URL; quick refusals raised by ``work`` still reach the user as a plain ephemeral answer.
    """
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=DEFER_AFTER_S)
    if not done:
        await defer(interaction)
    return await task


def current_entry(session: GuildSession) -> QueueEntry:
    """The entry playing now; refuses when there is none."""
    entry = session.queue.current
    if entry is None:
        raise NothingPlayingRefusal()
    return entry


def now_playing_line(session: GuildSession) -> str:
    entry = session.queue.current
    if entry is None:
        return tr("The queue is empty now.")
    if entry.autoplay:
        return tr("Now playing: {title} (autoplay)", title=track_title(entry.track))
    return tr("Now playing: {title}", title=track_title(entry.track))


# ---------------------------------------------------------------- playback
def pause(session: GuildSession) -> None:
    current_entry(session)
    if session.paused:
        raise CommandRefusedError(lazy("The music is already paused. Use /resume to continue."))
    session.pause()


def resume(session: GuildSession) -> None:
    current_entry(session)
    if not session.paused:
        raise CommandRefusedError(lazy("The music is not paused."))
    session.resume()


def toggle_pause(session: GuildSession) -> None:
    """The panel's ⏯ button."""
    current_entry(session)
    if session.paused:
        session.resume()
    else:
        session.pause()


async def skip(session: GuildSession) -> QueueEntry | None:
    """Skip at once (the vote, if any, was the caller's); the entry playing now, if any."""
    current_entry(session)
    return await session.skip()


async def previous(session: GuildSession) -> QueueEntry:
    return await session.previous()


async def seek(session: GuildSession, seconds: float) -> float:
    """Jump to ``seconds`` into the current track on the users' clock (/seek, the dashboard: skipped
    stretches not counted); refused for a live stream and past the end."""
    entry = current_entry(session)
    duration = session.length_s
    if entry.track.is_live or duration is None:
        raise CommandRefusedError(lazy("This is a live stream; it can't be seeked."))
    if seconds >= duration:
        raise CommandRefusedError(lazy("That is past the end: the track is {length} long.",
                                       length=format_duration(duration)))
    await session.seek(seconds)
    return seconds


def stop(session: GuildSession) -> None:
    if session.queue.current is None and not session.queue.upcoming:
        raise NothingPlayingRefusal()
    session.stop()


def set_volume(session: GuildSession, percent: int) -> int:
    # Discord enforces the command's range, but nothing stops a client from sending other numbers.
    if not 0 <= percent <= MAX_VOLUME_PERCENT:
        raise CommandRefusedError(lazy("The volume goes from 0 to {max} %.", max=MAX_VOLUME_PERCENT))
    session.set_volume(percent / 100)
    return percent


def step_volume(session: GuildSession, step: int) -> int:
    """The panel's 🔉/🔊: ``step`` percent down or up, kept within range."""
    percent = min(MAX_VOLUME_PERCENT, max(0, round(session.volume * 100) + step))
    return set_volume(session, percent)


# ---------------------------------------------------------------- the queue
def shuffle(session: GuildSession, rng: random.Random) -> int:
    if len(session.queue.upcoming) < 2:
        raise CommandRefusedError(lazy("There is nothing to shuffle: add at least two tracks with /play."))
    return session.shuffle(rng)


def set_loop(session: GuildSession, mode: LoopMode) -> LoopMode:
    session.set_loop(mode)
    return mode


def cycle_loop(session: GuildSession) -> LoopMode:
    """The panel's 🔁 button: off → track → queue → off."""
    return set_loop(session, session.queue.loop.cycled())


def clear(session: GuildSession) -> list[QueueEntry]:
    if not session.queue.upcoming:
        raise CommandRefusedError(lazy("The queue is already empty."))
    return session.clear()


# ---------------------------------------------------------------- filters
def changed_filters(before: FilterSettings, after: FilterSettings) -> list[str]:
    """Keys of the filters ``after`` turns on or changes (turning one off is not listed)."""
    old, new = settings_to_json(before), settings_to_json(after)
    return [key for key, value in new.items() if old.get(key) != value]


def check_filters_allowed(settings: GuildSettings, before: FilterSettings, after: FilterSettings) -> None:
    """Refuses, naming them, the filters ``after`` turns on that the guild forbids."""
    forbidden = [key for key in changed_filters(before, after) if not settings.filter_allowed(key)]
    if forbidden:
        raise FilterNotAllowedError(forbidden)


def apply_filter_preset(session: GuildSession, settings: GuildSettings, name: str) -> None:
    """A preset by name (``FILTERS_OFF``: every filter off, always allowed)."""
    if name == FILTERS_OFF:
        session.set_filters(IDENTITY_SETTINGS)
        return
    before = session.filters
    after = apply_preset(before, name)  # FilterConfigError (a MusicBotError) for an unknown name
    check_filters_allowed(settings, before, after)
    session.set_filters(after)


# ---------------------------------------------------------------- filter presets (/filter, /me filters)
def active_names(settings: FilterSettings) -> str:
    names = [filter_label(k) for k in settings_to_json(settings)]
    return ", ".join(names) if names else tr("none")


class UnknownPresetError(CommandRefusedError):
    def __init__(self, name: str) -> None:
        super().__init__(lazy("There is no preset “{name}”. Filter presets: {filters}; EQ presets: {eqs}.",
                              name=safe(name, 40), filters=", ".join(sorted(FILTER_PRESETS)),
                              eqs=", ".join(sorted(EQ_PRESETS))))


def checked_preset(name: str) -> str:
    """The preset's key for ``name`` (any case, spaces around), or ``UnknownPresetError``."""
    key = name.strip().lower()
    if preset_kind(key) is None:
        raise UnknownPresetError(name)
    return key


def preset_kind(name: str) -> str | None:
    if name in FILTER_PRESETS:
        return "filter"
    return "equalizer" if name in EQ_PRESETS else None
