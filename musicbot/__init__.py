"""musicbot: a self-hosted Discord music bot with its own audio engine."""

__version__ = "0.1.0"
