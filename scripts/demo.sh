#!/usr/bin/env bash
# `make demo`: the main job end to end on the embedded default (DuckDB), over generated data.
#
#   1. validate the catalogue and the query folders
#   2. generate four weeks of sample raw data (events, pageview dumps, CSV, a World Bank style API)
#      and load it into the warehouse
#   3. run every query folder as cron would, into metric tables and Reportupdater TSV files
#   4. publish: the DuckDB views file for Superset, Superset bundles, Grafana dashboards, the catalogue site
#   5. print a few numbers from the metric tables
#
# Everything goes under build/demo (or $1); dates are fixed so the output is the same every time.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/demo}
now=2026-11-22T06:00
metrics() { .venv/bin/metrics --warehouse "$out/warehouse" "$@"; }
step() { printf '\n== %s\n' "$*"; }

rm -rf "$out"
mkdir -p "$out"

step "1/5 validate the catalogue and the query folders"
metrics validate
metrics list

step "2/5 generate sample raw data and load it into $out/warehouse"
metrics ingest sample --out "$out/raw" --seed 42 --start 2026-10-25 --days 28

step "3/5 compute every report (as of $now UTC)"
for folder in reportupdater_queries/*/; do
  name=$(basename "$folder")
  echo "-- $name"
  metrics update-reports "$folder" "$out/reports/$name" --no-graphite --now "$now"
done

step "4/5 publish dashboards"
metrics export-duckdb
metrics build superset --out "$out/superset"
metrics build grafana --out "$out/grafana"
# The site's dashboard links point where scripts/superset/demo.sh and a local Grafana listen.
metrics site -o "$out/site" --today "${now%%T*}" --superset-url "${SUPERSET_URL:-http://127.0.0.1:8088}" --grafana-url "${GRAFANA_URL:-http://127.0.0.1:3000}"

step "5/5 the numbers"
metrics query "SELECT event.editor AS editor, useragent.is_bot AS is_bot, count(*) AS events, count(DISTINCT event.session_token) AS sessions FROM event.codemirrorusage WHERE year = 2026 AND month = 11 GROUP BY 1, 2 ORDER BY 1, 2"
metrics query "SELECT wiki, sum(toggles) AS toggles FROM metrics.codemirror_toggles GROUP BY wiki ORDER BY toggles DESC"
metrics query "SELECT wiki, sum(footnote_clicks) AS clicks, sum(pageviews) AS pageviews, round(1000.0 * sum(footnote_clicks) / sum(pageviews), 2) AS clicks_per_1000_views FROM metrics.reference_previews_baseline GROUP BY wiki ORDER BY pageviews DESC LIMIT 5"
metrics query "SELECT domain_code, sum(views) AS views FROM metrics.pageviews_domain_views GROUP BY domain_code ORDER BY views DESC LIMIT 5"
metrics query "SELECT report, status, count(*) AS intervals, sum(rows) AS rows FROM metrics.report_runs GROUP BY report, status ORDER BY report, status"

cat <<TXT

Done. What was made:
  $out/warehouse           Hive-layout Parquet tables, events with struct columns as in Hive (DuckDB, Trino, pyarrow)
  $out/warehouse/catalog.duckdb   views for Superset (open read-only)
  $out/reports             Reportupdater TSV files, byte-compatible
  $out/superset            Superset import bundles (metrics --warehouse $out/warehouse import superset --url ... --bundles-dir $out/superset)
  $out/grafana             Grafana dashboards and provisioning (metrics import grafana --url ...)
  $out/site/index.html     the catalogue site: open it in a browser, from disk (file://$(realpath "$out")/site/index.html)
Query it:  .venv/bin/metrics --warehouse $out/warehouse query "SELECT * FROM metrics.report_runs LIMIT 5"
TXT
