#!/usr/bin/env bash
# scripts/jaeger.sh start|stop|status -- a local Jaeger v2 all-in-one (OTLP receiver, in-memory
# trace storage, query API/UI) on 127.0.0.1, for development and tests.
#
#   start   start it in the background (detached; survives the calling shell), wait until the
#           query API answers GET /api/services with 200 and the OTLP/HTTP receiver accepts an
#           empty POST /v1/traces (60 s max), then print as the last two stdout lines
#             otlp_http=http://127.0.0.1:PORT     (POST OTLP/HTTP to $otlp_http/v1/traces)
#             query=http://127.0.0.1:PORT         (GET $query/api/traces/<traceId>, UI at /)
#           If it is already running, just print those lines. Every start picks fresh free
#           ports; traces are kept in memory only (lost on stop).
#   stop    SIGTERM, wait up to 30 s, then SIGKILL. OK if not running.
#   status  print the two lines (exit 0) or `stopped` (exit 1).
# stdout carries only those lines; all messages go to stderr.
#
# The binary is built once from the Go module proxy (github.com/jaegertracing/jaeger/cmd/jaeger
# @v$JAEGER_VERSION) into $JAEGER_BIN = $FXC_CACHE/jaeger-$JAEGER_VERSION/jaeger; the first
# build takes several minutes. It needs Go (from PATH, else /usr/local/go/bin/go); Go's module
# and build caches go to $FXC_CACHE/go/. The built binary has no UI assets (they are not in
# the Go module): the UI page is a placeholder, the HTTP/JSON query API is complete.
#
# Env vars:
#   FXC_JAEGER_DIR   state dir (default: $FXC_BUILD/jaeger): config.yaml, pid, ports
#                    (otlp_grpc=, otlp_http=, query_http=, query_grpc= port numbers), jaeger.log
#   FXC_BUILD, FXC_CACHE see scripts/versions.sh
# Also needs python3 (free ports, readiness probe).
set -euo pipefail

SCRIPTS="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=scripts/versions.sh
source "$SCRIPTS/versions.sh"
# shellcheck source=scripts/lib.sh
source "$SCRIPTS/lib.sh"

log() { printf 'jaeger: %s\n' "$*" >&2; }
die() { printf 'jaeger: ERROR: %s\n' "$*" >&2; exit 1; }

HOST=127.0.0.1
START_TIMEOUT=60
STOP_TIMEOUT=30
BUILD_LOCK_TIMEOUT=3600
START_ATTEMPTS=3   # fresh ports each time, in case another process grabs one meanwhile

JAEGER_MODULE=github.com/jaegertracing/jaeger
JAEGER_PKG=$JAEGER_MODULE/cmd/jaeger
JAEGER_HOME="$(dirname -- "$JAEGER_BIN")"
GO_HOME="$FXC_CACHE/go"

DIR="${FXC_JAEGER_DIR:-$FXC_BUILD/jaeger}"
mkdir -p "$DIR"
DIR="$(cd -- "$DIR" && pwd -P)"
CONF="$DIR/config.yaml"
PIDFILE="$DIR/pid"
PORTSFILE="$DIR/ports"
JLOG="$DIR/jaeger.log"

usage() { echo "usage: $0 start|stop|status" >&2; exit 2; }

# --- build -------------------------------------------------------------------------------------

built() { [[ -x "$JAEGER_BIN" && -f "$JAEGER_HOME/.complete" ]]; }

