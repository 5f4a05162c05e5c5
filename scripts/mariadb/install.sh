#!/usr/bin/env bash
# Install Debian's MariaDB server and client (the `mariadb-server` package) for the `mariadb` tests.
#
#     scripts/mariadb/install.sh
#
# A no-op when mariadbd and mariadb-install-db are on the machine already. Needs apt-get, as root or
# through a password-less sudo. The package's post-install cannot start the system service on a
# machine without init, which is fine: scripts/mariadb/start.sh runs a server of its own.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SERVICE_DIR="$ROOT/.services/mariadb"
LOG="$SERVICE_DIR/install.log"

say() { printf '[mariadb-install] %s\n' "$*"; }
die() { printf '[mariadb-install] ERROR: %s\n' "$*" >&2; exit 1; }

found() { command -v mariadbd >/dev/null 2>&1 || [[ -x /usr/sbin/mariadbd ]]; }

if found && command -v mariadb-install-db >/dev/null 2>&1; then
    say "MariaDB is installed ($( (mariadbd --version 2>/dev/null || /usr/sbin/mariadbd --version) | head -1))"
    exit 0
fi
mkdir -p "$SERVICE_DIR"
# One installer at a time (parallel test runs would fight over dpkg's lock).
exec 9>"$SERVICE_DIR/install.lock"
flock 9
if found && command -v mariadb-install-db >/dev/null 2>&1; then
    say "MariaDB was installed meanwhile"
    exit 0
fi
command -v apt-get >/dev/null 2>&1 || die "mariadbd not found and no apt-get: install MariaDB (Debian: mariadb-server)"
SUDO=""
if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "run as root, or install mariadb-server yourself (apt-get install -y mariadb-server)"
    SUDO="sudo -n"
fi
say "installing Debian's mariadb-server (log: $LOG)"
$SUDO apt-get update -qq >>"$LOG" 2>&1 || die "apt-get update failed (log: $LOG)"
# The post-install may fail to start the service (no init here); the binaries are in place anyway.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends mariadb-server mariadb-client >>"$LOG" 2>&1 \
    || found || die "apt-get install mariadb-server failed (log: $LOG)"
found || die "mariadbd is still missing after the install (log: $LOG)"
say "installed $( (mariadbd --version 2>/dev/null || /usr/sbin/mariadbd --version) | head -1)"
