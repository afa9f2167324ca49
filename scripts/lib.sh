# shellcheck shell=bash
# scripts/lib.sh -- helpers shared by test.sh, demo.sh and bench.sh (sourced after versions.sh).

# fxc_private_kafka3 NAME: unless FXC_KAFKA3_BOOTSTRAP is set, starts a three-node cluster
# (scripts/kafka.sh start --brokers 3) with its state in $FXC_BUILD/kafka3-NAME (kept between runs,
# like the others: the storage is formatted once) and exports FXC_KAFKA3_BOOTSTRAP (every node,
# direct), FXC_KAFKA3_PROXIED (the nodes' PROXIED listeners, where Toxiproxy must listen),
# FXC_KAFKA3_UPSTREAMS (where each proxy forwards) and FXC_KAFKA3_DIR (for kill-node/start-node);
# fxc_stop_private_kafka3 stops it. The fault tests also need Toxiproxy (fxc_private_toxiproxy).
FXC_PRIVATE_KAFKA3_DIR=""
fxc_private_kafka3() {
  [[ -n "${FXC_KAFKA3_BOOTSTRAP:-}" ]] && return 0
  FXC_PRIVATE_KAFKA3_DIR="$FXC_BUILD/kafka3-$1"
  local out line
  out="$(env -u FXC_KAFKA_BOOTSTRAP FXC_KAFKA_DIR="$FXC_PRIVATE_KAFKA3_DIR" "$FXC_ROOT/scripts/kafka.sh" start --brokers 3)"
  while IFS= read -r line; do
    case "$line" in
      bootstrap=*) FXC_KAFKA3_BOOTSTRAP="${line#bootstrap=}" ;;
      proxied_bootstrap=*) FXC_KAFKA3_PROXIED="${line#proxied_bootstrap=}" ;;
      proxy_upstreams=*) FXC_KAFKA3_UPSTREAMS="${line#proxy_upstreams=}" ;;
    esac
  done <<<"$out"
  export FXC_KAFKA3_BOOTSTRAP FXC_KAFKA3_PROXIED FXC_KAFKA3_UPSTREAMS FXC_KAFKA3_DIR="$FXC_PRIVATE_KAFKA3_DIR"
}
fxc_stop_private_kafka3() {
  [[ -z "$FXC_PRIVATE_KAFKA3_DIR" ]] && return 0
  env -u FXC_KAFKA_BOOTSTRAP FXC_KAFKA_DIR="$FXC_PRIVATE_KAFKA3_DIR" "$FXC_ROOT/scripts/kafka.sh" stop >/dev/null 2>&1 || true
  FXC_PRIVATE_KAFKA3_DIR=""
}

