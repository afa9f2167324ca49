#!/usr/bin/env bash
# scripts/kafka.sh start [--brokers N | --secure]|stop|status|kill-node N|start-node N -- a local
# Kafka (KRaft) on 127.0.0.1, for development and tests: one combined broker+controller, or with
# `--brokers 3` a three-node cluster (every node a broker and a quorum voter; replication
# factor 3, min.insync.replicas=2, unclean leader election off) for the fault tests, or with
# `--secure` one node with TLS, SASL and ACLs for the security tests (see "a secured single
# node" below). The single broker and the cluster run Kafka $KAFKA_VERSION; --secure runs Kafka
# $KAFKA_SECURE_VERSION (scripts/versions.sh) unless FXC_KAFKA_SECURE_VERSION says otherwise.
#
#   start   start it in the background (detached; survives the calling shell), wait
#           until it answers Metadata requests (90 s max), print `bootstrap=HOST:PORT`
#           as the last stdout line. If it is already running, just print that line.
#           With --brokers N (2..9): wait until every node lists all N, then print
#             proxied_bootstrap=127.0.0.1:P1,...   the nodes' PROXIED listeners as advertised:
#                                                  put a Toxiproxy proxy on each P_i (see below)
#             proxy_upstreams=127.0.0.1:X1,...     where proxy i must forward to (the real port)
#             bootstrap=127.0.0.1:B1,...           all nodes, direct (last line)
#           With --secure (a single node; not with --brokers N > 1), print in this order
#             plaintext_bootstrap=127.0.0.1:P      PLAINTEXT: no authentication, User:ANONYMOUS, a
#                                                  super user (setup, ACLs, inter-broker)
#             ssl_bootstrap=127.0.0.1:S            SSL: TLS; a client certificate is optional and,
#                                                  if given, must be signed by the test CA
#                                                  (principal User:<its CN>; none: User:ANONYMOUS)
#             sasl_plaintext_bootstrap=127.0.0.1:R SASL_PLAINTEXT: SCRAM-SHA-512, SCRAM-SHA-256,
#                                                  PLAIN, OAUTHBEARER
#             sasl_ssl_bootstrap=127.0.0.1:Q       SASL_SSL: the same mechanisms over TLS
#             ca_file=DIR/tls/ca.pem               the test CA (signs the broker's certificate:
#                                                  SAN DNS:localhost, IP:127.0.0.1)
#             untrusted_ca_file=DIR/tls/untrusted-ca.pem   a CA the broker does not know
#             client_cert_file=DIR/tls/client.pem  client certificate (CN=fxconnect-client) and
#             client_key_file=DIR/tls/client.key   key (PEM, unencrypted), signed by the test CA
#             client_encrypted_key_file=DIR/tls/client-encrypted.key   the same key, PKCS#8
#             client_key_password=...              encrypted (AES-256) with this passphrase
#             untrusted_client_cert_file=DIR/tls/untrusted-client.pem  a client certificate
#             untrusted_client_key_file=DIR/tls/untrusted-client.key   (CN=fxconnect-client) and
#                                                  key signed by the untrusted CA (refused on SSL)
#             oauthbearer=yes                      OAUTHBEARER on both SASL listeners takes an
#                                                  unsigned JWT (alg none; sub = principal, exp;
#                                                  any sub is believed: test use only)
#             mechanism=SCRAM-SHA-512
#             user=fxconnect                       SASL user (SCRAM-SHA-512, SCRAM-SHA-256 and
#             password=...                         PLAIN), random password made once per state dir
#             limited_user=limited                 a second SASL user, for ACL tests
#             limited_password=...
#             kafka_version=3.9.1                  the broker's Kafka version
#             bootstrap=127.0.0.1:Q                SASL_SSL, what goes with the credentials (last)
#           and write them to DIR/secure.env (mode 600). Certificates are made with openssl on
#           the first start and again when one is missing or expires within a day. ACLs:
#           StandardAuthorizer, super.users=User:ANONYMOUS, allow.everyone.if.no.acl.found=true:
#           a topic without ACLs is open to every authenticated user; once a topic has an ACL,
#           only what its ACLs allow is allowed (put an ALLOW for User:* next to a DENY for
#           User:limited to keep the topic open to the others). Create ACLs on the PLAINTEXT
#           listener.
#           Kafka version: $KAFKA_SECURE_VERSION (3.9.x) by default, because SCRAM against Kafka
#           4.x needs librdkafka >= 2.6.1: older ones (Debian 12 has 2.0.2) repeat the client nonce
#           in the client-final message, which Kafka 4.x refuses ("invalid credentials") and 3.9
#           accepts. FXC_KAFKA_SECURE_VERSION=$KAFKA_VERSION runs the main version instead (to show
#           that limit; PLAIN and OAUTHBEARER work there with any librdkafka). The jars of either
#           come from setup.sh. The storage of a state dir is formatted by one version: the version
#           is kept in DIR/kafka.version, and a start with another one is refused (stop the broker
#           and delete DIR, or use another FXC_KAFKA_DIR).
#           A state dir holds one kind: a single broker, a secure one or a cluster of one size.
#   stop    SIGTERM (every node at once), wait up to 30 s, then SIGKILL. OK if not running.
#   status  print `running bootstrap=...` (exit 0; for --secure the SASL_SSL listener), or
#           `stopped` / for a cluster with some nodes down `partial bootstrap=... down=N,...`
#           (exit 1).
#   kill-node N   (cluster) SIGKILL node N, as a crash would.
#   stop-node N   (cluster) SIGTERM node N: a controlled shutdown, as in a rolling restart.
#   start-node N  (cluster) start node N again (same ports and storage), wait until it lists
#           every node again, print the three lines of start.
# stdout carries only those lines; all messages go to stderr.
#
# Env vars:
#   FXC_KAFKA_BOOTSTRAP  use an external broker: start/status print
#                        `bootstrap=$FXC_KAFKA_BOOTSTRAP` and start nothing; stop does nothing.
#                        `start --secure` refuses to run with it set.
#   FXC_KAFKA_DIR        state dir (default: $FXC_BUILD/kafka): server.properties, data/,
#                        broker.log, console.log, pid, port, controller.port; for a cluster
#                        cluster, ports and node1..N/ (see "a three-node cluster" below); for
#                        --secure also secure, secure.ports, users, tls/, secure.env,
#                        kafka.version (see "a secured single node" below)
#   FXC_KAFKA_PORT       broker port (with --secure: the PLAINTEXT listener's; default: the
#                        port used last time for this state dir if still free, else a free
#                        port; the other listeners of --secure are chosen the same way)
#   FXC_KAFKA_SECURE_VERSION  the Kafka version of --secure: $KAFKA_SECURE_VERSION (default) or
#                        $KAFKA_VERSION; no other (setup.sh fetches only these two)
#   FXC_KAFKA_JVM_OPTS   the broker JVM's heap and GC options, split on spaces (default:
#                        `-Xms256m -Xmx1g`, the JVM's own G1 settings); scripts/bench.sh passes
#                        those of Kafka's own start scripts (see docs/performance.md)
#   FXC_BUILD, FXC_CACHE see scripts/versions.sh
# The broker jars ($KAFKA_LIBS, $KAFKA_SECURE_LIBS) come from scripts/setup.sh (run automatically
# with FXC_SETUP_NO_BUILD=1 if the ones needed are missing). Java is taken from PATH.
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

