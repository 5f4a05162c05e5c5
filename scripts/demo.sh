#!/usr/bin/env bash
# The main job end to end on the embedded default: validate the example catalogue and show it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/demo}
metrics=.venv/bin/metrics
mkdir -p "$out"

echo "== validate the catalogue"
"$metrics" validate
echo "== the catalogue"
"$metrics" list
