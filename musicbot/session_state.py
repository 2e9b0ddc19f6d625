"""``PlayState``: what a guild's session is doing, as one value with its allowed transitions.

Modelled on songbird's ``PlayMode``. One value instead of loose flags makes the combinations that
used to go wrong unrepresentable: "stopped but still paused" (item 2 of issue 14) cannot be said.
"""

from __future__ import annotations

import enum


class PlayState(enum.Enum):
    IDLE = "idle"  # no current track: nothing is sent
    PLAYING = "playing"  # a current track, heard (or opening)
    PAUSED = "paused"  # discord.py's player paused: five silence frames, then nothing until resumed
    # Restored paused after a restart: the track is open at its position and discord.py's player
    # starts only at /resume (starting it paused would send a packet or two first).
    HELD = "held"

    @property
    def paused(self) -> bool:
        return self in (PlayState.PAUSED, PlayState.HELD)

    def can_become(self, other: PlayState) -> bool:
        return other is self or other in _ALLOWED[self]


_ALLOWED: dict[PlayState, frozenset[PlayState]] = {
    PlayState.IDLE: frozenset({PlayState.PLAYING, PlayState.HELD}),
    PlayState.PLAYING: frozenset({PlayState.PAUSED, PlayState.IDLE}),
    PlayState.PAUSED: frozenset({PlayState.PLAYING, PlayState.IDLE}),
    PlayState.HELD: frozenset({PlayState.PLAYING, PlayState.IDLE}),
}


class TransitionError(RuntimeError):
    """A bug: the session asked for a transition its state does not allow."""

    def __init__(self, before: PlayState, after: PlayState) -> None:
        super().__init__(f"session state {before.value} cannot become {after.value}")
