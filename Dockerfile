# musicbot: one process, SQLite in /data by default. Build: docker build -t musicbot .
# Run:   docker run -e DISCORD_TOKEN=... -v musicbot-data:/data --ulimit rtprio=10 musicbot
#        (--ulimit rtprio=10 lets the voice send threads run at real-time priority: see README)
FROM node:22-bookworm-slim AS node

FROM python:3.11-slim-bookworm
# yt-dlp needs a JavaScript runtime for YouTube (node >= 22 for yt-dlp 2026.x); libopus and
# FFmpeg come inside the PyAV wheel, so no system audio libraries are needed.
COPY --from=node /usr/local/bin/node /usr/local/bin/node
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    MUSICBOT_DATA_DIR=/data MUSICBOT_LOG_FORMAT=json
WORKDIR /app
COPY pyproject.toml README.md ./
COPY musicbot ./musicbot
RUN pip install . && useradd --system --create-home --uid 10001 musicbot \
    && mkdir -p /data && chown musicbot /data
USER musicbot
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["musicbot"]
CMD ["run"]
