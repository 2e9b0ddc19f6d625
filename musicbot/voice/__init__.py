"""Real-time playback: the engine that turns chunks into Opus packets, and (later) the AudioSource."""