usage() { echo "usage: $0 start [--brokers N | --secure] | stop | status | kill-node N | stop-node N | start-node N" >&2; exit 2; }

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

# probe PORT [MIN_BROKERS [CAFILE]]: succeeds when the broker answers ApiVersions v0 and a
# Metadata v4 request listing at least MIN_BROKERS (default 1) registered, unfenced brokers; with
# MIN_BROKERS 0, ApiVersions only (what a SASL listener answers before authentication). With
# CAFILE, over TLS, the broker's certificate verified with that CA for the name 127.0.0.1.
probe() {
  python3 - "$HOST" "$1" "${2:-1}" "${3:-}" <<'PY'
import socket, ssl, struct, sys

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
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3) as raw:
        raw.settimeout(5)
        s = raw
        if sys.argv[4]:
            s = ssl.create_default_context(cafile=sys.argv[4]).wrap_socket(raw, server_hostname=sys.argv[1])
        r = call(s, 18, 0, 1, b"")                         # ApiVersions v0
        if struct.unpack(">h", r[:2])[0] != 0:
            sys.exit(1)
        if int(sys.argv[3]) == 0:
            sys.exit(0)
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

# The broker jars java_cmd uses: Kafka $KAFKA_VERSION, or for --secure the version chosen by
# secure_version.
LIBS="$KAFKA_LIBS"

