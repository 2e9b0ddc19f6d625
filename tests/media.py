"""Test-side access to the generated media helpers."""

from musicbot.sources.synth import music_like, opus_packets, read_wav, tone, write_audio

__all__ = ["music_like", "opus_packets", "read_wav", "tone", "write_audio"]
