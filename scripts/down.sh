#!/usr/bin/env bash
# `metrics down`: stop the Superset and the StatsD/Graphite stack that `metrics up` started, by the
# PIDs recorded in $METRICS_UP_DIR (default .services/up); what is kept there (data, logs) stays.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${METRICS_UP_DIR:-$PWD/.services/up}
export SUPERSET_STATE_DIR="$dir/superset" GRAPHITE_STATE_DIR="$dir/graphite"
bash scripts/superset/stop.sh
bash scripts/graphite/stop.sh
