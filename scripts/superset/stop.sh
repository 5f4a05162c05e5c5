#!/usr/bin/env bash
# Stop the Superset started by start.sh from the same state directory, by its PID only.
#
#     scripts/superset/stop.sh
#
# Environment: SUPERSET_STATE_DIR (default: $ROOT/.services/superset), SUPERSET_VENV.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${SUPERSET_VENV:-$ROOT/.services/superset/venv}"
STATE="${SUPERSET_STATE_DIR:-$ROOT/.services/superset}"
PIDFILE="$STATE/superset.pid"

say() { printf '[superset-stop] %s\n' "$*"; }

if [[ ! -f "$PIDFILE" ]]; then
    say "not running (no $PIDFILE)"
    exit 0
fi
PID="$(cat "$PIDFILE")"
[[ "$PID" =~ ^[0-9]+$ ]] || { say "bad pidfile $PIDFILE: '$PID'"; exit 1; }

# Guard against PID reuse: only touch the process if it is our gunicorn.
if ! kill -0 "$PID" 2>/dev/null || ! tr '\0' ' ' <"/proc/$PID/cmdline" 2>/dev/null | grep -qF "$VENV/bin/gunicorn"; then
    say "pid $PID is not running (or is not this Superset's gunicorn): removing stale pidfile"
    rm -f "$PIDFILE" "$STATE/superset.url"
    exit 0
fi

# TERM the master: gunicorn stops its workers gracefully (--graceful-timeout 10).
kill -TERM "$PID"
for _ in $(seq 1 150); do
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.2
done
if kill -0 "$PID" 2>/dev/null; then
    say "pid $PID still alive after 30 s: SIGKILL to its process group"
    # start.sh ran gunicorn under setsid, so its process group id is its PID.
    kill -KILL -- "-$PID" 2>/dev/null || kill -KILL "$PID" 2>/dev/null || true
fi
# Workers left behind by a killed master are in the same process group.
if kill -0 -- "-$PID" 2>/dev/null; then
    sleep 1
    kill -KILL -- "-$PID" 2>/dev/null || true
fi
rm -f "$PIDFILE" "$STATE/superset.url"
say "stopped (pid $PID)"
