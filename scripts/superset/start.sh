#!/usr/bin/env bash
# Start a local Apache Superset (gunicorn, 127.0.0.1 only) in the background.
#
#     scripts/superset/start.sh [PORT]
#
# Needs the venv from install.sh (run it first; it is a no-op when up to date).
# Writes superset_config.py, the SQLite metadata DB, the log and the pidfile into the state
# directory, initialises the metadata DB once per state directory (db upgrade, admin user,
# init), starts gunicorn, waits until /health answers and prints the URL. The last line
# of stdout is always `SUPERSET_URL=http://127.0.0.1:<port>` on success.
# If a Superset started from the same state directory is already running and healthy,
# prints its URL and exits 0.
#
# Environment:
#   SUPERSET_STATE_DIR        state directory (default: $ROOT/.services/superset)
#   SUPERSET_VENV             venv (default: $ROOT/.services/superset/venv)
#   SUPERSET_ADMIN_USER       admin user name (default: admin)
#   SUPERSET_ADMIN_PASSWORD   admin password (default: admin)
#   SUPERSET_WORKERS          gunicorn workers (default: 2)
#   SUPERSET_START_TIMEOUT    seconds to wait for /health (default: 180)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${SUPERSET_VENV:-$ROOT/.services/superset/venv}"
STATE="${SUPERSET_STATE_DIR:-$ROOT/.services/superset}"
ADMIN_USER="${SUPERSET_ADMIN_USER:-admin}"
ADMIN_PASSWORD="${SUPERSET_ADMIN_PASSWORD:-admin}"
WORKERS="${SUPERSET_WORKERS:-2}"
TIMEOUT="${SUPERSET_START_TIMEOUT:-180}"
PORT="${1:-}"

say() { printf '[superset-start] %s\n' "$*"; }
die() { printf '[superset-start] ERROR: %s\n' "$*" >&2; exit 1; }

[[ -x "$VENV/bin/superset" && -f "$VENV/.install-stamp" ]] \
    || die "no Superset venv at $VENV: run scripts/superset/install.sh first"
mkdir -p "$STATE"
STATE="$(cd "$STATE" && pwd)"
PIDFILE="$STATE/superset.pid"
URLFILE="$STATE/superset.url"
LOG="$STATE/superset.log"
CONFIG="$STATE/superset_config.py"
PY="$VENV/bin/python"

# health URL -> exit 0 when it answers 200 "OK" within 2 s
healthy() {
    "$PY" - "$1" <<'PYEOF'
import sys
import urllib.request

try:
    with urllib.request.urlopen(sys.argv[1] + "/health", timeout=2) as answer:
        sys.exit(0 if answer.status == 200 else 1)
except Exception:
    sys.exit(1)
PYEOF
}

# Already running from this state directory?
if [[ -f "$PIDFILE" ]]; then
    OLD_PID="$(cat "$PIDFILE")"
    if kill -0 "$OLD_PID" 2>/dev/null && [[ -f "$URLFILE" ]] && healthy "$(cat "$URLFILE")"; then
        [[ -z "$PORT" || "$(cat "$URLFILE")" == "http://127.0.0.1:$PORT" ]] \
            || say "note: already running on $(cat "$URLFILE"), not on port $PORT"
        say "already running (pid $OLD_PID)"
        echo "SUPERSET_URL=$(cat "$URLFILE")"
        exit 0
    fi
    kill -0 "$OLD_PID" 2>/dev/null \
        && die "pid $OLD_PID from $PIDFILE is alive but not healthy: run scripts/superset/stop.sh"
    rm -f "$PIDFILE" "$URLFILE"
fi

if [[ -z "$PORT" ]]; then
    PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
fi
URL="http://127.0.0.1:$PORT"

# Secret key: generated once per state directory, kept across restarts.
if [[ ! -s "$STATE/secret_key" ]]; then
    (umask 077 && "$PY" -c 'import secrets; print(secrets.token_urlsafe(48))' >"$STATE/secret_key")
fi

cat >"$CONFIG" <<PYEOF
# Written by scripts/superset/start.sh: local Superset for integration tests.
from pathlib import Path

STATE_DIR = Path(__file__).resolve().parent  # this file lives in the state directory
SECRET_KEY = (STATE_DIR / "secret_key").read_text().strip()
SQLALCHEMY_DATABASE_URI = "sqlite:///" + str(STATE_DIR / "superset.db")
SUPERSET_WEBSERVER_PORT = ${PORT}

# Per-process in-memory caches; no Redis here.
CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 300}
FILTER_STATE_CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 86400}
EXPLORE_FORM_DATA_CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 86400}
# No chart-data cache: tests replace DuckDB files and must see the new rows at once
# (a SimpleCache would also differ between the gunicorn workers).
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}

# REST API usable with a JWT (login) + session cookie + X-CSRFToken, like a real deployment.
WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = None
# Plain HTTP on 127.0.0.1: no HTTPS redirects / strict CSP, no login rate limits in tests.
TALISMAN_ENABLED = False
CONTENT_SECURITY_POLICY_WARNING = False
RATELIMIT_ENABLED = False
AUTH_RATE_LIMITED = False
RATELIMIT_STORAGE_URI = "memory://"
# DuckDB files are allowed as data sources (only sqlite/shillelagh are blocked); keep the block.
PREVENT_UNSAFE_DB_CONNECTIONS = True
SUPERSET_WEBSERVER_TIMEOUT = 120
PYEOF