ensure_prereqs() {
  if [[ ! -f "$LIBS/.complete" ]] || ! command -v java >/dev/null 2>&1 \
     || ! command -v python3 >/dev/null 2>&1; then
    log "Kafka jars or java/python3 missing: running scripts/setup.sh (FXC_SETUP_NO_BUILD=1)"
    FXC_SETUP_NO_BUILD=1 "$SCRIPTS/setup.sh" >&2
  fi
  [[ -f "$LIBS/.complete" ]] || die "Kafka jars still missing in $LIBS"
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
PROPS
  common_props >>"$PROPS.tmp"
  mv -f -- "$PROPS.tmp" "$PROPS"
}

# The settings a single broker has whether plain or secure.
common_props() {
  cat <<PROPS
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
}

# shellcheck disable=SC2206  # split on spaces, as documented
JVM_OPTS=(${FXC_KAFKA_JVM_OPTS:--Xms256m -Xmx1g})

java_cmd() {
  JAVA=(java "${JVM_OPTS[@]}"
        "-Dlog4j2.configurationFile=$LOG4J_CONF"
        "-Dfxc.kafka.log=$BROKERLOG"
        -cp "$LIBS/*")
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
  ! secure_mode || die "$DIR holds a secure broker: start it with '$0 start --secure' (or use another FXC_KAFKA_DIR)"
  ! cluster_mode || die "$DIR holds a $(cluster_size)-node cluster; use another FXC_KAFKA_DIR (or remove $DIR) for a single broker"

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
  format_single "$cport"
  log "starting broker on $HOST:$port (controller $HOST:$cport), log: $BROKERLOG"
  pid="$(launch_single)"
  wait_ready "$pid" "$port"
  log "ready (pid $pid)"
  echo "bootstrap=$HOST:$port"
}

# format_single CONTROLLER_PORT [StorageTool format options]: formats $DATA for the single node
# unless it is formatted already (JAVA set by java_cmd).
format_single() {
  [[ -f "$DATA/meta.properties" ]] && return 0
  local cluster_id
  cluster_id="$("${JAVA[@]}" kafka.tools.StorageTool random-uuid 2>>"$CONSOLELOG" | tail -n 1)"
  [[ -n "$cluster_id" ]] || { tail_log; die "StorageTool random-uuid failed"; }
  log "formatting storage in $DATA (cluster id $cluster_id, controller port $1)"
  "${JAVA[@]}" kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$PROPS" "${@:2}" \
    >>"$CONSOLELOG" 2>&1 || { tail_log; die "StorageTool format failed"; }
}

# Starts the single node (server.properties written, storage formatted) detached; prints its pid.
launch_single() {
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
  cat -- "$PIDFILE"
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
  if running_pid >/dev/null && secure_mode && [[ -s "$SPORTSFILE" ]]; then
    echo "running bootstrap=$HOST:$(secure_port sasl_ssl)"
    return 0
  fi
  if running_pid >/dev/null && [[ -s "$PORTFILE" ]]; then
    echo "running bootstrap=$(bootstrap)"
    return 0
  fi
  echo "stopped"
  return 1
}

# --- a secured single node (start --secure) -----------------------------------------------------
# Layout of a secure state dir: the single broker's files (server.properties, data/, pid, port (the
# PLAINTEXT listener's), controller.port, broker.log, console.log) and
#   secure         marks the kind
#   secure.ports   `NAME=PORT` for plaintext, ssl, sasl_plaintext, sasl_ssl and controller
#   users          `NAME=PASSWORD` of the SASL users (mode 600; made once: the SCRAM credentials are
#                  written into the storage when it is formatted)
#   tls/           the test CAs, certificates and keys (see ensure_secure_tls)
#   secure.env     the lines start prints (mode 600)
#   kafka.version  the Kafka version that formatted the storage (and runs on it); a state dir
#                  without it, formatted by an older kafka.sh, holds Kafka $KAFKA_VERSION's

