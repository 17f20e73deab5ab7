#!/bin/sh
# liqwatch's container entrypoint: `docker run IMAGE [COMMAND ARGS...]` (default: run).
#
# - The config is /config/config.toml when mounted (LIQWATCH_CONFIG overrides); secrets come
#   from the environment (TELEGRAM_TOKEN, DISCORD_TOKEN, TELEGRAM_WEBHOOK_SECRET, ...).
# - The database lives on the /data volume (the working directory, so the default
#   [store] path = "liqwatch.db" lands there); it must be writable by this user.
# - `exec` hands PID 1 to liqwatch itself, so `docker stop` (SIGTERM) reaches it directly and
#   it shuts down cleanly: jobs drained, adapters stopped, the database closed.
set -eu

config="${LIQWATCH_CONFIG:-/config/config.toml}"
data="${LIQWATCH_DATA:-/data}"

if [ "$#" -eq 0 ]; then
    set -- run
fi

if [ ! -d "$data" ] || [ ! -w "$data" ]; then
    echo "liqwatch: $data is not a writable directory for uid $(id -u):" \
        "mount a volume there (docker run -v liqwatch-data:$data ...) or chown it" >&2
    exit 1
fi
cd "$data"

case "$1" in
    run | chat | liq | heatmap | top | doctor | discord-sync)
        wants_config=yes
        for arg in "$@"; do
            [ "$arg" = "--config" ] && wants_config=no
        done
        if [ "$wants_config" = yes ] && [ -f "$config" ]; then
            set -- "$@" --config "$config"
        fi
        exec "${LIQWATCH_BIN:-liqwatch}" "$@"
        ;;
    demo | --help | -h)
        exec "${LIQWATCH_BIN:-liqwatch}" "$@"
        ;;
    *)
        exec "$@" # anything else (sh, python...) for debugging
        ;;
esac
