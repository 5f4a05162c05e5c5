#!/usr/bin/env bash
# Start a local carbon-cache + graphite-web + StatsD in the background, as the current user,
# everything on 127.0.0.1 and on free ports, with config files written into the state dir.
#
#     scripts/graphite/start.sh
#
# Needs scripts/graphite/install.sh first (a no-op when up to date). Order: carbon-cache (waits
# until its line receiver and cache query port accept TCP), graphite-web under gunicorn (waits
# until /metrics/find answers JSON), StatsD (waits until its management port answers
# `health: up`). Each process runs under setsid with its PID in run/<name>.pid; stop.sh stops
# them by those PIDs only.
#
# On success writes <state>/ports.json and prints, as its last lines:
#     GRAPHITE_CARBON_PORT=<carbon plaintext (line) receiver, TCP>
#     GRAPHITE_STATSD_PORT=<StatsD, UDP>
#     GRAPHITE_WEB_URL=http://127.0.0.1:<port>
# If the stack of the same state dir is already running, prints the same and exits 0
# (with a line "already running" before).
#
# Environment:
#   GRAPHITE_STATE_DIR      state directory (default: $ROOT/.services/graphite/state)
#   GRAPHITE_VENV           venv from install.sh (default: $ROOT/.services/graphite/venv)
#   GRAPHITE_STATSD_DIR     StatsD from install.sh (default: $ROOT/.services/graphite/statsd)
#   GRAPHITE_START_TIMEOUT  seconds to wait for each service (default: 60)
#
# Layout of the state dir: conf/ (carbon.conf, storage-schemas.conf, storage-aggregation.conf),
# webapp/graphite_local_settings.py + graphite.db, statsd/config.js, storage/whisper/ (data),
# run/*.pid, log/*.log, ports.json. See NOTES.md for the retention choices.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${GRAPHITE_VENV:-$ROOT/.services/graphite/venv}"
STATSD_DIR="${GRAPHITE_STATSD_DIR:-$ROOT/.services/graphite/statsd}"
STATE="${GRAPHITE_STATE_DIR:-$ROOT/.services/graphite/state}"
TIMEOUT="${GRAPHITE_START_TIMEOUT:-60}"
# StatsD flush interval. It must equal the finest retention step of the StatsD schema below.
FLUSH_SECONDS=1

say() { printf '[graphite-start] %s\n' "$*"; }
die() { printf '[graphite-start] ERROR: %s\n' "$*" >&2; exit 1; }

[[ -x "$VENV/bin/python" && -f "$VENV/.install-stamp" ]] \
    || die "no Graphite venv at $VENV: run scripts/graphite/install.sh first"
[[ -f "$STATSD_DIR/node_modules/statsd/stats.js" && -f "$STATSD_DIR/.install-stamp" ]] \
    || die "no StatsD at $STATSD_DIR: run scripts/graphite/install.sh first"
command -v node >/dev/null 2>&1 || die "node not found"
NODE="$(command -v node)"
PY="$VENV/bin/python"

mkdir -p "$STATE"
STATE="$(cd "$STATE" && pwd)"
RUN="$STATE/run"
LOGS="$STATE/log"
CONF="$STATE/conf"
WEBAPP="$STATE/webapp"
STORAGE="$STATE/storage"
PORTS_JSON="$STATE/ports.json"
mkdir -p "$RUN" "$LOGS" "$CONF" "$WEBAPP" "$STORAGE/whisper" "$STORAGE/lists" "$STATE/statsd"

SERVICES=(carbon-cache graphite-web statsd)

