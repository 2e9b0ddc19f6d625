"""Operations endpoints in the bot's own process: /health, /ready, /metrics (later: dashboard)."""
