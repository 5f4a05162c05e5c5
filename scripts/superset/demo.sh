#!/usr/bin/env bash
# One command for a newcomer: the demo pipeline into build/superset-demo/warehouse, a local Superset
# with the catalogue's dashboards imported, and the URL and login to open it.
#
#   bash scripts/superset/demo.sh            # start (or reuse) Superset in .services/superset
#   bash scripts/superset/stop.sh            # stop it (by its PID)
#
# SUPERSET_DEMO_DIR: where the demo warehouse and bundles go (default build/superset-demo).
# SUPERSET_DEMO_GRAPHITE: a carbon HOST:PORT the reports' values are sent to (default: none sent).
#
# Dates are fixed (as in `make demo`), so the numbers are the same every time.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${SUPERSET_DEMO_DIR:-build/superset-demo}
now=2026-11-22T06:00
export METRICS_STATE_DIR=${METRICS_STATE_DIR:-$PWD/.services/superset-demo-state}
metrics() { .venv/bin/metrics --warehouse "$out/warehouse" "$@"; }
graphite="--no-graphite"
if [[ -n "${SUPERSET_DEMO_GRAPHITE:-}" ]]; then graphite="--graphite $SUPERSET_DEMO_GRAPHITE"; fi

make -s setup
rm -rf "$out" && mkdir -p "$out"
echo "== sample data and reports into $out/warehouse"
metrics ingest sample --out "$out/raw" --seed 42 --start 2026-10-25 --days 28 >/dev/null
for folder in reportupdater_queries/*/; do
  metrics update-reports "$folder" "$out/reports/$(basename "$folder")" $graphite --now "$now" >/dev/null
done
metrics export-duckdb
echo "== bundles"
metrics build superset --out "$out/bundles"
echo "== Superset"
bash scripts/superset/install.sh
url=$(bash scripts/superset/start.sh | sed -n 's/^SUPERSET_URL=//p' | tail -1)
export SUPERSET_PASSWORD=${SUPERSET_ADMIN_PASSWORD:-admin}
# The demo's Superset is ours: dashboards edited there by hand are overwritten (--force).
metrics import superset --url "$url" --user "${SUPERSET_ADMIN_USER:-admin}" --bundles-dir "$out/bundles" --force
cat <<TXT

Superset is running: $url/dashboard/list/
Log in as ${SUPERSET_ADMIN_USER:-admin} / $SUPERSET_PASSWORD. Stop it with: bash scripts/superset/stop.sh
TXT
