# liqwatch: the bot, its scheduler and its database on one volume.
#   docker build -t liqwatch .
#   docker run -d --name liqwatch -e TELEGRAM_TOKEN=... -v liqwatch-data:/data \
#       -v "$PWD/config.toml:/config/config.toml:ro" liqwatch
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLBACKEND=Agg \
    MPLCONFIGDIR=/tmp/matplotlib

WORKDIR /src
COPY pyproject.toml README.md ./
COPY core ./core
COPY bot ./bot
RUN pip install . && rm -rf /src

COPY docker/entrypoint.sh /usr/local/bin/liqwatch-entrypoint
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin liqwatch \
    && mkdir -p /data /config \
    && chown liqwatch:liqwatch /data \
    && chmod 0755 /usr/local/bin/liqwatch-entrypoint

USER liqwatch
WORKDIR /data
VOLUME ["/data"]
# Telegram webhook mode listens here ([telegram] listen = "0.0.0.0", port = 8443)
EXPOSE 8443
# liqwatch stops cleanly on SIGTERM (drains running jobs, stops the adapters, closes the DB);
# give it the time to do so: docker stop -t 30 / compose stop_grace_period.
STOPSIGNAL SIGTERM
ENTRYPOINT ["liqwatch-entrypoint"]
CMD ["run"]
