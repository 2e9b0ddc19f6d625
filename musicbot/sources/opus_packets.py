"""Reading an Opus packet's table-of-contents byte (RFC 6716 §3.1).

Hand-written because it is ten lines: discord.py's equivalent needs libopus loaded through
ctypes, and PyAV does not expose per-packet durations reliably (the last WebM packet of a
clip can claim 7 ms while holding a full 20 ms frame).
"""

from __future__ import annotations

OPUS_FRAME_SAMPLES_48K = 960

# Frame size in 48 kHz samples for the TOC config number (0–31): SILK 10/20/40/60 ms,
# hybrid 10/20 ms, CELT 2.5/5/10/20 ms.
_CONFIG_FRAME_SAMPLES = (
    *(480, 960, 1920, 2880) * 3,
    *(480, 960) * 2,
    *(120, 240, 480, 960) * 4,
)


def opus_packet_samples(packet: bytes) -> int:
    """Number of 48 kHz samples per channel the packet decodes to; 0 for a malformed packet."""
    if not packet:
        return 0
    toc = packet[0]
    per_frame = _CONFIG_FRAME_SAMPLES[toc >> 3]
    code = toc & 0x03
    if code == 0:
        frames = 1
    elif code in (1, 2):
        frames = 2
    else:
        if len(packet) < 2:
            return 0
        frames = packet[1] & 0x3F
    return per_frame * frames


def is_passthrough_packet(packet: bytes) -> bool:
    """True when the packet holds exactly one 20 ms frame, as Discord's voice clock assumes."""
    return opus_packet_samples(packet) == OPUS_FRAME_SAMPLES_48K