SECUREFILE="$DIR/secure"
VERSIONFILE="$DIR/kafka.version"
SPORTSFILE="$DIR/secure.ports"
USERSFILE="$DIR/users"
TLS="$DIR/tls"
ENVFILE="$DIR/secure.env"
SASL_USERS=(fxconnect limited)
SCRAM_MECHANISMS=(SCRAM-SHA-512 SCRAM-SHA-256)

secure_mode() { [[ -f "$SECUREFILE" ]]; }
secure_port() { sed -n "s/^$1=//p" "$SPORTSFILE"; }
user_password() { sed -n "s/^$1=//p" "$USERSFILE"; }

# Sets SECURE_VERSION (FXC_KAFKA_SECURE_VERSION, default $KAFKA_SECURE_VERSION) and LIBS (its jars).
# Only the two versions setup.sh fetches are known.
secure_version() {
  SECURE_VERSION="${FXC_KAFKA_SECURE_VERSION:-$KAFKA_SECURE_VERSION}"
  case "$SECURE_VERSION" in
    "$KAFKA_SECURE_VERSION") LIBS="$KAFKA_SECURE_LIBS" ;;
    "$KAFKA_VERSION") LIBS="$KAFKA_LIBS" ;;
    *) die "FXC_KAFKA_SECURE_VERSION=$SECURE_VERSION: --secure runs Kafka $KAFKA_SECURE_VERSION (default) or $KAFKA_VERSION" ;;
  esac
}

# The Kafka version the storage was formatted with (empty: not formatted).
formatted_version() {
  [[ -f "$DATA/meta.properties" ]] || return 0
  if [[ -s "$VERSIONFILE" ]]; then cat -- "$VERSIONFILE"; else echo "$KAFKA_VERSION"; fi
}

# Refuses a state dir formatted (or a broker started) by another Kafka version than SECURE_VERSION.
check_secure_version() {
  local had why="the default"
  had="$(formatted_version)"
  [[ -z "${FXC_KAFKA_SECURE_VERSION:-}" ]] || why="FXC_KAFKA_SECURE_VERSION=$FXC_KAFKA_SECURE_VERSION"
  [[ -z "$had" || "$had" == "$SECURE_VERSION" ]] \
    || die "$DIR holds storage formatted by Kafka $had, not Kafka $SECURE_VERSION ($why): stop it (FXC_KAFKA_DIR=$DIR $0 stop) and delete $DIR, or use another FXC_KAFKA_DIR (or FXC_KAFKA_SECURE_VERSION=$had)"
  [[ -z "$had" || -s "$VERSIONFILE" ]] || echo "$had" >"$VERSIONFILE"
}

# Chooses the listeners' ports and writes them to secure.ports (and port, controller.port): the
# controller's is kept once the storage is formatted (the quorum names it), each other one is the
# one used last time if it is still free, else a new free port (FXC_KAFKA_PORT: the PLAINTEXT one).
secure_choose_ports() {
  local formatted=0 name p used=" " out=""
  local -a fresh
  [[ -f "$DATA/meta.properties" ]] && formatted=1
  if ((formatted)); then
    [[ -s "$SPORTSFILE" && -n "$(secure_port controller)" ]] \
      || die "$DATA is formatted but $SPORTSFILE is missing; remove $DIR to start afresh"
  else
    rm -rf -- "$DATA"
  fi
  read -r -a fresh < <(fxc_free_ports 10)
  for name in controller plaintext ssl sasl_plaintext sasl_ssl; do
    p=""
    [[ -s "$SPORTSFILE" ]] && p="$(secure_port "$name")"
    [[ "$name" == plaintext && -n "${FXC_KAFKA_PORT:-}" ]] && p="$FXC_KAFKA_PORT"
    if [[ "$name" == controller ]] && ((formatted)); then
      port_free "$p" || die "controller port $p (recorded in $SPORTSFILE) is in use; free it or remove $DIR"
    elif [[ -z "$p" || "$used" == *" $p "* ]] || ! port_free "$p"; then
      [[ "$name" != plaintext || -z "${FXC_KAFKA_PORT:-}" ]] || die "FXC_KAFKA_PORT=$p is in use"
      for p in "${fresh[@]}"; do [[ "$used" == *" $p "* ]] || break; done
    fi
    [[ "$p" =~ ^[0-9]+$ ]] || die "bad $name port '$p'"
    used+="$p "
    out+="$name=$p"$'\n'
  done
  printf '%s' "$out" >"$SPORTSFILE.tmp"
  mv -f -- "$SPORTSFILE.tmp" "$SPORTSFILE"
  secure_port plaintext >"$PORTFILE"
  secure_port controller >"$CPORTFILE"
}