# Builds $JAEGER_BIN once (a scratch module under $JAEGER_HOME/src: a plain `go install pkg@v`
# is refused because of the module's replace directives). Atomic: built under a temporary name,
# renamed, then marked complete; concurrent callers wait on a lock.
ensure_binary() {
  built && return 0
  mkdir -p "$JAEGER_HOME"
  exec 8>"$JAEGER_HOME/.build.lock"
  if ! flock -n 8; then
    log "another build of Jaeger v$JAEGER_VERSION is running: waiting for it ($JAEGER_HOME/.build.lock)"
    flock -w "$BUILD_LOCK_TIMEOUT" 8 || die "timed out waiting for $JAEGER_HOME/.build.lock"
  fi
  if built; then
    exec 8>&-
    return 0
  fi
  local go
  go="$(fxc_find_go)" || die "Go is not installed (no 'go' in PATH, no /usr/local/go/bin/go); it is needed once to build Jaeger $JAEGER_VERSION into $JAEGER_BIN. Install Go >= 1.24 (https://go.dev/dl/) and retry."
  log "building Jaeger v$JAEGER_VERSION with $("$go" version) -- the first build takes several minutes"
  local src="$JAEGER_HOME/src" tmp="$JAEGER_BIN.tmp.$$" blog="$JAEGER_HOME/build.log" t0=$SECONDS
  rm -rf -- "$src" "$JAEGER_BIN".tmp.*
  mkdir -p "$src" "$GO_HOME"
  : >"$blog"
  (
    cd -- "$src"
    export GOPATH="$GO_HOME/path" GOMODCACHE="$GO_HOME/path/pkg/mod" GOCACHE="$GO_HOME/cache"
    export GOFLAGS="-mod=mod -modcacherw" CGO_ENABLED=0
    set -x
    "$go" mod init scratch
    "$go" get -tool "$JAEGER_PKG@v$JAEGER_VERSION"
    "$go" build -trimpath \
      -ldflags "-s -w -X $JAEGER_MODULE/internal/version.latestVersion=v$JAEGER_VERSION" \
      -o "$tmp" "$JAEGER_PKG"
  ) >>"$blog" 2>&1 || {
    rm -f -- "$tmp"
    log "---- last lines of $blog ----"
    tail -n 30 "$blog" >&2
    die "building Jaeger v$JAEGER_VERSION failed (full log: $blog)"
  }
  mv -f -- "$tmp" "$JAEGER_BIN"
  touch "$JAEGER_HOME/.complete"
  exec 8>&-
  log "built $JAEGER_BIN in $((SECONDS - t0)) s"
}

# --- process -----------------------------------------------------------------------------------


# Pid of the Jaeger for this state dir, if alive (guards against pid reuse by checking that the
# process runs a jaeger binary with our config file).
running_pid() { fxc_running_pid "$PIDFILE" "*jaeger*--config=$CONF*"; }

# port NAME: a port number from the ports file.
port() {
  local v
  v="$(sed -n "s/^$1=//p" "$PORTSFILE" 2>/dev/null | tail -n 1)"
  [[ "$v" =~ ^[0-9]+$ ]] || return 1
  echo "$v"
}

print_endpoints() {
  echo "otlp_http=http://$HOST:$(port otlp_http)"
  echo "query=http://$HOST:$(port query_http)"
}


# probe QUERY_PORT OTLP_HTTP_PORT: succeeds when GET /api/services answers 200 and an empty
# OTLP/HTTP JSON export is accepted with 200.
probe() {
  python3 - "$HOST" "$1" "$2" <<'PY'
import sys, urllib.request
host, qport, oport = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    with urllib.request.urlopen(f"http://{host}:{qport}/api/services", timeout=3) as r:
        if r.status != 200:
            sys.exit(1)
    req = urllib.request.Request(f"http://{host}:{oport}/v1/traces", data=b'{"resourceSpans":[]}',
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=3) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}

tail_log() {
  if [[ -s "$JLOG" ]]; then
    log "---- last lines of $JLOG ----"
    tail -n 30 "$JLOG" >&2
  fi
}

# wait_ready PID: 0 when ready, 1 if the process exited (log shown), dies on timeout.
wait_ready() {
  local pid="$1" qport oport deadline=$((SECONDS + START_TIMEOUT))
  qport="$(port query_http)" && oport="$(port otlp_http)" || die "bad or missing $PORTSFILE"
  while ((SECONDS < deadline)); do
    if probe "$qport" "$oport"; then
      return 0
    fi
    if ! fxc_alive "$pid"; then
      tail_log
      log "jaeger process $pid exited during startup (state dir $DIR)"
      return 1
    fi
    sleep 0.5
  done
  tail_log
  die "jaeger not ready on $HOST:$qport (query) / $HOST:$oport (OTLP/HTTP) within ${START_TIMEOUT}s (pid $pid still running; stop it with '$0 stop')"
}