# fxc_private_kafka_secure NAME: unless FXC_KAFKA_SECURE_BOOTSTRAP is set, starts a secured broker
# (scripts/kafka.sh start --secure: TLS, SASL, ACLs; see its header) with its state in
# $FXC_BUILD/kafka-secure-NAME and exports FXC_KAFKA_SECURE_BOOTSTRAP (the PLAINTEXT listener, a
# super user: for setup and ACLs), FXC_KAFKA_SECURE_SSL, _SASL_SSL, _SASL_PLAINTEXT (bootstraps),
# _CA, _UNTRUSTED_CA, _CLIENT_CERT, _CLIENT_KEY, _CLIENT_ENCRYPTED_KEY, _CLIENT_KEY_PASSWORD,
# _UNTRUSTED_CLIENT_CERT, _UNTRUSTED_CLIENT_KEY (files, passphrase), _OAUTHBEARER (yes when
# OAUTHBEARER takes unsigned JWTs on both SASL listeners), _MECHANISM, _USER, _PASSWORD,
# _LIMITED_USER, _LIMITED_PASSWORD, _KAFKA_VERSION (the broker's: $KAFKA_SECURE_VERSION, or with
# FXC_KAFKA_SECURE_VERSION=$KAFKA_VERSION that one, where librdkafka < 2.6.1 cannot use SCRAM) and
# _DIR; fxc_stop_private_kafka_secure stops it. With FXC_KAFKA_SECURE_BOOTSTRAP set, both do
# nothing (the other variables must be set by the caller).
FXC_PRIVATE_KAFKA_SECURE_DIR=""
fxc_private_kafka_secure() {
  [[ -n "${FXC_KAFKA_SECURE_BOOTSTRAP:-}" ]] && return 0
  FXC_PRIVATE_KAFKA_SECURE_DIR="$FXC_BUILD/kafka-secure-$1"
  local out line v
  out="$(env -u FXC_KAFKA_BOOTSTRAP FXC_KAFKA_DIR="$FXC_PRIVATE_KAFKA_SECURE_DIR" "$FXC_ROOT/scripts/kafka.sh" start --secure)"
  while IFS= read -r line; do
    v="${line#*=}"
    case "${line%%=*}" in
      plaintext_bootstrap) FXC_KAFKA_SECURE_BOOTSTRAP="$v" ;;
      ssl_bootstrap) FXC_KAFKA_SECURE_SSL="$v" ;;
      sasl_plaintext_bootstrap) FXC_KAFKA_SECURE_SASL_PLAINTEXT="$v" ;;
      sasl_ssl_bootstrap) FXC_KAFKA_SECURE_SASL_SSL="$v" ;;
      ca_file) FXC_KAFKA_SECURE_CA="$v" ;;
      untrusted_ca_file) FXC_KAFKA_SECURE_UNTRUSTED_CA="$v" ;;
      client_cert_file) FXC_KAFKA_SECURE_CLIENT_CERT="$v" ;;
      client_key_file) FXC_KAFKA_SECURE_CLIENT_KEY="$v" ;;
      client_encrypted_key_file) FXC_KAFKA_SECURE_CLIENT_ENCRYPTED_KEY="$v" ;;
      client_key_password) FXC_KAFKA_SECURE_CLIENT_KEY_PASSWORD="$v" ;;
      untrusted_client_cert_file) FXC_KAFKA_SECURE_UNTRUSTED_CLIENT_CERT="$v" ;;
      untrusted_client_key_file) FXC_KAFKA_SECURE_UNTRUSTED_CLIENT_KEY="$v" ;;
      oauthbearer) FXC_KAFKA_SECURE_OAUTHBEARER="$v" ;;
      mechanism) FXC_KAFKA_SECURE_MECHANISM="$v" ;;
      user) FXC_KAFKA_SECURE_USER="$v" ;;
      password) FXC_KAFKA_SECURE_PASSWORD="$v" ;;
      limited_user) FXC_KAFKA_SECURE_LIMITED_USER="$v" ;;
      limited_password) FXC_KAFKA_SECURE_LIMITED_PASSWORD="$v" ;;
      kafka_version) FXC_KAFKA_SECURE_KAFKA_VERSION="$v" ;;
    esac
  done <<<"$out"
  [[ -n "${FXC_KAFKA_SECURE_BOOTSTRAP:-}" && -n "${FXC_KAFKA_SECURE_SASL_SSL:-}" ]] || return 1
  export FXC_KAFKA_SECURE_BOOTSTRAP FXC_KAFKA_SECURE_SSL FXC_KAFKA_SECURE_SASL_PLAINTEXT \
    FXC_KAFKA_SECURE_SASL_SSL FXC_KAFKA_SECURE_CA FXC_KAFKA_SECURE_UNTRUSTED_CA \
    FXC_KAFKA_SECURE_CLIENT_CERT FXC_KAFKA_SECURE_CLIENT_KEY FXC_KAFKA_SECURE_CLIENT_ENCRYPTED_KEY \
    FXC_KAFKA_SECURE_CLIENT_KEY_PASSWORD FXC_KAFKA_SECURE_UNTRUSTED_CLIENT_CERT \
    FXC_KAFKA_SECURE_UNTRUSTED_CLIENT_KEY FXC_KAFKA_SECURE_OAUTHBEARER FXC_KAFKA_SECURE_MECHANISM \
    FXC_KAFKA_SECURE_USER FXC_KAFKA_SECURE_PASSWORD FXC_KAFKA_SECURE_LIMITED_USER \
    FXC_KAFKA_SECURE_LIMITED_PASSWORD FXC_KAFKA_SECURE_KAFKA_VERSION \
    FXC_KAFKA_SECURE_DIR="$FXC_PRIVATE_KAFKA_SECURE_DIR"
}
fxc_stop_private_kafka_secure() {
  [[ -z "$FXC_PRIVATE_KAFKA_SECURE_DIR" ]] && return 0
  env -u FXC_KAFKA_BOOTSTRAP FXC_KAFKA_DIR="$FXC_PRIVATE_KAFKA_SECURE_DIR" "$FXC_ROOT/scripts/kafka.sh" stop >/dev/null 2>&1 || true
  FXC_PRIVATE_KAFKA_SECURE_DIR=""
}