# The SASL users' passwords: made once per state dir (random, 32 hex digits).
ensure_users() {
  [[ -s "$USERSFILE" ]] && return 0
  [[ ! -f "$DATA/meta.properties" ]] \
    || die "$DATA holds SCRAM credentials but $USERSFILE is missing; remove $DIR to start afresh"
  local u
  (
    umask 077
    for u in "${SASL_USERS[@]}"; do echo "$u=$(openssl rand -hex 16)"; done >"$USERSFILE.tmp"
  )
  mv -f -- "$USERSFILE.tmp" "$USERSFILE"
}

# Whether tls/ is complete, its certificates valid for at least a day more and signed as they should be.
tls_valid() {
  [[ -f "$TLS/.complete" ]] || return 1
  local f
  for f in ca broker client untrusted-ca untrusted-client; do
    openssl x509 -noout -checkend 86400 -in "$TLS/$f.pem" >/dev/null 2>&1 || return 1
  done
  openssl verify -CAfile "$TLS/ca.pem" "$TLS/broker.pem" "$TLS/client.pem" >/dev/null 2>&1 \
    && openssl verify -CAfile "$TLS/untrusted-ca.pem" "$TLS/untrusted-client.pem" >/dev/null 2>&1
}

# Creates (unless tls/ is there and valid) in tls/:
#   ca.pem, ca.key                     the test CA the broker trusts
#   broker.pem, broker.key             the broker's certificate (CN=localhost, SAN DNS:localhost,
#                                      IP:127.0.0.1) signed by it, and broker-keystore.pem (key,
#                                      certificate and CA: ssl.keystore.type=PEM)
#   client.pem, client.key             a client certificate (CN=fxconnect-client) signed by the CA
#   client-encrypted.key               the same key, PKCS#8 encrypted (AES-256) with the passphrase
#                                      in client-key.password
#   untrusted-ca.pem, untrusted-ca.key a second CA the broker does not know, and
#   untrusted-client.pem, .key         a client certificate (CN=fxconnect-client) signed by it
# Written to a temporary dir, then renamed: complete or absent.
ensure_secure_tls() {
  tls_valid && return 0
  local tmp
  tmp="$(mktemp -d "$DIR/.tls.tmp.XXXXXX")"
  log "creating test CAs and certificates for 127.0.0.1/localhost in $TLS"
  (
    set -e
    cd -- "$tmp"
    ca() { # ca NAME CN
      openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -subj "/O=fxconnect/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$1.key" -out "$1.pem"
    }
    leaf() { # leaf NAME CA CN SERIAL EXTENSION...
      openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=$3" -keyout "$1.key" -out "$1.csr"
      printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
        "${@:5}" >"$1.ext"
      openssl x509 -req -sha256 -days 825 -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -set_serial "$4" \
        -extfile "$1.ext" -out "$1.pem"
      rm -f -- "$1.csr" "$1.ext"
    }
    ca ca "fxconnect Kafka test CA"
    leaf broker ca localhost 2 "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1"
    leaf client ca fxconnect-client 3 "extendedKeyUsage=clientAuth"
    ca untrusted-ca "fxconnect untrusted test CA"
    leaf untrusted-client untrusted-ca fxconnect-client 4 "extendedKeyUsage=clientAuth"
    cat broker.key broker.pem ca.pem >broker-keystore.pem
    openssl rand -hex 12 >client-key.password
    openssl pkcs8 -topk8 -v2 aes-256-cbc -in client.key -out client-encrypted.key \
      -passout "file:client-key.password"
    chmod 600 -- *.key broker-keystore.pem client-key.password
    touch .complete
  ) >"$tmp/openssl.log" 2>&1 || {
    cat -- "$tmp/openssl.log" >&2
    rm -rf -- "$tmp"
    die "creating the test certificates failed"
  }
  rm -f -- "$tmp/openssl.log"
  rm -rf -- "$TLS"
  mv -T -- "$tmp" "$TLS"
}

