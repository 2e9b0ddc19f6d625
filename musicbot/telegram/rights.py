"""Who in a linked Telegram chat may do what: one rule, applied where the guild plays
(``bot/telegram_control.py``), so every command and button is judged the same way.

The chat's admins (creator, administrators, an anonymous admin writing as the chat) always may;
other members as the guild's ``telegram_control`` setting says (``/settings telegram-control``).
The bridge itself (its mirror) reads without an actor.
"""

from __future__ import annotations

from musicbot.storage.guild_settings import TelegramControl
from musicbot.web.player_api import NotAllowedError

ADMINS_ONLY = ("Only this chat's admins can use the music commands here (a Discord server manager can open them "
               "to everyone with /settings telegram-control).")
VIEW_ONLY = ("Only this chat's admins can control the music here; members can follow it with /np, /queue and "
             "/list (a Discord server manager can change that with /settings telegram-control).")


def check(control: TelegramControl, *, chat_admin: bool | None, acting: bool) -> None:
    """``NotAllowedError`` when a member (``chat_admin`` False) may not view (``acting`` False) or act.
    ``chat_admin`` None: the bridge itself, which only views."""
    if chat_admin is None:
        if acting:
            raise NotAllowedError("The bridge acts only for a member of the chat.")
        return
    if chat_admin or control is TelegramControl.EVERYONE:
        return
    if control is TelegramControl.ADMINS:
        raise NotAllowedError(ADMINS_ONLY)
    if acting:
        raise NotAllowedError(VIEW_ONLY)
