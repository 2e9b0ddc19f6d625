# musicbot: one process, SQLite in /data by default. Build: docker build -t musicbot .
# Run:   docker run -e DISCORD_TOKEN=... -v musicbot-data:/data -p 8080:8080 --ulimit rtprio=10 musicbot
#        (--ulimit rtprio=10 lets the voice send threads run at real-time priority: see README)
# With Postgres: deploy/docker-compose.yml.
#
# The install steps are the quick start's: the same make targets (`make deps`, then `make install`),
# the same requirement set without the dev extra (EXTRAS=). Images cannot be built on our
# development machines (no Docker engine, no registry), so tests/test_deploy.py checks what the image
# runs: these steps against the Makefile's, the HEALTHCHECK command against a real server, tini as
# PID 1, the settings below.
FROM python:3.11-slim-bookworm

# tini as PID 1: forwards SIGTERM to the bot (a PID 1 without a handler ignores it) and reaps
# orphans (yt-dlp's deno runs). make: the install goes through the Makefile. No node: deno comes from
# the pip dependency yt-dlp[default,deno], in the venv's bin/ where yt-dlp looks first. libopus and
# FFmpeg come inside the PyAV wheel, so no system audio libraries are needed.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini make \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/app/.venv/bin:$PATH \
    MUSICBOT_DATA_DIR=/data MUSICBOT_LOG_FORMAT=json \
    MUSICBOT_HTTP_HOST=0.0.0.0 MUSICBOT_HTTP_PORT=8080
WORKDIR /app

# Dependencies in a layer of their own, before the code: a code change does not reinstall them.
COPY Makefile pyproject.toml ./
COPY deploy/requirements.py deploy/
RUN make deps EXTRAS=

COPY README.md ./
COPY musicbot ./musicbot
# Bytecode compiled once here: the bot starts without compiling its modules at every start.
RUN make install EXTRAS= \
    && python -m compileall -q musicbot \
    && useradd --system --create-home --uid 10001 musicbot \
    && mkdir -p /data && chown musicbot /data

USER musicbot
VOLUME ["/data"]
EXPOSE 8080
# tini passes SIGTERM to the bot alone (no -g): the bot stops its render workers itself, after it
# saved every guild's state; `docker stop` waits 10 s by default, give it `-t 15` (compose: 20 s).
STOPSIGNAL SIGTERM
# python:3.11-slim has no curl. http.client, not urllib: urllib would send this through HTTP_PROXY.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import http.client as h, os; c = h.HTTPConnection('127.0.0.1', int(os.environ.get('MUSICBOT_HTTP_PORT') or 8080), timeout=4); c.request('GET', '/health'); raise SystemExit(c.getresponse().status != 200)"]
ENTRYPOINT ["/usr/bin/tini", "--", "/app/.venv/bin/musicbot"]
CMD ["run"]
