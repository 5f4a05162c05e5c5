#!/usr/bin/env bash
# A venv holding only a DuckDB that a stock `apache-superset[duckdb]` 6.1.0 may install, to check
# that the catalog file `metrics export-duckdb` writes is readable by it:
#     bash scripts/superset/stock-duckdb.sh [VERSION]     # prints the venv's python on stdout
# apache-superset 6.1.0 declares `duckdb<2,>=1.4.2` for its duckdb extra. The Superset harness
# (install.sh) already is that stock install with what pip picks today (1.5.6); VERSION defaults
# to the lowest of the range, 1.4.2, which an operator's older install may still hold.
# pytz too: DuckDB's Python client needs it for TIMESTAMPTZ values (Superset installs it anyway).
# Idempotent and cached in $ROOT/.services/stock-duckdb/<VERSION>/venv (~20 MB, ~5 s the first time).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VERSION="${1:-1.4.2}"
[[ "$VERSION" =~ ^1\.[0-9]+\.[0-9]+$ ]] || { echo "[stock-duckdb] ERROR: '$VERSION' is not a duckdb 1.x version (the range of apache-superset[duckdb] 6.1.0 is >=1.4.2,<2)" >&2; exit 2; }
DIR="$ROOT/.services/stock-duckdb/$VERSION"
VENV="$DIR/venv"
if command -v python3.11 >/dev/null 2>&1; then PY=python3.11; else PY=python3; fi

mkdir -p "$DIR"
exec 9>"$DIR/install.lock"
flock 9
if [[ ! -f "$VENV/.installed" ]]; then
    rm -rf "$VENV"
    "$PY" -m venv "$VENV" >&2
    "$VENV/bin/pip" install --disable-pip-version-check --no-input --progress-bar off --only-binary=:all: "duckdb==$VERSION" pytz >"$DIR/install.log" 2>&1 \
        || { tail -n 20 "$DIR/install.log" >&2; echo "[stock-duckdb] ERROR: pip install duckdb==$VERSION failed (log: $DIR/install.log)" >&2; exit 1; }
    got="$("$VENV/bin/python" -c 'import duckdb; print(duckdb.__version__)')"
    [[ "$got" == "$VERSION" ]] || { echo "[stock-duckdb] ERROR: installed duckdb $got, wanted $VERSION" >&2; exit 1; }
    touch "$VENV/.installed"
fi
echo "$VENV/bin/python"
