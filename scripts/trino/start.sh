#!/usr/bin/env bash
# Start a local Trino (coordinator and worker in one) on 127.0.0.1 and a free port, with a Hive
# catalog `hive` over a warehouse folder (file metastore, native local file system).
#
#     TRINO_WAREHOUSE=/abs/warehouse scripts/trino/start.sh
#
# Needs scripts/trino/install.sh first. Writes etc/ (node, jvm, config, log, catalog/hive.properties)
# into the state dir, starts the launcher as a daemon, waits until the server answers as started,
# and prints as its last line  TRINO_PORT=<port>. If the server of this state dir is running
# already, prints the same and exits 0. The Hive metastore lives in <warehouse>/.trino-metastore.
#
# Environment:
#   TRINO_WAREHOUSE       the warehouse root (required): the Hive catalog's `local:///` root
#   TRINO_STATE_DIR       state directory (default: .services/trino/state)
#   TRINO_HOME            install from install.sh (default: .services/trino/trino-server-476)
#   TRINO_JAVA_HOME       Java 24+ (default: /usr/lib/jvm/temurin-25-jdk-amd64)
#   TRINO_HEAP            JVM heap (default: 2G)
#   TRINO_START_TIMEOUT   seconds to wait for the server (default: 180)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TRINO_HOME="${TRINO_HOME:-$ROOT/.services/trino/trino-server-476}"
STATE="${TRINO_STATE_DIR:-$ROOT/.services/trino/state}"
JAVA="${TRINO_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
HEAP="${TRINO_HEAP:-2G}"
TIMEOUT="${TRINO_START_TIMEOUT:-180}"

say() { printf '[trino-start] %s\n' "$*"; }
die() { printf '[trino-start] ERROR: %s\n' "$*" >&2; exit 1; }

[[ -f "$TRINO_HOME/.install-stamp" ]] || die "no Trino at $TRINO_HOME: run scripts/trino/install.sh first"
[[ -x "$JAVA/bin/java" ]] || die "no Java at $JAVA (set TRINO_JAVA_HOME to a Java 24+)"
[[ -n "${TRINO_WAREHOUSE:-}" ]] || die "set TRINO_WAREHOUSE to the warehouse folder"
mkdir -p "$TRINO_WAREHOUSE" "$STATE"
WAREHOUSE="$(cd "$TRINO_WAREHOUSE" && pwd)"
STATE="$(cd "$STATE" && pwd)"
PIDFILE="$STATE/data/var/run/launcher.pid"

answers() {  # port -> 0 when the server says it has started
    python3 - "$1" <<'PY'
import json, sys, urllib.request
try:
    info = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/v1/info", timeout=2))
except Exception:
    sys.exit(1)
sys.exit(0 if info.get("starting") is False else 1)
PY
}

if [[ -f "$PIDFILE" && -f "$STATE/port" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    grep -qx "local.location=$WAREHOUSE" "$STATE/etc/catalog/hive.properties" \
        || die "a Trino of $STATE runs over another warehouse: stop it first (scripts/trino/stop.sh)"
    say "already running"
    echo "TRINO_PORT=$(cat "$STATE/port")"
    exit 0
fi

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
mkdir -p "$STATE/etc/catalog" "$STATE/data" "$WAREHOUSE/.trino-metastore"
cat > "$STATE/etc/node.properties" <<PROPS
node.environment=metrics
node.id=metrics-trino-1
node.data-dir=$STATE/data
node.bind-ip=127.0.0.1
node.internal-address=127.0.0.1
PROPS
cat > "$STATE/etc/jvm.config" <<PROPS
-server
-Xmx$HEAP
-XX:G1HeapRegionSize=32M
-XX:+ExplicitGCInvokesConcurrent
-XX:+ExitOnOutOfMemoryError
-XX:-OmitStackTraceInFastThrow
-XX:ReservedCodeCacheSize=256M
-XX:PerMethodRecompilationCutoff=10000
-XX:PerBytecodeRecompilationCutoff=10000
-Djdk.attach.allowAttachSelf=true
-Djdk.nio.maxCachedBufferSize=2000000
-XX:+EnableDynamicAgentLoading
-XX:+UnlockDiagnosticVMOptions
-XX:G1NumCollectionsKeepPinned=10000000
--enable-native-access=ALL-UNNAMED
--sun-misc-unsafe-memory-access=allow
PROPS
cat > "$STATE/etc/config.properties" <<PROPS
coordinator=true
node-scheduler.include-coordinator=true
http-server.http.port=$PORT
discovery.uri=http://127.0.0.1:$PORT
query.max-memory=1GB
query.max-memory-per-node=512MB
PROPS
echo "io.trino=WARN" > "$STATE/etc/log.properties"
# The warehouse's tables are external Hive tables at local:///<schema>/<table>; writes through
# Trino replace a partition (INSERT with OVERWRITE), never append a second copy.
cat > "$STATE/etc/catalog/hive.properties" <<PROPS
connector.name=hive
hive.metastore=file
hive.metastore.catalog.dir=local:///.trino-metastore
fs.native-local.enabled=true
local.location=$WAREHOUSE
hive.non-managed-table-writes-enabled=true
hive.insert-existing-partitions-behavior=OVERWRITE
hive.temporary-staging-directory-path=local:///.trino-staging
hive.timestamp-precision=MICROSECONDS
PROPS
echo "$PORT" > "$STATE/port"

say "starting Trino on 127.0.0.1:$PORT over $WAREHOUSE"
JAVA_HOME="$JAVA" nice -n 5 "$TRINO_HOME/bin/launcher" --etc-dir="$STATE/etc" --data-dir="$STATE/data" --pid-file="$PIDFILE" start >/dev/null
deadline=$((SECONDS + TIMEOUT))
until answers "$PORT"; do
    kill -0 "$(cat "$PIDFILE" 2>/dev/null || echo 0)" 2>/dev/null || die "Trino exited: see $STATE/data/var/log/launcher.log and server.log"
    (( SECONDS < deadline )) || die "Trino did not start in ${TIMEOUT}s: see $STATE/data/var/log/server.log"
    sleep 1
done
say "started in ${SECONDS}s (pid $(cat "$PIDFILE"))"
echo "TRINO_PORT=$PORT"