export SUPERSET_CONFIG_PATH="$CONFIG"
export SUPERSET_HOME="$STATE"          # uploads etc. go here, not to ~/.superset
export FLASK_APP="superset.app:create_app()"
export PYTHONUNBUFFERED=1

# Initialise the metadata DB once per (state dir, installed set, admin credentials).
# A freshly initialised metadata DB (+ its secret key) is kept as a template under
# $ROOT/.services/superset/template-<hash>/, so new state directories (e.g. one per test
# session in a temp folder) start from a copy in a second instead of ~35 s of init.
INIT_WANT="$(printf '%s\n%s\n%s\n' "$(cat "$VENV/.install-stamp")" "$ADMIN_USER" "$ADMIN_PASSWORD" | sha256sum | cut -d' ' -f1)"
TEMPLATE="$ROOT/.services/superset/template-${INIT_WANT:0:16}"

run_init() {  # db upgrade + admin + init in the current config/state dir
    local t0=$SECONDS
    say "superset db upgrade (log: $LOG)"
    "$VENV/bin/superset" db upgrade >>"$LOG" 2>&1 || { tail -n 30 "$LOG" >&2; die "db upgrade failed"; }
    say "superset fab create-admin ($ADMIN_USER)"
    "$VENV/bin/superset" fab create-admin --username "$ADMIN_USER" --firstname Admin --lastname User \
        --email "$ADMIN_USER@localhost" --password "$ADMIN_PASSWORD" >>"$LOG" 2>&1 \
        || { tail -n 30 "$LOG" >&2; die "create-admin failed"; }
    # create-admin leaves an existing user untouched: make the password the wanted one.
    "$VENV/bin/superset" fab reset-password --username "$ADMIN_USER" --password "$ADMIN_PASSWORD" >>"$LOG" 2>&1 \
        || { tail -n 30 "$LOG" >&2; die "reset-password failed"; }
    say "superset init"
    "$VENV/bin/superset" init >>"$LOG" 2>&1 || { tail -n 30 "$LOG" >&2; die "superset init failed"; }
    say "initialised in $((SECONDS - t0)) s"
}

if [[ -f "$STATE/.initialized" && "$(cat "$STATE/.initialized")" == "$INIT_WANT" && -f "$STATE/superset.db" ]]; then
    say "metadata DB already initialised: $STATE/superset.db"
elif [[ ! -e "$STATE/superset.db" && -f "$TEMPLATE/superset.db" && "$STATE" != "$TEMPLATE" ]]; then
    say "copying the initialised metadata DB from $TEMPLATE"
    cp "$TEMPLATE/superset.db" "$STATE/superset.db"
    cp "$TEMPLATE/secret_key" "$STATE/secret_key"   # the DB's encrypted fields use this key
    echo "$INIT_WANT" >"$STATE/.initialized"
else
    FRESH_DB=1
    [[ -e "$STATE/superset.db" ]] && FRESH_DB=0
    run_init
    echo "$INIT_WANT" >"$STATE/.initialized"
    # Only a just-created metadata DB (nothing imported yet) may become the template.
    if [[ "$FRESH_DB" == 1 && ! -f "$TEMPLATE/superset.db" ]]; then
        TMP_TEMPLATE="$(mktemp -d "$ROOT/.services/superset/.template-tmp.XXXXXX")"
        cp "$STATE/superset.db" "$STATE/secret_key" "$TMP_TEMPLATE/"
        mv -T "$TMP_TEMPLATE" "$TEMPLATE" 2>/dev/null || rm -rf "$TMP_TEMPLATE"   # lost a race: fine
    fi
fi

say "starting gunicorn on $URL ($WORKERS workers)"
T0=$SECONDS
# setsid: own session/process group, so stop.sh can also reach the workers via the PID.
# From a non-interactive script the background child is not a group leader, so setsid
# exec()s gunicorn in place and \$! is the gunicorn master's PID.
setsid "$VENV/bin/gunicorn" \
    --bind "127.0.0.1:$PORT" \
    --workers "$WORKERS" --worker-class gthread --threads 4 \
    --timeout 120 --graceful-timeout 10 \
    --limit-request-line 0 --limit-request-field_size 0 \
    "superset.app:create_app()" \
    </dev/null >>"$LOG" 2>&1 &
PID=$!
echo "$PID" >"$PIDFILE"

while ! healthy "$URL"; do
    if ! kill -0 "$PID" 2>/dev/null; then
        rm -f "$PIDFILE"
        tail -n 40 "$LOG" >&2
        die "gunicorn (pid $PID) exited before becoming healthy (log: $LOG)"
    fi
    if (( SECONDS - T0 > TIMEOUT )); then
        tail -n 40 "$LOG" >&2
        die "no healthy answer from $URL/health after $TIMEOUT s (pid $PID still running; stop.sh stops it)"
    fi
    sleep 1
done
echo "$URL" >"$URLFILE"
say "healthy after $((SECONDS - T0)) s (pid $PID, log $LOG)"
echo "SUPERSET_URL=$URL"