# fxc_private_kafka NAME: unless FXC_KAFKA_BOOTSTRAP is set, starts a broker with its state in
# $FXC_BUILD/kafka-NAME and exports FXC_KAFKA_BOOTSTRAP; fxc_stop_private_kafka stops it again
# (call it from an EXIT trap). With FXC_KAFKA_BOOTSTRAP set, both do nothing.
FXC_PRIVATE_KAFKA_DIR=""
fxc_private_kafka() {
  [[ -n "${FXC_KAFKA_BOOTSTRAP:-}" ]] && return 0
  FXC_PRIVATE_KAFKA_DIR="$FXC_BUILD/kafka-$1"
  local line
  line="$(FXC_KAFKA_DIR="$FXC_PRIVATE_KAFKA_DIR" "$FXC_ROOT/scripts/kafka.sh" start | tail -n 1)"
  export FXC_KAFKA_BOOTSTRAP="${line#bootstrap=}"
}
fxc_stop_private_kafka() {
  [[ -z "$FXC_PRIVATE_KAFKA_DIR" ]] && return 0
  # FXC_KAFKA_BOOTSTRAP names our own broker now; kafka.sh would leave an external one alone.
  env -u FXC_KAFKA_BOOTSTRAP FXC_KAFKA_DIR="$FXC_PRIVATE_KAFKA_DIR" "$FXC_ROOT/scripts/kafka.sh" stop >/dev/null 2>&1 || true
  FXC_PRIVATE_KAFKA_DIR=""
}

# fxc_private_jaeger NAME: unless FXC_JAEGER_OTLP is set, starts Jaeger (scripts/jaeger.sh; the
# first call builds it, several minutes) with its state in $FXC_BUILD/jaeger-NAME and exports
# FXC_JAEGER_OTLP and FXC_JAEGER_QUERY; fxc_stop_private_jaeger stops it again.
FXC_PRIVATE_JAEGER_DIR=""
fxc_private_jaeger() {
  [[ -n "${FXC_JAEGER_OTLP:-}" ]] && return 0
  FXC_PRIVATE_JAEGER_DIR="$FXC_BUILD/jaeger-$1"
  local lines
  lines="$(FXC_JAEGER_DIR="$FXC_PRIVATE_JAEGER_DIR" "$FXC_ROOT/scripts/jaeger.sh" start | tail -n 2)"
  export FXC_JAEGER_OTLP FXC_JAEGER_QUERY
  FXC_JAEGER_OTLP="$(sed -n 's/^otlp_http=//p' <<<"$lines")"
  FXC_JAEGER_QUERY="$(sed -n 's/^query=//p' <<<"$lines")"
}
fxc_stop_private_jaeger() {
  [[ -z "$FXC_PRIVATE_JAEGER_DIR" ]] && return 0
  FXC_JAEGER_DIR="$FXC_PRIVATE_JAEGER_DIR" "$FXC_ROOT/scripts/jaeger.sh" stop >/dev/null 2>&1 || true
  FXC_PRIVATE_JAEGER_DIR=""
}

# fxc_private_toxiproxy NAME: unless FXC_TOXIPROXY_URL is set, starts Toxiproxy
# (scripts/toxiproxy.sh; the first call builds it, about a minute) with its state in
# $FXC_BUILD/toxiproxy-NAME and exports FXC_TOXIPROXY_URL (its API, http://127.0.0.1:PORT) and
# FXC_TOXIPROXY_DIR; fxc_stop_private_toxiproxy stops it again. With FXC_TOXIPROXY_URL set, both do
# nothing.
FXC_PRIVATE_TOXIPROXY_DIR=""
fxc_private_toxiproxy() {
  [[ -n "${FXC_TOXIPROXY_URL:-}" ]] && return 0
  FXC_PRIVATE_TOXIPROXY_DIR="$FXC_BUILD/toxiproxy-$1"
  local line
  line="$(FXC_TOXIPROXY_DIR="$FXC_PRIVATE_TOXIPROXY_DIR" "$FXC_ROOT/scripts/toxiproxy.sh" start | tail -n 1)"
  export FXC_TOXIPROXY_URL="${line#toxiproxy=}" FXC_TOXIPROXY_DIR="$FXC_PRIVATE_TOXIPROXY_DIR"
}
fxc_stop_private_toxiproxy() {
  [[ -z "$FXC_PRIVATE_TOXIPROXY_DIR" ]] && return 0
  FXC_TOXIPROXY_DIR="$FXC_PRIVATE_TOXIPROXY_DIR" "$FXC_ROOT/scripts/toxiproxy.sh" stop >/dev/null 2>&1 || true
  FXC_PRIVATE_TOXIPROXY_DIR=""
}

