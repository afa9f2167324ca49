#!/usr/bin/env bash
# scripts/kafka.sh start [--brokers N]|stop|status|kill-node N|start-node N -- a local Kafka
# (KRaft) on 127.0.0.1, for development and tests: one combined broker+controller, or with
# `--brokers 3` a three-node cluster (every node a broker and a quorum voter; replication
# factor 3, min.insync.replicas=2, unclean leader election off) for the fault tests.
#
#   start   start it in the background (detached; survives the calling shell), wait
#           until it answers Metadata requests (90 s max), print `bootstrap=HOST:PORT`
#           as the last stdout line. If it is already running, just print that line.
#           With --brokers N (2..9): wait until every node lists all N, then print
#             proxied_bootstrap=127.0.0.1:P1,...   the nodes' PROXIED listeners as advertised:
#                                                  put a Toxiproxy proxy on each P_i (see below)
#             proxy_upstreams=127.0.0.1:X1,...     where proxy i must forward to (the real port)
#             bootstrap=127.0.0.1:B1,...           all nodes, direct (last line)
#           A state dir holds one kind: a single broker or a cluster of one size.
#   stop    SIGTERM (every node at once), wait up to 30 s, then SIGKILL. OK if not running.
#   status  print `running bootstrap=...` (exit 0), or `stopped` / for a cluster with some
#           nodes down `partial bootstrap=... down=N,...` (exit 1).
#   kill-node N   (cluster) SIGKILL node N, as a crash would.
#   stop-node N   (cluster) SIGTERM node N: a controlled shutdown, as in a rolling restart.
#   start-node N  (cluster) start node N again (same ports and storage), wait until it lists
#           every node again, print the three lines of start.
# stdout carries only those lines; all messages go to stderr.
#
# Env vars:
#   FXC_KAFKA_BOOTSTRAP  use an external broker: start/status print
#                        `bootstrap=$FXC_KAFKA_BOOTSTRAP` and start nothing; stop does nothing.
#   FXC_KAFKA_DIR        state dir (default: $FXC_BUILD/kafka): server.properties, data/,
#                        broker.log, console.log, pid, port, controller.port; for a cluster
#                        cluster, ports and node1..N/ (see "a three-node cluster" below)
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

usage() { echo "usage: $0 start [--brokers N] | stop | status | kill-node N | stop-node N | start-node N" >&2; exit 2; }

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