write_secure_props() {
  local p s r q c mechs jaas="" plain="org.apache.kafka.common.security.plain.PlainLoginModule required" u l m
  p="$(secure_port plaintext)" s="$(secure_port ssl)" r="$(secure_port sasl_plaintext)"
  q="$(secure_port sasl_ssl)" c="$(secure_port controller)"
  for u in "${SASL_USERS[@]}"; do plain+=" user_$u=\"$(user_password "$u")\""; done
  mechs="$(IFS=,; echo "${SCRAM_MECHANISMS[*]}"),PLAIN,OAUTHBEARER"
  for l in sasl_ssl sasl_plaintext; do
    jaas+="listener.name.$l.sasl.enabled.mechanisms=$mechs"$'\n'
    for m in "${SCRAM_MECHANISMS[@]}"; do
      jaas+="listener.name.$l.${m,,}.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;"$'\n'
    done
    jaas+="listener.name.$l.plain.sasl.jaas.config=$plain;"$'\n'
    jaas+="listener.name.$l.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub=\"ANONYMOUS\";"$'\n'
    jaas+="listener.name.$l.oauthbearer.sasl.server.callback.handler.class=org.apache.kafka.common.security.oauthbearer.internals.unsecured.OAuthBearerUnsecuredValidatorCallbackHandler"$'\n'
  done
  (
    umask 077
    cat >"$PROPS.tmp" <<PROPS
# Generated by scripts/kafka.sh (--secure) -- rewritten on every start; edits are lost.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$c
listeners=PLAINTEXT://$HOST:$p,SSL://$HOST:$s,SASL_PLAINTEXT://$HOST:$r,SASL_SSL://$HOST:$q,CONTROLLER://$HOST:$c
advertised.listeners=PLAINTEXT://$HOST:$p,SSL://$HOST:$s,SASL_PLAINTEXT://$HOST:$r,SASL_SSL://$HOST:$q
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
# TLS (SSL and SASL_SSL): PEM files made by kafka.sh. On SSL a client certificate is optional; one
# that is given must be signed by the test CA, and its CN becomes the principal (User:CN).
ssl.keystore.type=PEM
ssl.keystore.location=$TLS/broker-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$TLS/ca.pem
listener.name.ssl.ssl.client.auth=requested
ssl.principal.mapping.rules=RULE:^CN=([^,]+).*\$/\$1/,DEFAULT
# SASL (SASL_SSL and SASL_PLAINTEXT): SCRAM credentials are in the metadata log (written when the
# storage was formatted); PLAIN users are listed here; OAUTHBEARER takes unsigned JWTs (unsecured
# validator: alg none, sub = principal, exp).
$jaas# Authorization: PLAINTEXT (setup, inter-broker, controller) and TLS clients without a certificate
# are User:ANONYMOUS, a super user; a topic without ACLs is open to every authenticated user.
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS
allow.everyone.if.no.acl.found=true
PROPS
  )
  common_props >>"$PROPS.tmp"
  mv -f -- "$PROPS.tmp" "$PROPS"
}

# The lines start prints (and secure.env holds).
secure_lines() {
  cat <<LINES
plaintext_bootstrap=$HOST:$(secure_port plaintext)
ssl_bootstrap=$HOST:$(secure_port ssl)
sasl_plaintext_bootstrap=$HOST:$(secure_port sasl_plaintext)
sasl_ssl_bootstrap=$HOST:$(secure_port sasl_ssl)
ca_file=$TLS/ca.pem
untrusted_ca_file=$TLS/untrusted-ca.pem
client_cert_file=$TLS/client.pem
client_key_file=$TLS/client.key
client_encrypted_key_file=$TLS/client-encrypted.key
client_key_password=$(<"$TLS/client-key.password")
untrusted_client_cert_file=$TLS/untrusted-client.pem
untrusted_client_key_file=$TLS/untrusted-client.key
oauthbearer=yes
mechanism=${SCRAM_MECHANISMS[0]}
user=${SASL_USERS[0]}
password=$(user_password "${SASL_USERS[0]}")
limited_user=${SASL_USERS[1]}
limited_password=$(user_password "${SASL_USERS[1]}")
kafka_version=$(<"$VERSIONFILE")
bootstrap=$HOST:$(secure_port sasl_ssl)
LINES
}

