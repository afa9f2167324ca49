#!/usr/bin/env bash
# scripts/kafka.sh start|stop|status -- a local single-node Kafka (KRaft, combined
# broker+controller) on 127.0.0.1, for development and tests.
#
#   start   start it in the background (detached; survives the calling shell), wait
#           until it answers Metadata requests (90 s max), print `bootstrap=HOST:PORT`
#           as the last stdout line. If it is already running, just print that line.
#   stop    SIGTERM, wait up to 30 s, then SIGKILL. OK if not running.
#   status  print `running bootstrap=HOST:PORT` (exit 0) or `stopped` (exit 1).
# stdout carries only those lines; all messages go to stderr.
#
# Env vars:
#   FXC_KAFKA_BOOTSTRAP  use an external broker: start/status print
#                        `bootstrap=$FXC_KAFKA_BOOTSTRAP` and start nothing; stop does nothing.
#   FXC_KAFKA_DIR        state dir (default: $FXC_BUILD/kafka): server.properties, data/,
#                        broker.log, console.log, pid, port, controller.port
#   FXC_KAFKA_PORT       broker port (default: the port used last time for this state
#                        dir if still free, else a free port)
#   FXC_BUILD, FXC_CACHE see scripts/versions.sh
# The broker jars come from scripts/setup.sh (run automatically with
# FXC_SETUP_NO_BUILD=1 if they are missing). Java is taken from PATH.
set -euo pipefail

SCRIPTS="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=scripts/versions.sh
source "$SCRIPTS/versions.sh"
# shellcheck source=scripts/lib.sh
source "$SCRIPTS/lib.sh"

log() { printf 'kafka: %s\n' "$*" >&2; }
die() { printf 'kafka: ERROR: %s\n' "$*" >&2; exit 1; }

HOST=127.0.0.1
START_TIMEOUT=90
STOP_TIMEOUT=30

DIR="${FXC_KAFKA_DIR:-$FXC_BUILD/kafka}"
mkdir -p "$DIR"
DIR="$(cd -- "$DIR" && pwd -P)"
PROPS="$DIR/server.properties"
DATA="$DIR/data"
PIDFILE="$DIR/pid"
PORTFILE="$DIR/port"
CPORTFILE="$DIR/controller.port"
BROKERLOG="$DIR/broker.log"
CONSOLELOG="$DIR/console.log"
LOG4J_CONF="$SCRIPTS/kafka/log4j2.properties"

usage() { echo "usage: $0 start|stop|status" >&2; exit 2; }

# Pid of the broker for this state dir, if alive (guards against pid reuse by
# checking that the process runs kafka.Kafka with our server.properties).
running_pid() { fxc_running_pid "$PIDFILE" "*kafka.Kafka*$PROPS*"; }

bootstrap() { echo "$HOST:$(<"$PORTFILE")"; }



# Whether a port can be bound on 127.0.0.1 (with SO_REUSEADDR, like the JVM does).
port_free() {
  python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}

# Succeeds when the broker answers ApiVersions v0 and a Metadata v4 request
# listing at least one (i.e. registered, unfenced) broker.
probe() {
  python3 - "$HOST" "$1" <<'PY'
import socket, struct, sys

def recvn(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf

def call(s, api_key, version, corr, body):
    client = b"fxc-probe"
    msg = struct.pack(">hhih", api_key, version, corr, len(client)) + client + body
    s.sendall(struct.pack(">i", len(msg)) + msg)
    (size,) = struct.unpack(">i", recvn(s, 4))
    resp = recvn(s, size)
    if struct.unpack(">i", resp[:4])[0] != corr:
        raise ValueError("correlation id mismatch")
    return resp[4:]

try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3) as s:
        s.settimeout(5)
        r = call(s, 18, 0, 1, b"")                         # ApiVersions v0
        if struct.unpack(">h", r[:2])[0] != 0:
            sys.exit(1)
        r = call(s, 3, 4, 2, struct.pack(">ib", -1, 0))    # Metadata v4, all topics
        (nbrokers,) = struct.unpack(">i", r[4:8])          # after throttle_time_ms
        sys.exit(0 if nbrokers >= 1 else 1)
except Exception:
    sys.exit(1)
PY
}

