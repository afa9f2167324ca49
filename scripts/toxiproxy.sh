#!/usr/bin/env bash
# scripts/toxiproxy.sh start|stop|status -- a local Toxiproxy server (a TCP proxy that injects
# network faults: latency, bandwidth caps, timeouts, connection resets, full cuts) on 127.0.0.1,
# for the fault tests. Its HTTP API creates proxies and toxics (test/support/toxiproxy.h).
#
#   start   start it in the background (detached; survives the calling shell) with its API on a
#           fresh free port, wait until GET /version answers (30 s max), then print as the last
#           stdout line
#             toxiproxy=http://127.0.0.1:PORT
#           If it is already running, just print that line. It starts with no proxies; proxies
#           and toxics live in memory only (lost on stop).
#   stop    SIGTERM, wait up to 15 s, then SIGKILL. OK if not running.
#   status  print `running toxiproxy=http://127.0.0.1:PORT` (exit 0) or `stopped` (exit 1).
# stdout carries only those lines; all messages go to stderr.
#
# The binaries are built once from the Go module proxy (github.com/Shopify/toxiproxy/v2/cmd/server
# and cmd/cli @v$TOXIPROXY_VERSION) into $TOXIPROXY_BIN = $FXC_CACHE/toxiproxy-$TOXIPROXY_VERSION/
# toxiproxy-server (and toxiproxy-cli next to it); the first build takes about a minute. It needs
# Go (from PATH, else /usr/local/go/bin/go); Go's module and build caches go to $FXC_CACHE/go/.
#
# Env vars:
#   FXC_TOXIPROXY_DIR        state dir (default: $FXC_BUILD/toxiproxy): pid, port (the API port
#                            number), toxiproxy.log
#   FXC_TOXIPROXY_LOG_LEVEL  Toxiproxy's LOG_LEVEL (default: info; debug logs every toxic event)
#   FXC_BUILD, FXC_CACHE     see scripts/versions.sh
# Also needs python3 (free ports, readiness probe).
set -euo pipefail

SCRIPTS="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=scripts/versions.sh
source "$SCRIPTS/versions.sh"
# shellcheck source=scripts/lib.sh
source "$SCRIPTS/lib.sh"

log() { printf 'toxiproxy: %s\n' "$*" >&2; }
die() { printf 'toxiproxy: ERROR: %s\n' "$*" >&2; exit 1; }

HOST=127.0.0.1
START_TIMEOUT=30
STOP_TIMEOUT=15
BUILD_LOCK_TIMEOUT=1800
START_ATTEMPTS=3   # a fresh port each time, in case another process grabs it meanwhile

TOXIPROXY_MODULE=github.com/Shopify/toxiproxy/v2
TOXIPROXY_HOME="$(dirname -- "$TOXIPROXY_BIN")"
TOXIPROXY_CLI="$TOXIPROXY_HOME/toxiproxy-cli"
GO_HOME="$FXC_CACHE/go"

DIR="${FXC_TOXIPROXY_DIR:-$FXC_BUILD/toxiproxy}"
mkdir -p "$DIR"
DIR="$(cd -- "$DIR" && pwd -P)"
PIDFILE="$DIR/pid"
PORTFILE="$DIR/port"
TLOG="$DIR/toxiproxy.log"

usage() { echo "usage: $0 start|stop|status" >&2; exit 2; }

# --- build -------------------------------------------------------------------------------------

built() { [[ -x "$TOXIPROXY_BIN" && -x "$TOXIPROXY_CLI" && -f "$TOXIPROXY_HOME/.complete" ]]; }

# Builds $TOXIPROXY_BIN and toxiproxy-cli once with a plain `go install pkg@v` (the module has no
# replace directives). Atomic: installed into a temporary directory, renamed, then marked
# complete; concurrent callers wait on a lock.
ensure_binary() {
  built && return 0
  mkdir -p "$TOXIPROXY_HOME"
  exec 8>"$TOXIPROXY_HOME/.build.lock"
  if ! flock -n 8; then
    log "another build of Toxiproxy v$TOXIPROXY_VERSION is running: waiting for it ($TOXIPROXY_HOME/.build.lock)"
    flock -w "$BUILD_LOCK_TIMEOUT" 8 || die "timed out waiting for $TOXIPROXY_HOME/.build.lock"
  fi
  if built; then
    exec 8>&-
    return 0
  fi
  local go
  go="$(fxc_find_go)" || die "Go is not installed (no 'go' in PATH, no /usr/local/go/bin/go); it is needed once to build Toxiproxy $TOXIPROXY_VERSION into $TOXIPROXY_BIN. Install Go >= 1.17 (https://go.dev/dl/) and retry."
  log "building Toxiproxy v$TOXIPROXY_VERSION with $("$go" version)"
  local tmp="$TOXIPROXY_HOME/bin.tmp.$$" blog="$TOXIPROXY_HOME/build.log" t0=$SECONDS
  rm -rf -- "$TOXIPROXY_HOME"/bin.tmp.*
  mkdir -p "$tmp" "$GO_HOME"
  : >"$blog"
  (
    cd -- "$TOXIPROXY_HOME"
    export GOPATH="$GO_HOME/path" GOMODCACHE="$GO_HOME/path/pkg/mod" GOCACHE="$GO_HOME/cache"
    export GOFLAGS="-modcacherw" CGO_ENABLED=0 GOBIN="$tmp"
    set -x
    "$go" install -trimpath -ldflags "-s -w -X $TOXIPROXY_MODULE.Version=$TOXIPROXY_VERSION" \
      "$TOXIPROXY_MODULE/cmd/server@v$TOXIPROXY_VERSION" "$TOXIPROXY_MODULE/cmd/cli@v$TOXIPROXY_VERSION"
  ) >>"$blog" 2>&1 || {
    rm -rf -- "$tmp"
    log "---- last lines of $blog ----"
    tail -n 30 "$blog" >&2
    die "building Toxiproxy v$TOXIPROXY_VERSION failed (full log: $blog)"
  }
  mv -f -- "$tmp/server" "$TOXIPROXY_BIN"
  mv -f -- "$tmp/cli" "$TOXIPROXY_CLI"
  rm -rf -- "$tmp"
  touch "$TOXIPROXY_HOME/.complete"
  exec 8>&-
  log "built $TOXIPROXY_BIN and $TOXIPROXY_CLI in $((SECONDS - t0)) s"
}