# Waits until the PLAINTEXT listener answers Metadata (wait_ready), then until SSL answers Metadata
# and SASL_SSL and SASL_PLAINTEXT answer ApiVersions (TLS verified with the test CA).
wait_secure() {
  local pid="$1" deadline=$((SECONDS + 30))
  wait_ready "$pid" "$(secure_port plaintext)"
  until probe "$(secure_port ssl)" 1 "$TLS/ca.pem" && probe "$(secure_port sasl_ssl)" 0 "$TLS/ca.pem" \
    && probe "$(secure_port sasl_plaintext)" 0; do
    if ! fxc_alive "$pid" || ((SECONDS >= deadline)); then
      tail_log
      die "the PLAINTEXT listener answers but SSL, SASL_SSL or SASL_PLAINTEXT does not (ports in $SPORTSFILE)"
    fi
    sleep 0.5
  done
}

secure_start() {
  [[ -z "${FXC_KAFKA_BOOTSTRAP:-}" ]] \
    || die "FXC_KAFKA_BOOTSTRAP is set: --secure starts a broker of its own; unset it (env -u FXC_KAFKA_BOOTSTRAP)"
  exec 9>"$DIR/.lock"
  flock -w $((START_TIMEOUT + STOP_TIMEOUT + 30)) 9 || die "timed out waiting for $DIR/.lock"
  ! cluster_mode || die "$DIR holds a $(cluster_size)-node cluster; use another FXC_KAFKA_DIR (or remove $DIR) for --secure"
  if [[ -f "$PORTFILE" ]] && ! secure_mode; then
    die "$DIR holds a plain single broker; stop it and use another FXC_KAFKA_DIR (or remove $DIR) for --secure"
  fi
  secure_version
  check_secure_version

  local pid
  if pid="$(running_pid)"; then
    log "already running (pid $pid, state dir $DIR)"
    wait_secure "$pid"
    secure_lines
    return
  fi
  rm -f -- "$PIDFILE"

  ensure_prereqs
  command -v openssl >/dev/null 2>&1 || die "openssl not found (apt package 'openssl')"
  touch "$SECUREFILE"
  secure_choose_ports
  ensure_users
  ensure_secure_tls
  write_secure_props

  java_cmd
  local -a scram=()
  local u m
  for u in "${SASL_USERS[@]}"; do
    for m in "${SCRAM_MECHANISMS[@]}"; do scram+=(--add-scram "$m=[name=$u,password=$(user_password "$u")]"); done
  done
  if [[ ! -f "$DATA/meta.properties" ]]; then
    format_single "$(secure_port controller)" "${scram[@]}"
    echo "$SECURE_VERSION" >"$VERSIONFILE"
  fi
  log "starting secure broker (Kafka $SECURE_VERSION): PLAINTEXT $HOST:$(secure_port plaintext), SSL :$(secure_port ssl), SASL_PLAINTEXT :$(secure_port sasl_plaintext), SASL_SSL :$(secure_port sasl_ssl) (controller :$(secure_port controller)), log: $BROKERLOG"
  pid="$(launch_single)"
  wait_secure "$pid"
  (
    umask 077
    secure_lines >"$ENVFILE.tmp"
  )
  mv -f -- "$ENVFILE.tmp" "$ENVFILE"
  log "ready (pid $pid); the lines below are also in $ENVFILE"
  cat -- "$ENVFILE"
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
  JAVA=(java "${JVM_OPTS[@]}"
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
    die "$DIR holds a $(secure_mode && echo "secure" || echo "single") broker; stop it and use another FXC_KAFKA_DIR (or remove $DIR) for a cluster"
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
    if [[ " ${*:2} " == *" --secure "* ]]; then
      rest=()
      for a in "${@:2}"; do [[ "$a" == --secure ]] || rest+=("$a"); done
      if [[ ${#rest[@]} -eq 2 && "${rest[0]}" == --brokers ]]; then
        [[ "${rest[1]}" == 1 ]] || die "--secure is a single node: it does not go with --brokers ${rest[1]}"
      elif [[ ${#rest[@]} -ne 0 ]]; then
        usage
      fi
      secure_start
    elif [[ $# -eq 3 && "$2" == --brokers && -z "${FXC_KAFKA_BOOTSTRAP:-}" ]]; then
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
