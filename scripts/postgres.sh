#!/usr/bin/env bash
# scripts/postgres.sh start|stop|status -- a local PostgreSQL 15 (Debian's postgresql-15) on
# 127.0.0.1, for development and tests: database `bank` owned by role `fx` (password
# authentication, scram-sha-256), its state in one folder.
#
#   start   create the cluster on first use (initdb), start the server in the background
#           (detached; survives the calling shell), wait until it accepts connections (60 s max),
#           make sure role `fx` (with the state dir's password) and database `bank` exist, then
#           print, the DSN line last:
#             pgport=PORT
#             postgres=host=127.0.0.1 port=PORT dbname=bank user=fx password=PASSWORD
#           If it is already running, just print those lines.
#   stop    pg_ctl stop -m fast (30 s), then SIGKILL of the server's process group. OK if not running.
#   status  print the lines above (exit 0) or `stopped` (exit 1).
# stdout carries only those lines; all messages go to stderr.
#
# The port: the one used last time for this state dir while it is free (so `stop` then `start`
# brings the server back where its clients left it), else a free one. The server listens on
# 127.0.0.1 only; its unix socket lives in the state dir (local connections: peer authentication,
# for this script's own setup as the cluster's superuser).
#
# Run as root, the server runs as the `postgres` system user (initdb and postgres refuse root):
# the state dir then belongs to it, and every folder above it must be traversable by it.
#
# Env vars:
#   FXC_POSTGRES_DIR  state dir (default: $FXC_BUILD/postgres-dev): data/ (the cluster), port,
#                     password (role fx's, generated once, mode 600), server.log, the unix socket
#   FXC_BUILD         see scripts/versions.sh
# Needs postgresql-15 (scripts/setup.sh installs it) and python3 (free ports).
set -euo pipefail

SCRIPTS="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=scripts/versions.sh
source "$SCRIPTS/versions.sh"
# shellcheck source=scripts/lib.sh
source "$SCRIPTS/lib.sh"

log() { printf 'postgres: %s\n' "$*" >&2; }
die() { printf 'postgres: ERROR: %s\n' "$*" >&2; exit 1; }

HOST=127.0.0.1
START_TIMEOUT=60
STOP_TIMEOUT=30
PGBIN=/usr/lib/postgresql/15/bin
DB=bank
ROLE=fx

usage() { echo "usage: $0 start|stop|status" >&2; exit 2; }