tail_log() {
  local f
  for f in "$BROKERLOG" "$CONSOLELOG"; do
    if [[ -s "$f" ]]; then
      log "---- last lines of $f ----"
      tail -n 40 "$f" >&2
      if [[ "$f" == "$BROKERLOG" ]] && grep -qE '^\[[^]]*\] (ERROR|FATAL) ' "$f"; then
        log "---- last ERROR/FATAL lines of $f ----"
        grep -E '^\[[^]]*\] (ERROR|FATAL) ' "$f" | tail -n 5 >&2
      fi
    fi
  done
}

wait_ready() {
  local pid="$1" port="$2" deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if probe "$port"; then
      return 0
    fi
    if ! fxc_alive "$pid"; then
      tail_log
      die "broker process $pid exited during startup (state dir $DIR)"
    fi
    sleep 0.5
  done
  tail_log
  die "broker did not answer Metadata requests on $HOST:$port within ${START_TIMEOUT}s (pid $pid still running; stop it with '$0 stop')"
}

ensure_prereqs() {
  if [[ ! -f "$KAFKA_LIBS/.complete" ]] || ! command -v java >/dev/null 2>&1 \
     || ! command -v python3 >/dev/null 2>&1; then
    log "Kafka jars or java/python3 missing: running scripts/setup.sh (FXC_SETUP_NO_BUILD=1)"
    FXC_SETUP_NO_BUILD=1 "$SCRIPTS/setup.sh" >&2
  fi
  [[ -f "$KAFKA_LIBS/.complete" ]] || die "Kafka jars still missing in $KAFKA_LIBS"
  command -v java >/dev/null 2>&1 || die "java not found in PATH"
}

write_props() {
  local port="$1" cport="$2"
  cat >"$PROPS.tmp" <<PROPS
# Generated by scripts/kafka.sh -- rewritten on every start; edits are lost.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$cport
listeners=PLAINTEXT://$HOST:$port,CONTROLLER://$HOST:$cport
advertised.listeners=PLAINTEXT://$HOST:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DATA
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
num.partitions=1
auto.create.topics.enable=true
message.max.bytes=52428800
PROPS
  mv -f -- "$PROPS.tmp" "$PROPS"
}

java_cmd() {
  JAVA=(java -Xms256m -Xmx1g
        "-Dlog4j2.configurationFile=$LOG4J_CONF"
        "-Dfxc.kafka.log=$BROKERLOG"
        -cp "$KAFKA_LIBS/*")
}

