"""How things read in Telegram: HTML (parse mode ``HTML``), every text the bot did not write escaped
with ``html.escape`` (track titles from the internet, Discord names, Telegram names, a reason typed
in Discord), so nothing anyone chooses can break the markup or pass for the bot's own.

A ``Post`` is a message as values (text and button rows of ``(label, callback_data)``), so this
module needs no aiogram; ``outbox.py`` turns it into Telegram's types.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from musicbot.telegram.commands import (
    MENU,
    PRESETS,
    Button,
    QueuePage,
    SkipTrack,
    StopButton,
    TogglePause,
    button_data,
)
from musicbot.telegram.ops import ChatPlayer, Ended
from musicbot.track import format_duration
from musicbot.web.player_api import EntryView, PlayerView

MAX_TEXT = 4096  # Telegram's limit for a message, after its HTML is parsed
QUEUE_PAGE = 10
BAR_CELLS = 14
OUTCOME_LINES = {"skipped": "⏭ Skipped: {}", "finished": "✅ Finished: {}", "stopped": "⏹ Stopped: {}",
                 "failed": "⚠️ Could not play: {}"}


@dataclass(frozen=True)
class Post:
    text: str  # HTML
    buttons: tuple[tuple[tuple[str, str], ...], ...] = field(default=())  # rows of (label, callback_data)


def esc(text: str, limit: int = 200) -> str:
    """``text`` shown literally: one line, at most ``limit`` characters, HTML escaped."""
    flat = " ".join(text.split())
    cut = flat if len(flat) <= limit else flat[: limit - 1] + "…"
    return html.escape(cut, quote=True)


def _row(*buttons: tuple[str, Button]) -> tuple[tuple[str, str], ...]:
    return tuple((label, button_data(button)) for label, button in buttons)


def _length(seconds: float | None) -> str:
    return "live" if seconds is None else format_duration(seconds)


def title_link(entry: EntryView, limit: int = 120) -> str:
    name = esc(f"{entry.artist} - {entry.title}" if entry.artist else entry.title, limit)
    if entry.url.startswith(("https://", "http://")):
        return f'<a href="{html.escape(entry.url, quote=True)}">{name}</a>'
    return name


def progress(position_s: float, duration_s: float | None) -> str:
    if duration_s is None:
        return f"🔴 LIVE <code>{format_duration(position_s)}</code>"
    filled = min(BAR_CELLS - 1, max(0, int(position_s / duration_s * BAR_CELLS))) if duration_s else 0
    bar = "▬" * filled + "🔘" + "▬" * (BAR_CELLS - 1 - filled)
    return f"{bar} <code>{format_duration(position_s)} / {format_duration(duration_s)}</code>"


def who(state: ChatPlayer, entry: EntryView) -> str:
    return esc(state.requesters.get(entry.entry_id, "someone"), 80)


def now_playing(state: ChatPlayer) -> Post:
    """The mirror's message (and /np's answer): track, requester, length, link, progress, buttons."""
    player = state.player
    entry = player.current
    if entry is None:
        return Post("⏹ Nothing is playing." + _where(player))
    heading = "⏸ <b>Paused</b>" if player.paused else "🎶 <b>Now playing</b>"
    lines = [heading, f"<b>{title_link(entry)}</b>", f"Requested by {who(state, entry)}",
             progress(player.position_s, entry.duration_s),
             f"🔊 {player.volume} % · 🔁 loop {esc(player.loop, 10)}" + _filters(player)]
    if player.queue:
        upcoming = player.queue[0]
        more = f" · {player.queue_length - 1} more queued" if player.queue_length > 1 else ""
        lines.append(f"Next: {esc(upcoming.title, 80)} ({_length(upcoming.duration_s)}){more}")
    text = "\n".join(lines) + _where(player)
    pause = ("▶️ Resume", TogglePause(entry.entry_id)) if player.paused else ("⏸ Pause", TogglePause(entry.entry_id))
    return Post(text, (_row(pause, ("⏭ Skip", SkipTrack(entry.entry_id)), ("⏹ Stop", StopButton())),))


def played(state: ChatPlayer, entry: EntryView) -> Post:
    """What an earlier now-playing message becomes once its track is over (its buttons gone)."""
    return Post(f"🎵 Played: {title_link(entry)} · requested by {who(state, entry)}")


def _filters(player: PlayerView) -> str:
    return f" · 🎛 {esc(', '.join(player.filters), 100)}" if player.filters else ""


def _where(player: PlayerView) -> str:
    if not player.connected:
        return ""
    listening = len(player.listeners)
    return f"\n🎧 {esc(player.channel_name or 'voice', 60)} · {listening} listening"


def event_line(ended: Ended) -> str:
    return OUTCOME_LINES.get(ended.outcome, "{}").format(esc(ended.title, 120))


def queue_page(state: ChatPlayer, page: int) -> Post:
    player = state.player
    pages = max(1, -(-len(player.queue) // QUEUE_PAGE))
    page = min(max(1, page), pages)
    lines = [f"📜 <b>Queue</b> · {player.queue_length} track{'s' if player.queue_length != 1 else ''}"
             f" · page {page}/{pages}"]
    if player.current is not None:
        lines.append(f"Now: {title_link(player.current, 80)} ({_length(player.current.duration_s)})")
    start = (page - 1) * QUEUE_PAGE
    for number, entry in enumerate(player.queue[start:start + QUEUE_PAGE], start + 1):
        lines.append(f"{number}. {esc(entry.title, 70)} ({_length(entry.duration_s)}) — {who(state, entry)}")
    if not player.queue:
        lines.append("Nothing queued: add songs with /play.")
    hidden = player.queue_length - len(player.queue)
    if hidden > 0 and page == pages:
        lines.append(f"… and {hidden} more.")
    buttons: list[tuple[str, Button]] = []
    if page > 1:
        buttons.append(("◀️ Previous", QueuePage(page - 1)))
    if page < pages:
        buttons.append(("Next ▶️", QueuePage(page + 1)))
    return Post("\n".join(lines), (_row(*buttons),) if buttons else ())


def listeners(player: PlayerView) -> str:
    if not player.connected:
        return "The bot is not in a voice channel in Discord right now."
    names = ", ".join(esc(name, 40) for _, name in player.listeners) or "nobody"
    return f"🎧 In <b>{esc(player.channel_name or 'the voice channel', 60)}</b> ({len(player.listeners)}): {names}"


def help_text(linked: bool) -> str:
    lines = ["🎶 <b>Music from Discord, controlled here</b>"]
    lines += [f"/{name} — {esc(what)}" for name, what in MENU]
    lines += ["/confirm CODE — link this chat (the code /telegram link shows in Discord)", "",
              "/play plays in the voice channel the bot is in: start the music in Discord first (/play or /join), "
              "then songs asked for here join its queue, credited to you.",
              f"Presets for /filter: {esc(', '.join(PRESETS), 400)}."]
    if not linked:
        lines += ["", "This chat is not linked yet: send /id and give the number to a Discord server manager, who "
                      "runs /telegram link there."]
    return "\n".join(lines)


def not_linked(chat_id: int) -> str:
    return (f"This chat is not linked to a Discord server yet. A server manager runs "
            f"<code>/telegram link {chat_id}</code> in Discord, then a chat admin sends the code here.")


def refusal(message: str) -> str:
    return f"⚠️ {esc(message, 1000)}"


def queued(entries: list[EntryView], state: ChatPlayer) -> str:
    if not entries:
        return "Nothing was queued."
    first = entries[0]
    if len(entries) > 1:
        return f"➕ Queued {len(entries)} tracks, starting with {title_link(first, 80)}."
    current = state.player.current
    if current is not None and current.entry_id == first.entry_id:
        return f"▶️ Playing {title_link(first, 80)} ({_length(first.duration_s)})."
    position = next((n for n, e in enumerate(state.player.queue, 1) if e.entry_id == first.entry_id), None)
    where = f" at position {position}" if position is not None else ""
    return f"➕ Queued {title_link(first, 80)} ({_length(first.duration_s)}){where}."


def mention_posts(by: str, reason: str, members: list[tuple[int, str]], per_message: int = 30) -> list[str]:
    """``/all``'s messages: who asks and why, then the members as mentions, ``per_message`` at a time."""
    head = f"📣 <b>{esc(by, 60)}</b> (Discord): {esc(reason, 500)}"
    mentions = [f'<a href="tg://user?id={user_id}">{esc(name, 40)}</a>' for user_id, name in members]
    chunks = [mentions[i:i + per_message] for i in range(0, len(mentions), per_message)] or [[]]
    return [("\n".join([head, ", ".join(chunk)]) if n == 0 else ", ".join(chunk)) if chunk else head
            for n, chunk in enumerate(chunks)]
