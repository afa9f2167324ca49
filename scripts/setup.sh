#!/usr/bin/env bash
# scripts/setup.sh -- prepare a Debian 12 machine to build and test fxconnect.
# Idempotent; safe to re-run (each step is skipped when already done):
#   1. installs the missing apt packages listed in scripts/versions.sh
#      (apt-get update runs once, only if something is missing; sudo if not root);
#   2. downloads the Apache Kafka broker jars (Maven Central, via scripts/kafka/pom.xml)
#      into $KAFKA_LIBS, marked complete by $KAFKA_LIBS/.complete, the same for Kafka
#      $KAFKA_SECURE_VERSION into $KAFKA_SECURE_LIBS (the broker of `kafka.sh start --secure`;
#      see versions.sh for why it differs), and the WireMock standalone
#      jar (the legacy stand-in of scripts/legacy.sh; via scripts/legacy/pom.xml) into
#      $WIREMOCK_JAR's directory, marked complete by .complete there;
#   3. installs the official AsyncAPI parser (@asyncapi/parser $ASYNCAPI_PARSER_VERSION, npm) into
#      $ASYNCAPI_PARSER_DIR for the tests of `fxconnect docs asyncapi` (Debian's nodejs and npm when
#      the machine has no node), marked complete by .complete there;
#   4. configures and builds with `cmake --preset release` / `cmake --build --preset release`.
#
# Env vars:
#   FXC_SETUP_NO_BUILD=1  skip step 4 (only install packages and fetch the Kafka and WireMock jars)
#   FXC_CACHE             download cache (default: $HOME/.cache/fxconnect)
#   FXC_BUILD             build dir used by the other scripts (default: <repo>/build)
# All progress messages go to stderr.
set -euo pipefail

# shellcheck source=scripts/versions.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/versions.sh"

log() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- 1. apt packages
install_packages() {
  command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script expects Debian 12"
  local missing=() pkg status
  for pkg in "${FXC_APT_PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
    [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    log "apt packages: all ${#FXC_APT_PACKAGES[@]} already installed"
    return
  fi
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 || die "not root and sudo not found; install as root: ${missing[*]}"
    sudo=(sudo)
  fi
  log "apt packages: installing ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

# ---------------------------------------------------------------- 2. Kafka jars
# fetch_kafka_jars VERSION LIBS: the broker jars of Kafka VERSION (and log4j $LOG4J_VERSION) into
# LIBS, marked complete by LIBS/.complete; nothing to do if it is there already.
fetch_kafka_jars() {
  local version="$1" libs="$2"
  if [[ -f "$libs/.complete" ]]; then
    log "Kafka $version jars: already in $libs"
    return
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found (apt package 'maven')"
  mkdir -p "$FXC_CACHE"
  # Serialise concurrent setups sharing the same cache.
  exec 8>"$FXC_CACHE/.setup.lock"
  flock -w 600 8 || die "timed out waiting for $FXC_CACHE/.setup.lock"
  if [[ -f "$libs/.complete" ]]; then
    log "Kafka $version jars: already in $libs (fetched concurrently)"
    exec 8>&-
    return
  fi
  local parent tmp
  parent="$(dirname -- "$libs")"
  mkdir -p "$parent"
  # Temp dir on the same filesystem so that the final rename is atomic.
  tmp="$(mktemp -d "$parent/.libs.tmp.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf -- '$tmp'" EXIT
  log "Kafka $version jars: resolving from Maven Central (log4j $LOG4J_VERSION) ..."
  # mvn's output is kept aside (Debian's Maven 3.8 prints stray colour codes even
  # with -q -B) and shown only on failure.
  if ! mvn -q -B -f "$FXC_ROOT/scripts/kafka/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$tmp/libs" \
      -Dkafka.version="$version" -Dlog4j.version="$LOG4J_VERSION" \
      </dev/null >"$tmp/mvn.log" 2>&1; then
    sed 's/\x1b\[[0-9;]*m//g' "$tmp/mvn.log" >&2
    die "mvn dependency:copy-dependencies failed (Kafka $version)"
  fi
  [[ -f "$tmp/libs/kafka_2.13-$version.jar" ]] \
    || die "mvn did not produce kafka_2.13-$version.jar in $tmp/libs"
  touch "$tmp/libs/.complete"
  # A leftover incomplete dir (no .complete) from an interrupted older run: discard.
  if [[ -e "$libs" ]]; then
    log "removing incomplete $libs"
    rm -rf -- "$libs"
  fi
  mv -T -- "$tmp/libs" "$libs"
  rm -rf -- "$tmp"
  trap - EXIT
  exec 8>&-
  log "Kafka $version jars: $(find "$libs" -name '*.jar' | wc -l) jars in $libs"
}

# ---------------------------------------------------------------- 2b. WireMock jar
fetch_wiremock_jar() {
  local home
  home="$(dirname -- "$WIREMOCK_JAR")"
  if [[ -f "$home/.complete" ]]; then
    log "WireMock $WIREMOCK_VERSION: already in $home"
    return
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found (apt package 'maven')"
  mkdir -p "$FXC_CACHE"
  # Serialise concurrent setups sharing the same cache (same lock as the Kafka jars).
  exec 8>"$FXC_CACHE/.setup.lock"
  flock -w 600 8 || die "timed out waiting for $FXC_CACHE/.setup.lock"
  if [[ -f "$home/.complete" ]]; then
    log "WireMock $WIREMOCK_VERSION: already in $home (fetched concurrently)"
    exec 8>&-
    return
  fi
  local tmp
  # Temp dir on the same filesystem so that the final rename is atomic.
  tmp="$(mktemp -d "$FXC_CACHE/.wiremock.tmp.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf -- '$tmp'" EXIT
  log "WireMock $WIREMOCK_VERSION: fetching org.wiremock:wiremock-standalone from Maven Central ..."
  if ! mvn -q -B -f "$FXC_ROOT/scripts/legacy/pom.xml" dependency:copy \
      -Dwiremock.version="$WIREMOCK_VERSION" -Dwiremock.outputDirectory="$tmp/jar" \
      </dev/null >"$tmp/mvn.log" 2>&1; then
    sed 's/\x1b\[[0-9;]*m//g' "$tmp/mvn.log" >&2
    die "mvn dependency:copy (WireMock) failed"
  fi
  [[ -f "$tmp/jar/$(basename -- "$WIREMOCK_JAR")" ]] \
    || die "mvn did not produce $(basename -- "$WIREMOCK_JAR") in $tmp/jar"
  touch "$tmp/jar/.complete"
  # A leftover incomplete dir (no .complete) from an interrupted older run: discard.
  if [[ -e "$home" ]]; then
    log "removing incomplete $home"
    rm -rf -- "$home"
  fi
  mv -T -- "$tmp/jar" "$home"
  rm -rf -- "$tmp"
  trap - EXIT
  exec 8>&-
  log "WireMock $WIREMOCK_VERSION: $WIREMOCK_JAR"
}

# ---------------------------------------------------------------- 3. build
build() {
  if [[ "${FXC_SETUP_NO_BUILD:-0}" == 1 ]]; then
    log "build: skipped (FXC_SETUP_NO_BUILD=1)"
    return
  fi
  log "build: cmake --preset release && cmake --build --preset release"
  (cd "$FXC_ROOT" && cmake --preset release >&2 && cmake --build --preset release >&2) \
    || die "build failed"
}

# ---------------------------------------------------------------- 3. AsyncAPI parser
fetch_asyncapi_parser() {
  if [[ -f "$ASYNCAPI_PARSER_DIR/.complete" ]]; then
    log "@asyncapi/parser $ASYNCAPI_PARSER_VERSION: already in $ASYNCAPI_PARSER_DIR"
    return
  fi
  if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    log "node/npm: installing Debian's nodejs and npm"
    local sudo=()
    ((EUID == 0)) || sudo=(sudo)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm >&2
  fi
  log "@asyncapi/parser $ASYNCAPI_PARSER_VERSION: installing from npm into $ASYNCAPI_PARSER_DIR ..."
  mkdir -p "$ASYNCAPI_PARSER_DIR"
  (cd "$ASYNCAPI_PARSER_DIR" && npm install --no-audit --no-fund --loglevel=error \
    "@asyncapi/parser@$ASYNCAPI_PARSER_VERSION" >&2) || die "npm install @asyncapi/parser failed"
  touch "$ASYNCAPI_PARSER_DIR/.complete"
}

install_packages
fetch_asyncapi_parser
fetch_kafka_jars "$KAFKA_VERSION" "$KAFKA_LIBS"
fetch_kafka_jars "$KAFKA_SECURE_VERSION" "$KAFKA_SECURE_LIBS"
fetch_wiremock_jar
build

cli="$FXC_ROOT/build/bin/fxconnect"
if [[ "${FXC_SETUP_NO_BUILD:-0}" == 1 ]]; then
  log "done (build skipped). The CLI, once built, is at: $cli"
elif [[ -x "$cli" ]]; then
  log "done. CLI: $cli"
else
  die "build finished but $cli was not found"
fi