# probe PORT [MIN_BROKERS]: succeeds when the broker answers ApiVersions v0 and a Metadata v4
# request listing at least MIN_BROKERS (default 1) registered, unfenced brokers.
probe() {
  python3 - "$HOST" "$1" "${2:-1}" <<'PY'
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
        sys.exit(0 if nbrokers >= int(sys.argv[3]) else 1)
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

# --- a three-node cluster (start --brokers 3) ----------------------------------------------------
# Layout of a cluster state dir: $DIR/cluster (node count), $DIR/ports (one line per node:
# `N broker=B proxied=X advertised=P controller=C`), $DIR/nodeN/{server.properties,data,pid,
# broker.log,console.log}. Ports are chosen once, when the storage is formatted, and kept: the
# controller quorum names them and a restarted node must come back where it was.
#
# Every node has four listeners on 127.0.0.1:
#   PLAINTEXT  :B  clients that must not be disturbed by network faults (the engine simulator, the
#                  test's checker) and replication between the brokers; advertised as itself.
#   PROXIED    :X  advertised as :P, where a Toxiproxy proxy (P -> X) stands: a client that
#                  bootstraps on the P ports is told of P ports only, so all its traffic really goes
#                  through the proxies (connection cuts, latency and bandwidth caps reach it).
#   CONTROLLER :C  the KRaft quorum (all three nodes are voters).
# The script does not start Toxiproxy (scripts/toxiproxy.sh does; the fault tests create the
# proxies from the `proxied_bootstrap=` and `proxy_upstreams=` lines).

CLUSTERFILE="$DIR/cluster"
CPORTSFILE="$DIR/ports"

cluster_mode() { [[ -s "$CLUSTERFILE" ]]; }
cluster_size() { sed -n 's/^brokers=//p' "$CLUSTERFILE"; }
node_dir() { echo "$DIR/node$1"; }
node_port() { # node_port N broker|proxied|advertised|controller
  awk -v n="$1" -v k="$2" '$1 == n { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$CPORTSFILE"
}
node_pid() { fxc_running_pid "$(node_dir "$1")/pid" "*kafka.Kafka*$(node_dir "$1")/server.properties*"; }
cluster_list() { # cluster_list broker|advertised|proxied -> 127.0.0.1:p1,127.0.0.1:p2,...
  local n out=""
  for n in $(seq 1 "$(cluster_size)"); do out+="${out:+,}$HOST:$(node_port "$n" "$1")"; done
  echo "$out"
}

write_node_props() {
  local n="$1" size="$2" dir voters="" i
  dir="$(node_dir "$n")"
  for i in $(seq 1 "$size"); do voters+="${voters:+,}$i@$HOST:$(node_port "$i" controller)"; done
  cat >"$dir/server.properties.tmp" <<PROPS
# Generated by scripts/kafka.sh (--brokers $size) -- rewritten on every start; edits are lost.
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://$HOST:$(node_port "$n" broker),PROXIED://$HOST:$(node_port "$n" proxied),CONTROLLER://$HOST:$(node_port "$n" controller)
advertised.listeners=PLAINTEXT://$HOST:$(node_port "$n" broker),PROXIED://$HOST:$(node_port "$n" advertised)
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,PROXIED:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
default.replication.factor=$size
min.insync.replicas=$((size > 1 ? 2 : 1))
unclean.leader.election.enable=false
offsets.topic.replication.factor=$size
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=$size
transaction.state.log.min.isr=$((size > 1 ? 2 : 1))
group.initial.rebalance.delay.ms=0
num.partitions=1
auto.create.topics.enable=true
message.max.bytes=52428800
replica.fetch.max.bytes=52428800
replica.fetch.response.max.bytes=104857600
socket.request.max.bytes=209715200
PROPS
  mv -f -- "$dir/server.properties.tmp" "$dir/server.properties"
}

# Starts node N (storage already formatted) detached; prints its pid.
launch_node() {
  local n="$1" dir
  dir="$(node_dir "$n")"
  rm -f -- "$dir/pid"
  JAVA=(java -Xms256m -Xmx1g
        "-Dlog4j2.configurationFile=$LOG4J_CONF"
        "-Dfxc.kafka.log=$dir/broker.log"
        -cp "$KAFKA_LIBS/*")
  # shellcheck disable=SC2016  # $$ and $@ are for the inner shell
  setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' "fxc-kafka-node$n" "$dir/pid" \
    "${JAVA[@]}" kafka.Kafka "$dir/server.properties" \
    </dev/null >>"$dir/console.log" 2>&1 9>&- &
  local _
  for _ in $(seq 1 50); do
    [[ -s "$dir/pid" ]] && break
    sleep 0.1
  done
  [[ -s "$dir/pid" ]] || die "node $n did not start (no pid file in $dir)"
}

# Waits until node N answers Metadata listing all nodes of the cluster (it is registered and
# unfenced, and sees the others); with `any`, until it lists at least one.
wait_node() {
  local n="$1" want="$2" pid deadline=$((SECONDS + START_TIMEOUT)) port
  port="$(node_port "$n" broker)"
  while ((SECONDS < deadline)); do
    probe "$port" "$want" && return 0
    if ! pid="$(node_pid "$n")"; then
      BROKERLOG="$(node_dir "$n")/broker.log" CONSOLELOG="$(node_dir "$n")/console.log" tail_log
      die "node $n exited during startup (state dir $(node_dir "$n"))"
    fi
    sleep 0.5
  done
  BROKERLOG="$(node_dir "$n")/broker.log" CONSOLELOG="$(node_dir "$n")/console.log" tail_log
  die "node $n did not answer Metadata listing $want broker(s) on $HOST:$port within ${START_TIMEOUT}s"
}

print_cluster() {
  echo "proxied_bootstrap=$(cluster_list advertised)"
  echo "proxy_upstreams=$(cluster_list proxied)"
  echo "bootstrap=$(cluster_list broker)"
}

cluster_start() {
  local size="$1" n
  [[ "$size" =~ ^[0-9]+$ ]] && ((size >= 2 && size <= 9)) || die "--brokers takes 1 to 9 (got '$size')"
  exec 9>"$DIR/.lock"
  flock -w $((START_TIMEOUT + STOP_TIMEOUT + 30)) 9 || die "timed out waiting for $DIR/.lock"
  if [[ -f "$PORTFILE" ]] && ! cluster_mode; then
    die "$DIR holds a single broker; stop it and use another FXC_KAFKA_DIR (or remove $DIR) for a cluster"
  fi
  if cluster_mode && [[ "$(cluster_size)" != "$size" ]]; then
    die "$DIR holds a $(cluster_size)-node cluster, not $size; remove $DIR to start afresh"
  fi
  ensure_prereqs
  if [[ ! -f "$(node_dir 1)/data/meta.properties" ]]; then
    local -a ports
    read -r -a ports < <(fxc_free_ports $((size * 4)))
    : >"$CPORTSFILE.tmp"
    for n in $(seq 1 "$size"); do
      local base=$(((n - 1) * 4))
      echo "$n broker=${ports[base]} proxied=${ports[base + 1]} advertised=${ports[base + 2]} controller=${ports[base + 3]}" >>"$CPORTSFILE.tmp"
    done
    mv -f -- "$CPORTSFILE.tmp" "$CPORTSFILE"
    echo "brokers=$size" >"$CLUSTERFILE"
    java_cmd
    local cluster_id
    cluster_id="$("${JAVA[@]}" kafka.tools.StorageTool random-uuid 2>>"$DIR/console.log" | tail -n 1)"
    [[ -n "$cluster_id" ]] || die "StorageTool random-uuid failed (see $DIR/console.log)"
    for n in $(seq 1 "$size"); do
      rm -rf -- "$(node_dir "$n")"
      mkdir -p "$(node_dir "$n")"
      write_node_props "$n" "$size"
      log "formatting node $n's storage (cluster id $cluster_id)"
      "${JAVA[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$(node_dir "$n")/server.properties" \
        >>"$(node_dir "$n")/console.log" 2>&1 || die "StorageTool format failed for node $n (see $(node_dir "$n")/console.log)"
    done
  fi
  for n in $(seq 1 "$size"); do
    if node_pid "$n" >/dev/null; then
      log "node $n already running"
      continue
    fi
    write_node_props "$n" "$size"
    log "starting node $n: broker $HOST:$(node_port "$n" broker), proxied $HOST:$(node_port "$n" proxied) (advertised :$(node_port "$n" advertised)), controller :$(node_port "$n" controller)"
    launch_node "$n"
  done
  for n in $(seq 1 "$size"); do wait_node "$n" "$size"; done
  log "ready: $size nodes"
  print_cluster
}

cluster_stop() {
  exec 9>"$DIR/.lock"
  flock -w $((START_TIMEOUT + STOP_TIMEOUT + 30)) 9 || die "timed out waiting for $DIR/.lock"
  local n pid
  local -a pids=()
  for n in $(seq 1 "$(cluster_size)"); do
    if pid="$(node_pid "$n")"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for pid in "${pids[@]}"; do fxc_stop_pid "node (pid $pid)" "$pid" "$STOP_TIMEOUT"; done
  for n in $(seq 1 "$(cluster_size)"); do rm -f -- "$(node_dir "$n")/pid"; done
  log "stopped (${#pids[@]} node(s) were running)"
}

cluster_status() {
  local n down=""
  for n in $(seq 1 "$(cluster_size)"); do
    node_pid "$n" >/dev/null || down+="${down:+,}$n"
  done
  if [[ -z "$down" ]]; then
    echo "running bootstrap=$(cluster_list broker)"
    return 0
  fi
  if [[ "$down" == "$(seq -s, 1 "$(cluster_size)")" ]]; then
    echo "stopped"
  else
    echo "partial bootstrap=$(cluster_list broker) down=$down"
  fi
  return 1
}

node_arg() {
  cluster_mode || die "$DIR holds no cluster (start one with '$0 start --brokers 3')"
  [[ "${1:-}" =~ ^[0-9]+$ ]] && (($1 >= 1 && $1 <= $(cluster_size))) \
    || die "node number 1 to $(cluster_size) expected (got '${1:-}')"
}

# kill-node N: SIGKILL, as a crash would (no controlled shutdown, no leadership handed over).
cmd_kill_node() {
  node_arg "$1"
  local pid
  if ! pid="$(node_pid "$1")"; then
    log "node $1 is not running"
    return 0
  fi
  kill -KILL "$pid"
  local _
  for _ in $(seq 1 100); do
    fxc_alive "$pid" || break
    sleep 0.1
  done
  ! fxc_alive "$pid" || die "node $1 (pid $pid) survived SIGKILL"
  rm -f -- "$(node_dir "$1")/pid"
  log "node $1 killed (pid $pid)"
}

# stop-node N: SIGTERM, a controlled shutdown (leadership handed over first), as a rolling restart
# does it; SIGKILL after 30 s.
cmd_stop_node() {
  node_arg "$1"
  local pid
  if ! pid="$(node_pid "$1")"; then
    log "node $1 is not running"
    return 0
  fi
  fxc_stop_pid "node $1" "$pid" "$STOP_TIMEOUT"
  rm -f -- "$(node_dir "$1")/pid"
  log "node $1 stopped"
}

# start-node N: starts a stopped node with its old ports and storage, waits until it is back in the
# cluster (its Metadata lists every node), prints the cluster's lines like start.
cmd_start_node() {
  node_arg "$1"
  if node_pid "$1" >/dev/null; then
    log "node $1 already running"
  else
    write_node_props "$1" "$(cluster_size)"
    log "restarting node $1"
    launch_node "$1"
  fi
  wait_node "$1" "$(cluster_size)"
  log "node $1 ready"
  print_cluster
}

[[ $# -ge 1 ]] || usage
if [[ -n "${FXC_KAFKA_BOOTSTRAP:-}" && "$1" != start && "$1" != stop && "$1" != status ]]; then
  die "FXC_KAFKA_BOOTSTRAP is set: an external cluster's nodes are not ours to $1"
fi
case "$1" in
  start)
    if [[ $# -eq 3 && "$2" == --brokers && -z "${FXC_KAFKA_BOOTSTRAP:-}" ]]; then
      if [[ "$3" == 1 ]]; then cmd_start; else cluster_start "$3"; fi
    elif [[ $# -eq 1 || ($# -eq 3 && "$2" == --brokers) ]]; then
      cmd_start
    else
      usage
    fi
    ;;
  stop) [[ $# -eq 1 ]] || usage; if cluster_mode && [[ -z "${FXC_KAFKA_BOOTSTRAP:-}" ]]; then cluster_stop; else cmd_stop; fi ;;
  status) [[ $# -eq 1 ]] || usage; if cluster_mode && [[ -z "${FXC_KAFKA_BOOTSTRAP:-}" ]]; then cluster_status; else cmd_status; fi ;;
  kill-node) [[ $# -eq 2 ]] || usage; cmd_kill_node "$2" ;;
  stop-node) [[ $# -eq 2 ]] || usage; cmd_stop_node "$2" ;;
  start-node) [[ $# -eq 2 ]] || usage; cmd_start_node "$2" ;;
  *) usage ;;
esac