alive() {  # name -> 0 when its pidfile names a live process
    local pidfile="$RUN/$1.pid"
    [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

print_ports() {
    "$PY" - "$PORTS_JSON" <<'PYEOF'
import json
import sys

ports = json.load(open(sys.argv[1], encoding="utf-8"))
print(f"GRAPHITE_CARBON_PORT={ports['carbon_plaintext']}")
print(f"GRAPHITE_STATSD_PORT={ports['statsd_udp']}")
print(f"GRAPHITE_WEB_URL={ports['web_url']}")
PYEOF
}

# --- already running? -------------------------------------------------------------------------
running=0
for name in "${SERVICES[@]}"; do
    if alive "$name"; then running=$((running + 1)); fi
done
if (( running == ${#SERVICES[@]} )) && [[ -f "$PORTS_JSON" ]]; then
    say "already running from $STATE"
    print_ports
    exit 0
fi
(( running == 0 )) || die "only $running of ${#SERVICES[@]} services of $STATE are running: run scripts/graphite/stop.sh first"
rm -f "$RUN"/*.pid "$PORTS_JSON"

# --- free ports on 127.0.0.1 --------------------------------------------------------------------
# All sockets are held open together while choosing, so the six ports are distinct; they are
# closed just before the services bind them.
read -r P_LINE P_PICKLE P_QUERY P_WEB P_MGMT P_STATSD < <("$PY" - <<'PYEOF'
import socket

held = []
for _ in range(5):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    held.append(s)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
# StatsD's UDP port must also be free for TCP-less use only; pick one not among the TCP ones.
while True:
    u.bind(("127.0.0.1", 0))
    if u.getsockname()[1] not in {s.getsockname()[1] for s in held}:
        break
    u.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
held.append(u)
print(" ".join(str(s.getsockname()[1]) for s in held))
for s in held:
    s.close()
PYEOF
)
WEB_URL="http://127.0.0.1:$P_WEB"
say "ports: carbon line $P_LINE, pickle $P_PICKLE, cache query $P_QUERY; graphite-web $P_WEB; statsd udp $P_STATSD, mgmt $P_MGMT"

# --- carbon config ------------------------------------------------------------------------------
cat >"$CONF/carbon.conf" <<EOF
# Written by scripts/graphite/start.sh: local carbon-cache for integration tests.
[cache]
STORAGE_DIR = $STORAGE/
LOCAL_DATA_DIR = $STORAGE/whisper/
WHITELISTS_DIR = $STORAGE/lists/
CONF_DIR = $CONF/
LOG_DIR = $LOGS/carbon-cache/
PID_DIR = $RUN/
DATABASE = whisper
ENABLE_LOGROTATION = False
# Run as the current user: an empty USER means no setuid.
USER =
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
# Default 50: the 51st new series of a minute would wait in the cache (and be invisible on disk).
MAX_CREATES_PER_MINUTE = inf
MIN_TIMESTAMP_RESOLUTION = 1
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = $P_LINE
ENABLE_UDP_LISTENER = False
UDP_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = $P_PICKLE
USE_INSECURE_UNPICKLER = False
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = $P_QUERY
USE_FLOW_CONTROL = True
LOG_UPDATES = False
LOG_CREATES = True
LOG_CACHE_HITS = False
LOG_LISTENER_CONN_SUCCESS = False
CACHE_WRITE_STRATEGY = sorted
WHISPER_AUTOFLUSH = False
WHISPER_FALLOCATE_CREATE = True
# carbon's own metrics (carbon.agents.*) once a minute: own short schema below.
CARBON_METRIC_PREFIX = carbon
CARBON_METRIC_INTERVAL = 60
# Tags would make carbon POST to a graphite-web URL; nothing here sends tagged series.
ENABLE_TAGS = False
ENABLE_AMQP = False
ENABLE_MANHOLE = False
EOF

# Schemas: first match wins, applied only when a whisper file is created.
cat >"$CONF/storage-schemas.conf" <<EOF
# Written by scripts/graphite/start.sh. First matching pattern wins; a schema applies only when
# a series' whisper file is created. See scripts/graphite/NOTES.md.

# carbon-cache's own metrics, every 60 s.
[carbon]
pattern = ^carbon\.
retentions = 60s:1d

# Everything StatsD writes (legacy namespace): stats.*, stats_counts.*, statsd.*.
# The finest step equals StatsD's flushInterval (${FLUSH_SECONDS} s).
[statsd]
pattern = ^(stats|stats_counts|statsd)\.
retentions = ${FLUSH_SECONDS}s:6h,1m:7d,1h:2y

# Everything else: report values sent straight to carbon with their own (midnight UTC) day
# timestamps, possibly years in the past. Points older than the longest retention are dropped.
[reports]
pattern = .*
retentions = 1d:30y
EOF

cat >"$CONF/storage-aggregation.conf" <<'EOF'
# Written by scripts/graphite/start.sh: how a coarser archive combines finer points
# (StatsD's recommendations). First matching pattern wins.
[min]
pattern = \.lower$
xFilesFactor = 0
aggregationMethod = min

[max]
pattern = \.upper(_\d+)?$
xFilesFactor = 0
aggregationMethod = max

[sum]
pattern = \.sum$
xFilesFactor = 0
aggregationMethod = sum

[count]
pattern = \.count$
xFilesFactor = 0
aggregationMethod = sum

[count_legacy]
pattern = ^stats_counts\.
xFilesFactor = 0
aggregationMethod = sum

[gauges]
pattern = ^stats\.gauges\.
xFilesFactor = 0
aggregationMethod = last

[default_average]
pattern = .*
xFilesFactor = 0
aggregationMethod = average
EOF

# --- graphite-web config ------------------------------------------------------------------------
if [[ ! -s "$STATE/secret_key" ]]; then
    (umask 077 && "$PY" -c 'import secrets; print(secrets.token_urlsafe(48))' >"$STATE/secret_key")
fi
mkdir -p "$LOGS/webapp"
cat >"$WEBAPP/graphite_local_settings.py" <<EOF
# Written by scripts/graphite/start.sh; loaded by graphite.settings through
# GRAPHITE_SETTINGS_MODULE=graphite_local_settings (this folder is on PYTHONPATH).
SECRET_KEY = open("$STATE/secret_key", encoding="utf-8").read().strip()
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
CONF_DIR = "$CONF"
STORAGE_DIR = "$STORAGE"
WHISPER_DIR = "$STORAGE/whisper/"
# Explicit: graphite.settings only adds WHISPER_DIR when it exists at import time.
STANDARD_DIRS = ["$STORAGE/whisper/"]
INDEX_FILE = "$STORAGE/index"
LOG_DIR = "$LOGS/webapp"
STATIC_ROOT = "$STATE/static"
DATABASES = {
    "default": {
        "NAME": "$WEBAPP/graphite.db",
        "ENGINE": "django.db.backends.sqlite3",
        "USER": "",
        "PASSWORD": "",
        "HOST": "",
        "PORT": "",
    }
}
# Points still in carbon's cache (not yet on disk) are read through its cache query port.
CARBONLINK_HOSTS = ["127.0.0.1:$P_QUERY"]
CARBONLINK_TIMEOUT = 2.0
CARBONLINK_RETRY_DELAY = 1
# Tests poll: never serve a cached find or render answer.
FIND_CACHE_DURATION = 0
DEFAULT_CACHE_DURATION = 0
EOF

export GRAPHITE_SETTINGS_MODULE=graphite_local_settings
export DJANGO_SETTINGS_MODULE=graphite.settings
export PYTHONPATH="$WEBAPP${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1

# --- StatsD config ------------------------------------------------------------------------------
cat >"$STATE/statsd/config.js" <<EOF
// Written by scripts/graphite/start.sh: Etsy StatsD 0.9.0 for integration tests.
{
  address: "127.0.0.1",
  port: $P_STATSD,
  mgmt_address: "127.0.0.1",
  mgmt_port: $P_MGMT,
  backends: ["./backends/graphite"],
  graphiteHost: "127.0.0.1",
  graphitePort: $P_LINE,
  graphiteProtocol: "text",
  // Must equal the finest retention of the [statsd] schema in storage-schemas.conf.
  flushInterval: $((FLUSH_SECONDS * 1000)),
  // Defaults kept on purpose: an idle counter is sent as 0 and a gauge repeats its last value
  // every flush, so dashboards show 0 / the level instead of gaps (docs/statsd.md).
  deleteIdleStats: false,
  graphite: { legacyNamespace: true },
  dumpMessages: false,
  debug: false
}
EOF

# --- helpers ------------------------------------------------------------------------------------
start_time() {  # pid -> field 22 of /proc/<pid>/stat (after the parenthesised command name)
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    set -- $stat
    echo "${20}"
}

# Start "$@" in its own session in the background; record its PID. From a non-interactive script
# the background child is not a process-group leader, so setsid exec()s in place: $! is the PID.
launch() {  # name logfile cmd...
    local name="$1" log="$2"
    shift 2
    setsid "$@" </dev/null >>"$log" 2>&1 &
    local pid=$!
    # The start time (in clock ticks since boot) guards stop.sh against a reused PID; the npm
    # statsd daemon rewrites its command line ("statsd"), so names cannot be used for that.
    start_time "$pid" >"$RUN/$name.starttime" || true
    echo "$pid" >"$RUN/$name.pid"
}

fail() {  # name logfile message
    tail -n 40 "$2" >&2 || true
    bash "$HERE/stop.sh" >&2 || true
    die "$3 (log: $2)"
}

tcp_open() {  # port -> 0 when 127.0.0.1:port accepts a connection
    "$PY" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()' "$1" 2>/dev/null
}

wait_for() {  # name logfile check-command...
    local name="$1" log="$2" t0=$SECONDS
    shift 2
    until "$@"; do
        alive "$name" || fail "$name" "$log" "$name exited before it was ready"
        (( SECONDS - t0 <= TIMEOUT )) || fail "$name" "$log" "$name not ready after $TIMEOUT s"
        sleep 0.2
    done
}

T_ALL=$SECONDS

# --- carbon-cache -------------------------------------------------------------------------------
CARBON_LOG="$LOGS/carbon-cache.log"
say "starting carbon-cache (log: $CARBON_LOG)"
launch carbon-cache "$CARBON_LOG" "$PY" "$VENV/bin/carbon-cache.py" \
    --config="$CONF/carbon.conf" --nodaemon start
wait_for carbon-cache "$CARBON_LOG" tcp_open "$P_LINE"
wait_for carbon-cache "$CARBON_LOG" tcp_open "$P_QUERY"
say "carbon-cache accepts on 127.0.0.1:$P_LINE (pid $(cat "$RUN/carbon-cache.pid"))"

# --- graphite-web -------------------------------------------------------------------------------
WEB_LOG="$LOGS/graphite-web.log"
if [[ ! -f "$WEBAPP/.migrated" ]]; then
    T0=$SECONDS
    "$VENV/bin/django-admin" migrate --noinput >>"$WEB_LOG" 2>&1 \
        || { tail -n 30 "$WEB_LOG" >&2; bash "$HERE/stop.sh" >&2 || true; die "django-admin migrate failed (log: $WEB_LOG)"; }
    touch "$WEBAPP/.migrated"
    say "graphite-web database created in $((SECONDS - T0)) s: $WEBAPP/graphite.db"
fi
say "starting graphite-web (gunicorn) on $WEB_URL (log: $WEB_LOG)"
launch graphite-web "$WEB_LOG" "$VENV/bin/gunicorn" \
    --bind "127.0.0.1:$P_WEB" --workers 1 --threads 4 --timeout 60 --graceful-timeout 5 \
    --no-control-socket --pythonpath "$WEBAPP" graphite.wsgi:application

web_ready() {
    "$PY" - "$WEB_URL" <<'PYEOF'
import json
import sys
import urllib.request

try:
    with urllib.request.urlopen(sys.argv[1] + "/metrics/find?query=*", timeout=2) as answer:
        json.load(answer)
        sys.exit(0 if answer.status == 200 else 1)
except Exception:
    sys.exit(1)
PYEOF
}
wait_for graphite-web "$WEB_LOG" web_ready
say "graphite-web answers on $WEB_URL (pid $(cat "$RUN/graphite-web.pid"))"

# --- StatsD -------------------------------------------------------------------------------------
STATSD_LOG="$LOGS/statsd.log"
say "starting statsd (log: $STATSD_LOG)"
# Run from the package folder: the backend path "./backends/graphite" is resolved from there.
(cd "$STATSD_DIR/node_modules/statsd" && launch statsd "$STATSD_LOG" "$NODE" stats.js "$STATE/statsd/config.js")

statsd_ready() {
    "$PY" - "$P_MGMT" <<'PYEOF'
import socket
import sys

try:
    with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1) as conn:
        conn.sendall(b"health\n")
        sys.exit(0 if b"health: up" in conn.recv(100) else 1)
except OSError:
    sys.exit(1)
PYEOF
}
wait_for statsd "$STATSD_LOG" statsd_ready
say "statsd listens on udp 127.0.0.1:$P_STATSD (pid $(cat "$RUN/statsd.pid"))"

"$PY" - "$PORTS_JSON" <<EOF
import json
import sys

ports = {
    "carbon_plaintext": $P_LINE,
    "carbon_pickle": $P_PICKLE,
    "carbon_cache_query": $P_QUERY,
    "statsd_udp": $P_STATSD,
    "statsd_mgmt": $P_MGMT,
    "web_http": $P_WEB,
    "web_url": "$WEB_URL",
    "flush_interval_seconds": $FLUSH_SECONDS,
    "pids": {
        "carbon-cache": $(cat "$RUN/carbon-cache.pid"),
        "graphite-web": $(cat "$RUN/graphite-web.pid"),
        "statsd": $(cat "$RUN/statsd.pid"),
    },
}
with open(sys.argv[1] + ".tmp", "w", encoding="utf-8") as handle:
    json.dump(ports, handle, indent=2)
import os

os.replace(sys.argv[1] + ".tmp", sys.argv[1])
EOF
say "all up in $((SECONDS - T_ALL)) s; ports in $PORTS_JSON"
print_ports
