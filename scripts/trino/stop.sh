#!/usr/bin/env bash
# Stop the Trino of a state dir (scripts/trino/start.sh) by the PID in its pid file, and wait for it.
#
#     scripts/trino/stop.sh        (TRINO_STATE_DIR as for start.sh)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
STATE="${TRINO_STATE_DIR:-$ROOT/.services/trino/state}"
PIDFILE="$STATE/data/var/run/launcher.pid"
if [[ ! -f "$PIDFILE" ]] || ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    echo "[trino-stop] not running"
    exit 0
fi
pid="$(cat "$PIDFILE")"
kill "$pid"
for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; echo "[trino-stop] stopped $pid"; exit 0; }
    sleep 1
done
kill -9 "$pid" 2>/dev/null || true
rm -f "$PIDFILE"
echo "[trino-stop] killed $pid"