# fxc_private_legacy NAME [legacy.sh start options]: unless FXC_LEGACY_HTTP is set, starts the
# legacy stand-in (scripts/legacy.sh: WireMock with the demo mappings) with HTTPS (--tls) and its
# state in $FXC_BUILD/legacy-NAME, and exports FXC_LEGACY_HTTP, FXC_LEGACY_HTTPS and FXC_LEGACY_CA
# (plus FXC_LEGACY_CLIENT_CERT and FXC_LEGACY_CLIENT_KEY with --mtls); fxc_stop_private_legacy
# stops it again. With FXC_LEGACY_HTTP set, both do nothing.
FXC_PRIVATE_LEGACY_DIR=""
fxc_private_legacy() {
  [[ -n "${FXC_LEGACY_HTTP:-}" ]] && return 0
  FXC_PRIVATE_LEGACY_DIR="$FXC_BUILD/legacy-$1"
  local lines
  lines="$(FXC_LEGACY_DIR="$FXC_PRIVATE_LEGACY_DIR" "$FXC_ROOT/scripts/legacy.sh" start --tls "${@:2}")"
  export FXC_LEGACY_HTTP FXC_LEGACY_HTTPS FXC_LEGACY_CA
  FXC_LEGACY_HTTP="$(sed -n 's/^legacy_http=//p' <<<"$lines")"
  FXC_LEGACY_HTTPS="$(sed -n 's/^legacy_https=//p' <<<"$lines")"
  FXC_LEGACY_CA="$(sed -n 's/^legacy_ca=//p' <<<"$lines")"
  if grep -q '^legacy_client_cert=' <<<"$lines"; then
    export FXC_LEGACY_CLIENT_CERT FXC_LEGACY_CLIENT_KEY
    FXC_LEGACY_CLIENT_CERT="$(sed -n 's/^legacy_client_cert=//p' <<<"$lines")"
    FXC_LEGACY_CLIENT_KEY="$(sed -n 's/^legacy_client_key=//p' <<<"$lines")"
  fi
}
fxc_stop_private_legacy() {
  [[ -z "$FXC_PRIVATE_LEGACY_DIR" ]] && return 0
  FXC_LEGACY_DIR="$FXC_PRIVATE_LEGACY_DIR" "$FXC_ROOT/scripts/legacy.sh" stop >/dev/null 2>&1 || true
  FXC_PRIVATE_LEGACY_DIR=""
}

# fxc_private_postgres NAME: unless FXC_POSTGRES_DSN is set, starts PostgreSQL (scripts/postgres.sh)
# with its state in $FXC_BUILD/postgres-NAME and exports FXC_POSTGRES_DSN (its `postgres=` line);
# fxc_stop_private_postgres stops it again. With FXC_POSTGRES_DSN set, both do nothing.
FXC_PRIVATE_POSTGRES_DIR=""
fxc_private_postgres() {
  [[ -n "${FXC_POSTGRES_DSN:-}" ]] && return 0
  FXC_PRIVATE_POSTGRES_DIR="$FXC_BUILD/postgres-$1"
  local lines
  lines="$(FXC_POSTGRES_DIR="$FXC_PRIVATE_POSTGRES_DIR" "$FXC_ROOT/scripts/postgres.sh" start)"
  export FXC_POSTGRES_DSN FXC_POSTGRES_DIR="$FXC_PRIVATE_POSTGRES_DIR"
  FXC_POSTGRES_DSN="$(sed -n 's/^postgres=//p' <<<"$lines")"
}
fxc_stop_private_postgres() {
  [[ -z "$FXC_PRIVATE_POSTGRES_DIR" ]] && return 0
  FXC_POSTGRES_DIR="$FXC_PRIVATE_POSTGRES_DIR" "$FXC_ROOT/scripts/postgres.sh" stop >/dev/null 2>&1 || true
  FXC_PRIVATE_POSTGRES_DIR=""
}