DIR="${FXC_POSTGRES_DIR:-$FXC_BUILD/postgres-dev}"
mkdir -p "$DIR"
DIR="$(cd -- "$DIR" && pwd -P)"
DATA="$DIR/data"
PORTFILE="$DIR/port"
PASSFILE="$DIR/password"
SLOG="$DIR/server.log"
[[ "$DIR" != *"'"* && "$DIR" != *'\'* ]] || die "the state dir's path may not contain quotes or backslashes: $DIR"

# Who runs the server: ourselves, or `postgres` when we are root.
if [[ "$(id -u)" == 0 ]]; then
  SERVER_USER=postgres
else
  SERVER_USER="$(id -un)"
fi

# as_server CMD...: runs CMD as the server's user, from / (its cwd may be unreadable to it).
# fd 9 (our lock) is never passed on: a server holding it would block every later start/stop.
as_server() {
  if [[ "$(id -u)" == 0 ]]; then
    (cd / && runuser -u "$SERVER_USER" -- "$@" 9>&-)
  else
    (cd / && "$@" 9>&-)
  fi
}

# Pid of the postmaster for this state dir, if alive (its pid file, guarded against pid reuse
# by its command line naming our data dir).
running_pid() {
  local pid cmd
  [[ -f "$DATA/postmaster.pid" ]] || return 1
  pid="$(head -n 1 "$DATA/postmaster.pid" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  fxc_alive "$pid" || return 1
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  [[ "$cmd" == *postgres*"-D $DATA"* ]] || return 1
  echo "$pid"
}

print_lines() {
  local port password
  port="$(<"$PORTFILE")"
  password="$(<"$PASSFILE")"
  echo "pgport=$port"
  echo "postgres=host=$HOST port=$port dbname=$DB user=$ROLE password=$password"
}

# Whether a port can be bound on 127.0.0.1 (with SO_REUSEADDR, as the server binds it: a port
# left in TIME_WAIT by the previous run still counts as free).
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

tail_log() {
  if [[ -s "$SLOG" ]]; then
    log "---- last lines of $SLOG ----"
    tail -n 30 "$SLOG" >&2
  fi
}

ensure_prereqs() {
  if [[ ! -x "$PGBIN/initdb" || ! -x "$PGBIN/pg_ctl" ]] || ! command -v python3 >/dev/null 2>&1; then
    log "PostgreSQL 15 or python3 missing: running scripts/setup.sh (FXC_SETUP_NO_BUILD=1)"
    FXC_SETUP_NO_BUILD=1 "$SCRIPTS/setup.sh" >&2
  fi
  [[ -x "$PGBIN/initdb" ]] || die "PostgreSQL 15 not found in $PGBIN (apt package 'postgresql-15')"
  command -v python3 >/dev/null 2>&1 || die "python3 not found in PATH"
  if [[ "$(id -u)" == 0 ]]; then
    id -u "$SERVER_USER" >/dev/null 2>&1 || die "running as root needs the '$SERVER_USER' system user (created by the postgresql-15 package)"
    chown "$SERVER_USER:" "$DIR"
    chmod 700 "$DIR"
    runuser -u "$SERVER_USER" -- test -w "$DIR" \
      || die "user '$SERVER_USER' cannot reach $DIR: every folder above it must be traversable (chmod o+x), or set FXC_POSTGRES_DIR elsewhere"
  fi
  # A unix socket's path is at most 107 bytes.
  ((${#DIR} + 20 < 107)) || die "the state dir's path is too long for a unix socket ($DIR); set FXC_POSTGRES_DIR to a shorter one"
}

# The cluster, once per state dir: initdb into a temporary folder, then renamed (complete or absent).
ensure_cluster() {
  [[ -f "$DATA/PG_VERSION" ]] && return 0
  local tmp="$DIR/.data.tmp"
  rm -rf -- "$tmp"
  log "initdb: a new cluster in $DATA (superuser '$SERVER_USER', local: peer, TCP: scram-sha-256)"
  as_server "$PGBIN/initdb" -D "$tmp" -U "$SERVER_USER" --auth-local=peer --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$DIR/initdb.log" 2>&1 || {
    cat -- "$DIR/initdb.log" >&2
    die "initdb failed (log: $DIR/initdb.log)"
  }
  # Settings of this script (rewritten on every start) in their own file, included last.
  echo "include_if_exists = 'fxconnect.conf'" >>"$tmp/postgresql.conf"
  mv -T -- "$tmp" "$DATA"
}

write_settings() {
  local port="$1"
  cat >"$DATA/fxconnect.conf.tmp" <<CONF
# Generated by scripts/postgres.sh -- rewritten on every start; edits are lost.
listen_addresses = '$HOST'
port = $port
unix_socket_directories = '$DIR'
max_connections = 200
password_encryption = 'scram-sha-256'
# A database for development and tests: a commit need not wait for the disk.
synchronous_commit = off
CONF
  if [[ "$(id -u)" == 0 ]]; then chown "$SERVER_USER:" "$DATA/fxconnect.conf.tmp"; fi
  mv -f -- "$DATA/fxconnect.conf.tmp" "$DATA/fxconnect.conf"
}

# psql as the cluster's superuser over the unix socket.
psql_super() {
  as_server "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$(<"$PORTFILE")" -U "$SERVER_USER" -d postgres "$@"
}

# Role fx with the state dir's password, database bank owned by it (both idempotent).
ensure_role_and_db() {
  local password
  password="$(<"$PASSFILE")"
  [[ "$password" =~ ^[0-9a-f]+$ ]] || die "bad password file $PASSFILE (remove it to get a new one)"
  psql_super <<SQL >/dev/null || die "creating role '$ROLE' failed"
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN CREATE ROLE $ROLE LOGIN; END IF;
END \$\$;
ALTER ROLE $ROLE LOGIN PASSWORD '$password';
SQL
  if [[ "$(psql_super -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]]; then
    log "creating database '$DB' owned by '$ROLE'"
    psql_super -c "CREATE DATABASE $DB OWNER $ROLE" >/dev/null || die "creating database '$DB' failed"
  fi
}

# Waits until the server accepts connections over TCP; dies if it exits or takes too long.
wait_ready() {
  local port="$1" deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if "$PGBIN/pg_isready" -q -h "$HOST" -p "$port" -d postgres -t 2; then
      return 0
    fi
    if ! running_pid >/dev/null && ((SECONDS > deadline - START_TIMEOUT + 5)); then
      tail_log
      die "the server exited during startup (state dir $DIR)"
    fi
    sleep 0.2
  done
  tail_log
  die "the server did not accept connections on $HOST:$port within ${START_TIMEOUT}s (stop it with '$0 stop')"
}

# A server killed without its shutdown (SIGKILL, a crash) leaves its lock files behind
# (postmaster.pid, and .s.PGSQL.PORT.lock by the socket). The server ignores a lock file whose pid
# is gone, but not one whose pid is a zombie nobody reaped yet (some containers' init does not
# reap). Once its helper processes (their cwd is the data dir) are gone (10 s at most), such lock
# files are removed.
clear_stale_locks() {
  local lock pid p deadline=$((SECONDS + 10)) waited=0
  for lock in "$DATA/postmaster.pid" "$DIR"/.s.PGSQL.*.lock; do
    [[ -f "$lock" ]] || continue
    pid="$(head -n 1 "$lock" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || continue
    if fxc_alive "$pid" || ! kill -0 "$pid" 2>/dev/null; then
      continue  # gone (the server ignores the file), or alive (the server decides)
    fi
    while ((!waited && SECONDS < deadline)); do
      local busy=0
      for p in /proc/[0-9]*; do
        if [[ "$(readlink "$p/cwd" 2>/dev/null || true)" == "$DATA" ]]; then busy=1; break; fi
      done
      ((busy)) || break
      sleep 0.2
    done
    waited=1
    log "removing $(basename -- "$lock") of a server that was killed (pid $pid, an unreaped zombie)"
    rm -f -- "$lock"
  done
}

cmd_start() {
  # One start/stop at a time per state dir.
  exec 9>"$DIR/.lock"
  flock -w $((START_TIMEOUT + STOP_TIMEOUT + 30)) 9 || die "timed out waiting for $DIR/.lock"

  local pid
  if pid="$(running_pid)"; then
    log "already running (pid $pid, state dir $DIR)"
    wait_ready "$(<"$PORTFILE")"
    print_lines
    return
  fi

  ensure_prereqs
  ensure_cluster
  clear_stale_locks
  if [[ ! -s "$PASSFILE" ]]; then
    (umask 077 && python3 -c 'import secrets; print(secrets.token_hex(16))' >"$PASSFILE.tmp")
    mv -f -- "$PASSFILE.tmp" "$PASSFILE"
  fi

  local port
  if [[ -s "$PORTFILE" ]] && port_free "$(<"$PORTFILE")"; then
    port="$(<"$PORTFILE")"
  else
    [[ -s "$PORTFILE" ]] && log "port $(<"$PORTFILE") (used last time) is taken: picking another"
    read -r port < <(fxc_free_ports 1)
  fi
  [[ "$port" =~ ^[0-9]+$ ]] || die "bad port '$port'"
  echo "$port" >"$PORTFILE"
  write_settings "$port"
  if [[ "$(id -u)" == 0 ]]; then
    touch "$SLOG"
    chown "$SERVER_USER:" "$SLOG"
  fi

  log "starting PostgreSQL 15 on $HOST:$port (state dir $DIR), log: $SLOG"
  # pg_ctl starts the postmaster in its own session, stdin from /dev/null, output to the log.
  as_server "$PGBIN/pg_ctl" start -D "$DATA" -l "$SLOG" -w -t "$START_TIMEOUT" >/dev/null 2>&1 || {
    tail_log
    die "pg_ctl start failed (state dir $DIR)"
  }
  wait_ready "$port"
  ensure_role_and_db
  pid="$(running_pid)" || die "the server is not running after its start"
  log "ready (pid $pid)"
  print_lines
}

cmd_stop() {
  exec 9>"$DIR/.lock"
  flock -w $((START_TIMEOUT + STOP_TIMEOUT + 30)) 9 || die "timed out waiting for $DIR/.lock"
  local pid
  if ! pid="$(running_pid)"; then
    log "not running (state dir $DIR)"
    return
  fi
  log "stopping (pid $pid, fast shutdown) ..."
  as_server "$PGBIN/pg_ctl" stop -D "$DATA" -m fast -w -t "$STOP_TIMEOUT" >/dev/null 2>&1 || true
  if fxc_alive "$pid"; then
    log "still alive after ${STOP_TIMEOUT}s: SIGKILL (the server and its backends)"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    while fxc_alive "$pid"; do sleep 0.1; done
  fi
  log "stopped"
}

cmd_status() {
  if running_pid >/dev/null && [[ -s "$PORTFILE" && -s "$PASSFILE" ]]; then
    print_lines
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