# Every listener is named explicitly, so nothing binds the all-in-one defaults (4317, 4318,
# 16685, 16686, 8888, ...) or a non-loopback address. The collector's own metrics are off
# (level: none: no Prometheus port) and so is the query service's self-tracing (it would
# export to localhost:4317).
write_config() {
  local otlp_grpc="$1" otlp_http="$2" query_http="$3" query_grpc="$4"
  cat >"$CONF.tmp" <<YAML
# Generated by scripts/jaeger.sh -- rewritten on every start; edits are lost.
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    logs:
      level: info

extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
  jaeger_query:
    storage:
      traces: memstore
    enable_tracing: false
    http:
      endpoint: $HOST:$query_http
    grpc:
      endpoint: $HOST:$query_grpc

receivers:
  otlp:
    protocols:
      grpc:
        endpoint: $HOST:$otlp_grpc
      http:
        endpoint: $HOST:$otlp_http

processors:
  batch:

exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
YAML
  mv -f -- "$CONF.tmp" "$CONF"
  printf 'otlp_grpc=%s\notlp_http=%s\nquery_http=%s\nquery_grpc=%s\n' \
    "$otlp_grpc" "$otlp_http" "$query_http" "$query_grpc" >"$PORTSFILE.tmp"
  mv -f -- "$PORTSFILE.tmp" "$PORTSFILE"
}

# Launches Jaeger detached and echoes its pid.
launch() {
  rm -f -- "$PIDFILE"
  # setsid: new session, no controlling terminal, immune to the caller's SIGHUP/SIGINT.
  # The inner shell records its own pid, then execs jaeger (so the pid is jaeger's).
  # shellcheck disable=SC2016  # $$ and $@ are for the inner shell
  setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' fxc-jaeger "$PIDFILE" \
    "$JAEGER_BIN" "--config=$CONF" \
    </dev/null >>"$JLOG" 2>&1 9>&- &
  local _
  for _ in $(seq 1 50); do
    [[ -s "$PIDFILE" ]] && break
    sleep 0.1
  done
  [[ -s "$PIDFILE" ]] || die "jaeger did not start (no pid file)"
  cat -- "$PIDFILE"
}

cmd_start() {
  command -v python3 >/dev/null 2>&1 || die "python3 not found in PATH"
  # Build (if needed) before taking the state lock: the first build outlasts its timeout.
  ensure_binary

  # One start/stop at a time per state dir (jaeger itself does not inherit fd 9).
  exec 9>"$DIR/.lock"
  flock -w $((START_TIMEOUT + STOP_TIMEOUT + 30)) 9 || die "timed out waiting for $DIR/.lock"

  local pid
  if pid="$(running_pid)"; then
    log "already running (pid $pid, state dir $DIR)"
    wait_ready "$pid" || die "jaeger (pid $pid) exited"
    print_endpoints
    return
  fi
  rm -f -- "$PIDFILE"

  local attempt otlp_grpc otlp_http query_http query_grpc
  for ((attempt = 1; attempt <= START_ATTEMPTS; attempt++)); do
    read -r otlp_grpc otlp_http query_http query_grpc < <(fxc_free_ports 4)
    write_config "$otlp_grpc" "$otlp_http" "$query_http" "$query_grpc"
    log "starting Jaeger v$JAEGER_VERSION: OTLP gRPC $HOST:$otlp_grpc, OTLP/HTTP $HOST:$otlp_http," \
        "query HTTP $HOST:$query_http, query gRPC $HOST:$query_grpc; log: $JLOG"
    pid="$(launch)"
    if wait_ready "$pid"; then
      log "ready (pid $pid)"
      print_endpoints
      return
    fi
    rm -f -- "$PIDFILE"
    if ((attempt < START_ATTEMPTS)) && tail -n 30 "$JLOG" | grep -q 'address already in use'; then
      log "a port was taken meanwhile: retrying with fresh ports"
      continue
    fi
    break
  done
  die "jaeger failed to start (state dir $DIR, log $JLOG)"
}

cmd_stop() {
  exec 9>"$DIR/.lock"
  flock -w $((START_TIMEOUT + STOP_TIMEOUT + 30)) 9 || die "timed out waiting for $DIR/.lock"
  local pid
  if ! pid="$(running_pid)"; then
    log "not running (state dir $DIR)"
    rm -f -- "$PIDFILE"
    return
  fi
  fxc_stop_pid jaeger "$pid" "$STOP_TIMEOUT"
  rm -f -- "$PIDFILE"
  log "stopped"
}

cmd_status() {
  if running_pid >/dev/null && port otlp_http >/dev/null && port query_http >/dev/null; then
    print_endpoints
    return 0
  fi
  echo "stopped"
  return 1
}

[[ $# -eq 1 ]] || usage
case "$1" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) usage ;;
esac