# fxc_private_sftp NAME: unless FXC_SFTP_URL is set, starts OpenSSH's sshd as an SFTP server
# (scripts/sftp.sh) with its state in $FXC_BUILD/sftp-NAME and exports FXC_SFTP_URL, FXC_SFTP_USER,
# FXC_SFTP_KEY, FXC_SFTP_KNOWN_HOSTS and FXC_SFTP_DIR (the exchange folder on this machine);
# fxc_stop_private_sftp stops it again. With FXC_SFTP_URL set, both do nothing.
FXC_PRIVATE_SFTP_DIR=""
fxc_private_sftp() {
  [[ -n "${FXC_SFTP_URL:-}" ]] && return 0
  FXC_PRIVATE_SFTP_DIR="$FXC_BUILD/sftp-$1"
  local lines
  lines="$(FXC_SFTP_STATE="$FXC_PRIVATE_SFTP_DIR" "$FXC_ROOT/scripts/sftp.sh" start)"
  export FXC_SFTP_URL FXC_SFTP_USER FXC_SFTP_KEY FXC_SFTP_KNOWN_HOSTS FXC_SFTP_DIR FXC_SFTP_STATE="$FXC_PRIVATE_SFTP_DIR"
  FXC_SFTP_URL="$(sed -n 's/^sftp=//p' <<<"$lines")"
  FXC_SFTP_USER="$(sed -n 's/^sftp_user=//p' <<<"$lines")"
  FXC_SFTP_KEY="$(sed -n 's/^sftp_key=//p' <<<"$lines")"
  FXC_SFTP_KNOWN_HOSTS="$(sed -n 's/^sftp_known_hosts=//p' <<<"$lines")"
  FXC_SFTP_DIR="$(sed -n 's/^sftp_dir=//p' <<<"$lines")"
}
fxc_stop_private_sftp() {
  [[ -z "$FXC_PRIVATE_SFTP_DIR" ]] && return 0
  FXC_SFTP_STATE="$FXC_PRIVATE_SFTP_DIR" "$FXC_ROOT/scripts/sftp.sh" stop >/dev/null 2>&1 || true
  FXC_PRIVATE_SFTP_DIR=""
}

# --- for the service scripts (kafka.sh, jaeger.sh, legacy.sh); they define log() --------------

# The Go toolchain that builds Jaeger and Toxiproxy once: `go` from PATH, else the Go tarball's
# /usr/local/go/bin/go; prints its path, or fails when there is none.
fxc_find_go() {
  if command -v go >/dev/null 2>&1; then
    command -v go
  elif [[ -x /usr/local/go/bin/go ]]; then
    echo /usr/local/go/bin/go
  else
    return 1
  fi
}

# Whether a pid is alive and not a zombie (kill -0 succeeds on zombies).
fxc_alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state="$(sed -E 's/^.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null || true)"
  [[ -n "$state" && "$state" != Z ]]
}

# fxc_running_pid PIDFILE PATTERN: the pid in PIDFILE if that process is alive and its command
# line matches the glob PATTERN (guards against pid reuse); fails otherwise.
fxc_running_pid() {
  local pid cmd
  [[ -f "$1" ]] || return 1
  pid="$(<"$1")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  fxc_alive "$pid" || return 1
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  # shellcheck disable=SC2053  # PATTERN is a glob on purpose
  [[ "$cmd" == $2 ]] || return 1
  echo "$pid"
}

# fxc_free_ports N: N distinct free TCP ports on 127.0.0.1 (all sockets held open together).
fxc_free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# fxc_stop_pid WHAT PID TIMEOUT_S: SIGTERM, wait up to TIMEOUT_S, then SIGKILL.
fxc_stop_pid() {
  log "stopping $1 (pid $2) ..."
  kill -TERM "$2" 2>/dev/null || true
  local deadline=$((SECONDS + $3))
  while fxc_alive "$2" && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if fxc_alive "$2"; then
    log "still alive after ${3}s: SIGKILL"
    kill -KILL "$2" 2>/dev/null || true
    while fxc_alive "$2"; do sleep 0.1; done
  fi
}
