#!/usr/bin/env bash
# Install Trino 476 (server core + the Hive connector plugin) into .services/trino/, from Maven Central.
#
#     scripts/trino/install.sh
#
# Fetches io.trino:trino-server-core:476:tar.gz and io.trino:trino-hive:476:zip with Maven (cached in
# ~/.m2, about 450 MB), unpacks them to $TRINO_HOME (default .services/trino/trino-server-476) with the
# plugin as plugin/hive. A no-op when the install stamp is there. Trino 476 needs Java 24 or newer:
# $TRINO_JAVA_HOME (default /usr/lib/jvm/temurin-25-jdk-amd64) must hold one. 476 is the newest
# release on Maven Central.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VERSION=476
TRINO_HOME="${TRINO_HOME:-$ROOT/.services/trino/trino-server-$VERSION}"
JAVA_HOME_25="${TRINO_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
M2="${MAVEN_REPO:-$HOME/.m2/repository}/io/trino"

say() { printf '[trino-install] %s\n' "$*"; }
die() { printf '[trino-install] ERROR: %s\n' "$*" >&2; exit 1; }

[[ -x "$JAVA_HOME_25/bin/java" ]] || die "no Java at $JAVA_HOME_25 (Trino $VERSION needs Java 24+; set TRINO_JAVA_HOME)"
if [[ -f "$TRINO_HOME/.install-stamp" ]]; then
    say "Trino $VERSION is installed at $TRINO_HOME"
    exit 0
fi
command -v mvn >/dev/null 2>&1 || die "mvn not found (apt-get install maven)"

say "fetching Trino $VERSION from Maven Central (cached in ~/.m2)"
mvn -q dependency:get -Dartifact="io.trino:trino-server-core:$VERSION:tar.gz" -Dtransitive=false
mvn -q dependency:get -Dartifact="io.trino:trino-hive:$VERSION:zip" -Dtransitive=false

mkdir -p "$(dirname "$TRINO_HOME")"
work="$(mktemp -d "$(dirname "$TRINO_HOME")/.install.XXXXXX")"
trap 'rm -rf "$work"' EXIT
tar xzf "$M2/trino-server-core/$VERSION/trino-server-core-$VERSION.tar.gz" -C "$work"
server="$work/trino-server-core-$VERSION"
python3 -m zipfile -e "$M2/trino-hive/$VERSION/trino-hive-$VERSION.zip" "$server/plugin/"
mv "$server/plugin/trino-hive-$VERSION" "$server/plugin/hive"
chmod +x "$server/bin/launcher"
touch "$server/.install-stamp"
rm -rf "$TRINO_HOME"
mv "$server" "$TRINO_HOME"
say "installed Trino $VERSION at $TRINO_HOME"
