#!/usr/bin/env bash
# Stop the StatsD, graphite-web and carbon-cache started by start.sh from the same state dir,
# by the PIDs in <state>/run/*.pid only (never by process name: the npm statsd daemon renames
# itself). Each PID is checked against the start time recorded next to it, so a PID reused by
# another process is left alone. SIGTERM to the process group (start.sh ran each under setsid,
# so the group id is the PID), SIGKILL after GRAPHITE_STOP_TIMEOUT seconds (default 20).
#
#     scripts/graphite/stop.sh
#
# Environment: GRAPHITE_STATE_DIR (default: $ROOT/.services/graphite/state).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
STATE="${GRAPHITE_STATE_DIR:-$ROOT/.services/graphite/state}"
RUN="$STATE/run"
TIMEOUT="${GRAPHITE_STOP_TIMEOUT:-20}"

say() { printf '[graphite-stop] %s\n' "$*"; }

start_time() {  # pid -> field 22 of /proc/<pid>/stat
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    set -- $stat
    echo "${20}"
}

status=0
# StatsD first (its last flush goes to a still running carbon), carbon last (flushes its cache).
for name in statsd graphite-web carbon-cache; do
    pidfile="$RUN/$name.pid"
    [[ -f "$pidfile" ]] || { say "$name: not running (no pidfile)"; continue; }
    pid="$(cat "$pidfile")"
    if [[ ! "$pid" =~ ^[0-9]+$ ]]; then
        say "$name: bad pidfile $pidfile: '$pid'"
        rm -f "$pidfile" "$RUN/$name.starttime"
        status=1
        continue
    fi
    want="$(cat "$RUN/$name.starttime" 2>/dev/null || true)"
    got="$(start_time "$pid" || true)"
    if [[ -z "$got" ]]; then
        say "$name: pid $pid not running: removing stale pidfile"
        rm -f "$pidfile" "$RUN/$name.starttime"
        continue
    fi
    if [[ -n "$want" && "$want" != "$got" ]]; then
        say "$name: pid $pid belongs to another process now (start time $got != $want): left alone"
        rm -f "$pidfile" "$RUN/$name.starttime"
        continue
    fi
    # The group is ours only if the PID leads it (start.sh used setsid).
    target="$pid"
    [[ "$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" == "$pid" ]] && target="-$pid"
    kill -TERM -- "$target" 2>/dev/null || true
    deadline=$((SECONDS + TIMEOUT))
    while kill -0 "$pid" 2>/dev/null && (( SECONDS < deadline )); do
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "$name: pid $pid still alive after $TIMEOUT s: SIGKILL"
        kill -KILL -- "$target" 2>/dev/null || true
    fi
    # Children left behind in the group (gunicorn workers of a killed master).
    if [[ "$target" == "-$pid" ]] && kill -0 -- "-$pid" 2>/dev/null; then
        sleep 0.5
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile" "$RUN/$name.starttime"
    say "$name: stopped (pid $pid)"
done
rm -f "$STATE/ports.json"
exit "$status"
