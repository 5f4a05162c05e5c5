#!/usr/bin/env bash
# Stop the MariaDB of a state dir (scripts/mariadb/start.sh) by the PID in its pid file, and wait for it.
#
#     scripts/mariadb/stop.sh        (MARIADB_STATE_DIR as for start.sh)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
STATE="${MARIADB_STATE_DIR:-$ROOT/.services/mariadb/state}"
PIDFILE="$STATE/mariadbd.pid"
if [[ ! -f "$PIDFILE" ]] || ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    echo "[mariadb-stop] not running"
    exit 0
fi
pid="$(cat "$PIDFILE")"
kill "$pid"
for _ in $(seq 1 120); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; echo "[mariadb-stop] stopped $pid"; exit 0; }
    sleep 0.5
done
kill -9 "$pid" 2>/dev/null || true
rm -f "$PIDFILE"
echo "[mariadb-stop] killed $pid"