cmd_start() {
  if [[ -n "${FXC_KAFKA_BOOTSTRAP:-}" ]]; then
    log "FXC_KAFKA_BOOTSTRAP is set: using the external broker, starting nothing"
    echo "bootstrap=$FXC_KAFKA_BOOTSTRAP"
    return
  fi
  # One start/stop at a time per state dir (the broker itself does not inherit fd 9).
  exec 9>"$DIR/.lock"
  flock -w $((START_TIMEOUT + STOP_TIMEOUT + 30)) 9 || die "timed out waiting for $DIR/.lock"

  local pid
  if pid="$(running_pid)"; then
    log "already running (pid $pid, state dir $DIR)"
    wait_ready "$pid" "$(<"$PORTFILE")"
    echo "bootstrap=$(bootstrap)"
    return
  fi
  rm -f -- "$PIDFILE"

  ensure_prereqs
  command -v python3 >/dev/null 2>&1 || die "python3 not found in PATH"

  local port cport
  if [[ -f "$DATA/meta.properties" ]]; then
    # Existing storage: the formatted quorum names the controller port, keep it.
    [[ -s "$CPORTFILE" ]] || die "$DATA is formatted but $CPORTFILE is missing; remove $DIR to start afresh"
    cport="$(<"$CPORTFILE")"
    port_free "$cport" || die "controller port $cport (recorded in $CPORTFILE) is in use; free it or remove $DIR"
    if [[ -n "${FXC_KAFKA_PORT:-}" ]]; then
      port="$FXC_KAFKA_PORT"
    elif [[ -s "$PORTFILE" ]] && port_free "$(<"$PORTFILE")"; then
      port="$(<"$PORTFILE")"
    else
      read -r port _ < <(fxc_free_ports 2)
      [[ "$port" != "$cport" ]] || read -r _ port < <(fxc_free_ports 2)
    fi
  else
    rm -rf -- "$DATA"
    local p1 p2
    read -r p1 p2 < <(fxc_free_ports 2)
    cport="$p2"
    port="${FXC_KAFKA_PORT:-$p1}"
    if [[ "$port" == "$cport" ]]; then cport="$p1"; fi
  fi
  [[ "$port" =~ ^[0-9]+$ && "$cport" =~ ^[0-9]+$ ]] || die "bad port(s): broker '$port', controller '$cport'"
  echo "$port" >"$PORTFILE"
  echo "$cport" >"$CPORTFILE"
  write_props "$port" "$cport"

  java_cmd
  if [[ ! -f "$DATA/meta.properties" ]]; then
    local cluster_id
    cluster_id="$("${JAVA[@]}" kafka.tools.StorageTool random-uuid 2>>"$CONSOLELOG" | tail -n 1)"
    [[ -n "$cluster_id" ]] || { tail_log; die "StorageTool random-uuid failed"; }
    log "formatting storage in $DATA (cluster id $cluster_id, controller port $cport)"
    "${JAVA[@]}" kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$PROPS" \
      >>"$CONSOLELOG" 2>&1 || { tail_log; die "StorageTool format failed"; }
  fi

  log "starting broker on $HOST:$port (controller $HOST:$cport), log: $BROKERLOG"
  # setsid: new session, no controlling terminal, immune to the caller's SIGHUP/SIGINT.
  # The inner shell records its own pid, then execs java (so the pid is java's).
  # shellcheck disable=SC2016  # $$ and $@ are for the inner shell
  setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' fxc-kafka "$PIDFILE" \
    "${JAVA[@]}" kafka.Kafka "$PROPS" \
    </dev/null >>"$CONSOLELOG" 2>&1 9>&- &
  local _
  for _ in $(seq 1 50); do
    [[ -s "$PIDFILE" ]] && break
    sleep 0.1
  done
  [[ -s "$PIDFILE" ]] || die "broker did not start (no pid file)"
  pid="$(<"$PIDFILE")"
  wait_ready "$pid" "$port"
  log "ready (pid $pid)"
  echo "bootstrap=$HOST:$port"
}

cmd_stop() {
  if [[ -n "${FXC_KAFKA_BOOTSTRAP:-}" ]]; then
    log "FXC_KAFKA_BOOTSTRAP is set: external broker, nothing to stop"
    return
  fi
  exec 9>"$DIR/.lock"
  flock -w $((START_TIMEOUT + STOP_TIMEOUT + 30)) 9 || die "timed out waiting for $DIR/.lock"
  local pid
  if ! pid="$(running_pid)"; then
    log "not running (state dir $DIR)"
    rm -f -- "$PIDFILE"
    return
  fi
  fxc_stop_pid broker "$pid" "$STOP_TIMEOUT"
  rm -f -- "$PIDFILE"
  log "stopped"
}

cmd_status() {
  if [[ -n "${FXC_KAFKA_BOOTSTRAP:-}" ]]; then
    echo "bootstrap=$FXC_KAFKA_BOOTSTRAP"
    return 0
  fi
  if running_pid >/dev/null && [[ -s "$PORTFILE" ]]; then
    echo "running bootstrap=$(bootstrap)"
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
