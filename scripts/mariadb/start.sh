#!/usr/bin/env bash
# Start a local MariaDB server on 127.0.0.1 and a free port, with its own datadir, as this user.
#
#     MARIADB_STATE_DIR=/tmp/mdb scripts/mariadb/start.sh
#
# Needs scripts/mariadb/install.sh first. Creates the datadir with mariadb-install-db (root may log in
# over TCP without a password; the server listens on 127.0.0.1 only), starts mariadbd in the
# background, waits until it answers, and prints as its last line  MARIADB_PORT=<port>. If the server
# of this state dir is running already, prints the same and exits 0. Every program runs with
# --no-defaults, so no system my.cnf leaks in.
#
# Environment:
#   MARIADB_STATE_DIR       state directory: data/, the socket, pid file and error log (default: .services/mariadb/state)
#   MARIADB_START_TIMEOUT   seconds to wait for the server (default: 60)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
STATE="${MARIADB_STATE_DIR:-$ROOT/.services/mariadb/state}"
TIMEOUT="${MARIADB_START_TIMEOUT:-60}"
PATH="$PATH:/usr/sbin:/usr/bin"

say() { printf '[mariadb-start] %s\n' "$*"; }
die() { printf '[mariadb-start] ERROR: %s\n' "$*" >&2; exit 1; }

command -v mariadbd >/dev/null 2>&1 || die "mariadbd not found: run scripts/mariadb/install.sh first"
command -v mariadb-install-db >/dev/null 2>&1 || die "mariadb-install-db not found: run scripts/mariadb/install.sh first"
mkdir -p "$STATE"
STATE="$(cd "$STATE" && pwd)"
DATA="$STATE/data"
PIDFILE="$STATE/mariadbd.pid"
SOCKET="$STATE/mariadbd.sock"
ERRLOG="$STATE/error.log"

answers() {  # port -> 0 when the server accepts a TCP connection and a query
    mariadb-admin --no-defaults --protocol=tcp --host=127.0.0.1 --port="$1" --user=root --connect-timeout=2 ping >/dev/null 2>&1
}

if [[ -f "$PIDFILE" && -f "$STATE/port" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    say "already running"
    echo "MARIADB_PORT=$(cat "$STATE/port")"
    exit 0
fi

if [[ ! -d "$DATA/mysql" ]]; then
    say "creating the datadir $DATA"
    mariadb-install-db --no-defaults --datadir="$DATA" --user="$(id -un)" --auth-root-authentication-method=normal \
        --skip-test-db >"$STATE/install-db.log" 2>&1 || die "mariadb-install-db failed: see $STATE/install-db.log"
fi

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
echo "$PORT" > "$STATE/port"
say "starting MariaDB on 127.0.0.1:$PORT (datadir $DATA)"
# setsid: the server outlives this script, and is stopped by its PID (scripts/mariadb/stop.sh).
setsid nice -n 5 mariadbd --no-defaults --datadir="$DATA" --socket="$SOCKET" --port="$PORT" --bind-address=127.0.0.1 \
    --skip-networking=0 --user="$(id -un)" --pid-file="$PIDFILE" --log-error="$ERRLOG" --skip-name-resolve \
    --innodb-buffer-pool-size=32M --performance-schema=0 </dev/null >/dev/null 2>&1 &
server=$!
deadline=$((SECONDS + TIMEOUT))
until answers "$PORT"; do
    kill -0 "$server" 2>/dev/null || die "mariadbd exited: see $ERRLOG"
    (( SECONDS < deadline )) || { kill "$server" 2>/dev/null || true; die "MariaDB did not answer in ${TIMEOUT}s: see $ERRLOG"; }
    sleep 0.3
done
[[ -f "$PIDFILE" ]] || echo "$server" > "$PIDFILE"
say "started (pid $(cat "$PIDFILE"))"
echo "MARIADB_PORT=$PORT"