# --- process -----------------------------------------------------------------------------------

# The API port from the port file.
api_port() {
  local v
  v="$(cat -- "$PORTFILE" 2>/dev/null || true)"
  [[ "$v" =~ ^[0-9]+$ ]] || return 1
  echo "$v"
}

# Pid of the Toxiproxy for this state dir, if alive (guards against pid reuse by checking that the
# process runs toxiproxy-server on our port).
running_pid() {
  local p
  p="$(api_port)" || return 1
  fxc_running_pid "$PIDFILE" "*toxiproxy-server -host $HOST -port $p *"
}

url() { echo "http://$HOST:$(api_port)"; }

# probe PORT: succeeds when GET /version answers 200.
probe() {
  python3 - "$HOST" "$1" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(f"http://{sys.argv[1]}:{sys.argv[2]}/version", timeout=3) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}

tail_log() {
  if [[ -s "$TLOG" ]]; then
    log "---- last lines of $TLOG ----"
    tail -n 30 "$TLOG" >&2
  fi
}

# wait_ready PID: 0 when ready, 1 if the process exited (log shown), dies on timeout.
wait_ready() {
  local pid="$1" p deadline=$((SECONDS + START_TIMEOUT))
  p="$(api_port)" || die "bad or missing $PORTFILE"
  while ((SECONDS < deadline)); do
    if probe "$p"; then
      return 0
    fi
    if ! fxc_alive "$pid"; then
      tail_log
      log "toxiproxy process $pid exited during startup (state dir $DIR)"
      return 1
    fi
    sleep 0.2
  done
  tail_log
  die "toxiproxy not ready on $HOST:$p within ${START_TIMEOUT}s (pid $pid still running; stop it with '$0 stop')"
}

# Launches toxiproxy-server detached and echoes its pid.
launch() {
  local p="$1"
  rm -f -- "$PIDFILE"
  # setsid: new session, no controlling terminal, immune to the caller's SIGHUP/SIGINT.
  # The inner shell records its own pid, then execs the server (so the pid is the server's).
  # The trailing -seed keeps the "-port P " glob of running_pid matching.
  # shellcheck disable=SC2016  # $$ and $@ are for the inner shell
  LOG_LEVEL="${FXC_TOXIPROXY_LOG_LEVEL:-info}" \
    setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' fxc-toxiproxy "$PIDFILE" \
    "$TOXIPROXY_BIN" -host "$HOST" -port "$p" -seed "$RANDOM" \
    </dev/null >>"$TLOG" 2>&1 9>&- &
  local _
  for _ in $(seq 1 50); do
    [[ -s "$PIDFILE" ]] && break
    sleep 0.1
  done
  [[ -s "$PIDFILE" ]] || die "toxiproxy did not start (no pid file)"
  cat -- "$PIDFILE"
}

cmd_start() {
  command -v python3 >/dev/null 2>&1 || die "python3 not found in PATH"
  # Build (if needed) before taking the state lock: the first build outlasts its timeout.
  ensure_binary

  # One start/stop at a time per state dir (the server itself does not inherit fd 9).
  exec 9>"$DIR/.lock"
  flock -w $((START_TIMEOUT + STOP_TIMEOUT + 30)) 9 || die "timed out waiting for $DIR/.lock"

  local pid
  if pid="$(running_pid)"; then
    log "already running (pid $pid, state dir $DIR)"
    wait_ready "$pid" || die "toxiproxy (pid $pid) exited"
    echo "toxiproxy=$(url)"
    return
  fi
  rm -f -- "$PIDFILE"

  local attempt p
  for ((attempt = 1; attempt <= START_ATTEMPTS; attempt++)); do
    p="$(fxc_free_ports 1)"
    echo "$p" >"$PORTFILE.tmp"
    mv -f -- "$PORTFILE.tmp" "$PORTFILE"
    log "starting Toxiproxy v$TOXIPROXY_VERSION: API $HOST:$p; log: $TLOG"
    pid="$(launch "$p")"
    if wait_ready "$pid"; then
      log "ready (pid $pid)"
      echo "toxiproxy=$(url)"
      return
    fi
    rm -f -- "$PIDFILE"
    if ((attempt < START_ATTEMPTS)) && tail -n 30 "$TLOG" | grep -q 'address already in use'; then
      log "the port was taken meanwhile: retrying with a fresh one"
      continue
    fi
    break
  done
  die "toxiproxy failed to start (state dir $DIR, log $TLOG)"
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
  fxc_stop_pid toxiproxy "$pid" "$STOP_TIMEOUT"
  rm -f -- "$PIDFILE"
  log "stopped"
}

cmd_status() {
  if running_pid >/dev/null; then
    echo "running toxiproxy=$(url)"
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
