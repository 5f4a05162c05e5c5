#!/usr/bin/env bash
# `metrics up`: a local Superset with the demo's dashboards imported, and a StatsD/Graphite stack
# holding the demo reports' values (sent to carbon with their dates) and sample values of every
# StatsD metric of the catalogue; prints the URLs, the login and the `metrics verify` line.
#
#     bash scripts/up.sh        # or: .venv/bin/metrics up
#     bash scripts/down.sh      # or: .venv/bin/metrics down   (stops both by their PIDs)
#
# Everything lives under $METRICS_UP_DIR (default .services/up): the demo warehouse and bundles,
# Superset's state (metadata DB, log, PID) and Graphite's (whisper files, logs, PIDs). Running it
# again reuses what is running and imports the dashboards again.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${METRICS_UP_DIR:-$PWD/.services/up}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
export SUPERSET_STATE_DIR="$dir/superset" GRAPHITE_STATE_DIR="$dir/graphite" SUPERSET_DEMO_DIR="$dir/demo"
export METRICS_STATE_DIR="$dir/import-state"

echo "== StatsD and Graphite"
bash scripts/graphite/install.sh >/dev/null
ports=$(bash scripts/graphite/start.sh | tail -3)
carbon_port=$(sed -n 's/^GRAPHITE_CARBON_PORT=//p' <<<"$ports")
statsd_port=$(sed -n 's/^GRAPHITE_STATSD_PORT=//p' <<<"$ports")
graphite_url=$(sed -n 's/^GRAPHITE_WEB_URL=//p' <<<"$ports")
.venv/bin/metrics statsd sample --host 127.0.0.1 --port "$statsd_port" >/dev/null

superset_log=$(mktemp)
trap 'rm -f "$superset_log"' EXIT
echo "== Superset with the demo's dashboards, the reports' values sent to carbon (first time: ~5 min; log: $superset_log)"
if ! SUPERSET_DEMO_GRAPHITE="127.0.0.1:$carbon_port" bash scripts/superset/demo.sh >"$superset_log" 2>&1; then
  tail -n 30 "$superset_log" >&2
  echo "metrics up: the Superset demo failed (the lines above are the end of its log)" >&2
  exit 1
fi
superset_url=$(sed -n 's|^Superset is running: \(.*\)/dashboard/list/$|\1|p' "$superset_log" | tail -1)

cat <<TXT

Superset:  $superset_url/dashboard/list/   (log in as ${SUPERSET_ADMIN_USER:-admin} / ${SUPERSET_ADMIN_PASSWORD:-admin})
Graphite:  $graphite_url   (carbon on 127.0.0.1:$carbon_port with the reports' values; StatsD on 127.0.0.1:$statsd_port, UDP, samples sent)
Check one number everywhere:
  SUPERSET_PASSWORD=${SUPERSET_ADMIN_PASSWORD:-admin} .venv/bin/metrics --warehouse $SUPERSET_DEMO_DIR/warehouse verify --superset-url $superset_url --graphite-url $graphite_url
Stop both: .venv/bin/metrics down --dir $dir
SUPERSET_URL=$superset_url
GRAPHITE_WEB_URL=$graphite_url
GRAPHITE_STATSD_PORT=$statsd_port
GRAPHITE_CARBON_PORT=$carbon_port
METRICS_WAREHOUSE=$SUPERSET_DEMO_DIR/warehouse
TXT
