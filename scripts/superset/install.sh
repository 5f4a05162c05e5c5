#!/usr/bin/env bash
# Install Apache Superset 6.1.0 with its own DuckDB driver (apache-superset[duckdb]) into its own virtualenv:
#     $ROOT/.services/superset/venv
# Idempotent: does nothing when the venv already holds exactly the pinned set
# (stamp = sha256 of requirements.txt + constraints.txt + the Python version).
# Works from nothing on a fresh machine; needs only a CPython 3.11 (python3) and PyPI.
#
# Environment:
#   SUPERSET_PYTHON   interpreter used to create the venv (default: python3.11, else python3)
#   SUPERSET_VENV     venv location (default: $ROOT/.services/superset/venv)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SERVICE_DIR="$ROOT/.services/superset"
VENV="${SUPERSET_VENV:-$SERVICE_DIR/venv}"
REQUIREMENTS="$HERE/requirements.txt"
CONSTRAINTS="$HERE/constraints.txt"
STAMP="$VENV/.install-stamp"
LOG="$SERVICE_DIR/install.log"

say() { printf '[superset-install] %s\n' "$*"; }
die() { printf '[superset-install] ERROR: %s\n' "$*" >&2; exit 1; }

if [[ -n "${SUPERSET_PYTHON:-}" ]]; then
    PY="$SUPERSET_PYTHON"
elif command -v python3.11 >/dev/null 2>&1; then
    PY="python3.11"
else
    PY="python3"
fi
command -v "$PY" >/dev/null 2>&1 || die "no Python interpreter '$PY' found"
PY_VERSION="$("$PY" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
case "$PY_VERSION" in
    3.11.*) ;;
    *) die "need CPython 3.11 for the pinned set in constraints.txt, '$PY' is $PY_VERSION" ;;
esac

mkdir -p "$SERVICE_DIR"
# One installer at a time (parallel test runs share the venv).
exec 9>"$SERVICE_DIR/install.lock"
flock 9

WANT="$(cat "$REQUIREMENTS" "$CONSTRAINTS" <(echo "python=$PY_VERSION") | sha256sum | cut -d' ' -f1)"
if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
    say "up to date: $VENV (stamp ${WANT:0:12})"
    exit 0
fi

START=$SECONDS
if [[ -e "$VENV" ]]; then
    say "venv out of date or incomplete: recreating $VENV"
    rm -rf "$VENV"
fi
say "creating venv with $PY ($PY_VERSION)"
"$PY" -m venv "$VENV"

say "installing apache-superset[duckdb] 6.1.0 + the trino driver (~1 min, ~0.9 GB; log: $LOG)"
if ! "$VENV/bin/pip" install --disable-pip-version-check --no-input --progress-bar off \
        -r "$REQUIREMENTS" -c "$CONSTRAINTS" >"$LOG" 2>&1; then
    tail -n 40 "$LOG" >&2
    die "pip install failed (full log: $LOG)"
fi

say "checking the installed set"
# Every installed distribution must be pinned in constraints.txt at that exact version.
"$VENV/bin/python" "$ROOT/scripts/check_pins.py" "$CONSTRAINTS"
"$VENV/bin/python" - <<'PYEOF'
import sys
from importlib import metadata

installed = {d.metadata["Name"].lower().replace("_", "-"): d.version for d in metadata.distributions()}
import duckdb  # noqa: E402
import duckdb_engine  # noqa: E402,F401
import trino.sqlalchemy  # noqa: E402,F401
import sqlalchemy  # noqa: E402

print(f"[superset-install] ok: superset {installed['apache-superset']}, duckdb {duckdb.__version__}, "
      f"duckdb-engine {installed['duckdb-engine']}, trino {installed['trino']}, sqlalchemy {sqlalchemy.__version__}")
PYEOF

echo "$WANT" >"$STAMP"
say "done in $((SECONDS - START)) s: $VENV"
