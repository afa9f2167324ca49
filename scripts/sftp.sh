#!/usr/bin/env bash
# scripts/sftp.sh start|stop|status -- an SFTP server for development and tests: OpenSSH's sshd
# from Debian (apt package openssh-server) on 127.0.0.1, with its own host key, one SFTP-only user
# chrooted to the state dir, and a key pair for that user. The file-exchange systems (`sftp:`) and
# the batch-system stand-in (examples/file-exchange/batch-system.py) meet in its `exchange` folder.
#
#   start   start sshd in the background (it detaches itself), wait until it completes an SSH
#           key exchange (ssh-keyscan; 30 s max), then print, the sftp= line last:
#             sftp_user=fxsftp                         the SSH user (public key authentication only)
#             sftp_key=/abs/path/client_key            its private key (ed25519: see below)
#             sftp_known_hosts=/abs/path/known_hosts   the host key, as [127.0.0.1]:PORT
#             sftp_dir=/abs/path/chroot/exchange       the exchange folder on this machine
#             sftp=sftp://127.0.0.1:PORT/exchange      the same folder as the SFTP client sees it
#           If it is already running, just print those lines. The port is the one used last time
#           for this state dir when it is still free (so stop + start keeps URL and known_hosts
#           valid: tests restart the server under a client that holds on to them), else a new one.
#   stop    stop the sessions (the per-connection sshd processes: their clients see the
#           connection drop) and the listener. OK if not running.
#   status  print the lines above (exit 0) or `stopped` (exit 1).
# stdout carries only those lines; all messages go to stderr.
#
# Needs root: sshd can only switch to another user and chroot it when it runs as root. The user
# (`fxsftp`, or $FXC_SFTP_USER_NAME) is created once as a system user (useradd --system, no home,
# nologin shell, password field `*`: no password, yet not "locked", which sshd with UsePAM no would
# refuse even for a key). Run as anyone else, the script refuses (a server without chroot serving
# the caller's whole filesystem is not what tests should get by accident).
#
# Layout of the state dir ($FXC_SFTP_STATE, default $FXC_BUILD/sftp-dev):
#   sshd_config, sshd.pid, sshd.log, port
#   host_key, host_key.pub          the server's host key (ed25519)
#   client_key, client_key.pub      the user's key pair; authorized_keys holds the public half
#   known_hosts                     the host key for [127.0.0.1]:PORT, for clients
#   chroot/                         root-owned, 0755 (sshd's rule for ChrootDirectory, on every
#                                   path component up to /): the user's `/`
#   chroot/exchange/                owned by the user, mode 2775 with the user's group: what the
#                                   client sees as /exchange. Files the client uploads are 0644 and
#                                   its own; files written here by root (tests, the stand-in run as
#                                   root) can be renamed and removed by the client, since that
#                                   takes write permission on the folder only. A stand-in run as
#                                   another user must be in the user's group.
#
# The client key is ed25519 (OpenSSH's own key format, ssh-keygen's default). fxconnect reaches
# the server through libcurl with libssh2 1.10 (Debian 12), which loads it (checked: with and
# without the .pub beside it; ECDSA keys, PEM or OpenSSH format, work too). RSA does NOT: libssh2
# 1.10 signs with RSA keys only as `ssh-rsa` (SHA-1), which OpenSSH 8.8 and later refuse by
# default ("signature algorithm ssh-rsa not in PubkeyAcceptedAlgorithms"); rsa-sha2-256/512 came
# with libssh2 1.11. The host key is ed25519 too: libssh2 1.10 verifies it, and libcurl asks the
# server for the key type that known_hosts holds.
#
# Env vars:
#   FXC_SFTP_STATE      state dir (see above)
#   FXC_SFTP_PORT       port (default: the one used last time if free, else a free one)
#   FXC_SFTP_USER_NAME  the system user to create or use (default fxsftp)
#   FXC_BUILD           see scripts/versions.sh
set -euo pipefail

SCRIPTS="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=scripts/versions.sh
source "$SCRIPTS/versions.sh"
# shellcheck source=scripts/lib.sh
source "$SCRIPTS/lib.sh"

log() { printf 'sftp: %s\n' "$*" >&2; }
die() { printf 'sftp: ERROR: %s\n' "$*" >&2; exit 1; }

HOST=127.0.0.1
START_TIMEOUT=30
STOP_TIMEOUT=10
SSHD=/usr/sbin/sshd
USER_NAME="${FXC_SFTP_USER_NAME:-fxsftp}"

DIR="${FXC_SFTP_STATE:-$FXC_BUILD/sftp-dev}"
mkdir -p "$DIR"
DIR="$(cd -- "$DIR" && pwd -P)"
CONFIG="$DIR/sshd_config"
PIDFILE="$DIR/sshd.pid"
PORTFILE="$DIR/port"
SSHDLOG="$DIR/sshd.log"
CHROOT="$DIR/chroot"
EXCHANGE="$CHROOT/exchange"

usage() { echo "usage: $0 start|stop|status" >&2; exit 2; }

# Pid of the sshd listener for this state dir, if alive (its command line, kept in its process
# title, names our config).
running_pid() { fxc_running_pid "$PIDFILE" "*sshd*-f $CONFIG*"; }

print_endpoints() {
  echo "sftp_user=$USER_NAME"
  echo "sftp_key=$DIR/client_key"
  echo "sftp_known_hosts=$DIR/known_hosts"
  echo "sftp_dir=$EXCHANGE"
  echo "sftp=sftp://$HOST:$(<"$PORTFILE")/exchange"
}

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

ensure_prereqs() {
  ((EUID == 0)) || die "must run as root: sshd needs it to switch to the user '$USER_NAME' and chroot it to $CHROOT"
  [[ -x "$SSHD" ]] || die "$SSHD not found (apt package 'openssh-server', listed in scripts/versions.sh)"
  local tool
  for tool in ssh-keygen ssh-keyscan python3 useradd; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found in PATH"
  done
  # sshd's privilege separation directory (Debian's service unit creates it; we run without it).
  mkdir -p -m 0755 /run/sshd
}

# The system user, created once; an existing one is used as it is, unless its password field
# marks it locked (sshd would refuse it): then it becomes `*`.
ensure_user() {
  if ! id -u "$USER_NAME" >/dev/null 2>&1; then
    log "creating the system user '$USER_NAME' (SFTP only, no home, no shell)"
    useradd --system --user-group --no-create-home --home-dir / --shell /usr/sbin/nologin \
      --password '*' "$USER_NAME" 2>/dev/null || id -u "$USER_NAME" >/dev/null 2>&1 \
      || die "useradd $USER_NAME failed"
  fi
  local pw
  pw="$(getent shadow "$USER_NAME" | cut -d: -f2)"
  if [[ "$pw" == '!'* ]]; then
    usermod --password '*' "$USER_NAME"
  fi
}

# Keys, once per state dir: written under a temporary name, then renamed (complete or absent).
ensure_keys() {
  if [[ ! -s "$DIR/host_key" ]]; then
    rm -f -- "$DIR/.host_key.tmp" "$DIR/.host_key.tmp.pub"
    ssh-keygen -q -t ed25519 -N '' -C "fxconnect sftp test host" -f "$DIR/.host_key.tmp" >/dev/null
    mv -f -- "$DIR/.host_key.tmp.pub" "$DIR/host_key.pub"
    mv -f -- "$DIR/.host_key.tmp" "$DIR/host_key"
  fi
  # ed25519 (see the header: an RSA key, left by an older version of this script, is replaced).
  if [[ ! -s "$DIR/client_key" ]] || ! ssh-keygen -l -f "$DIR/client_key.pub" 2>/dev/null | grep -q '(ED25519)$'; then
    rm -f -- "$DIR/.client_key.tmp" "$DIR/.client_key.tmp.pub"
    ssh-keygen -q -t ed25519 -N '' -C "fxconnect sftp test client" -f "$DIR/.client_key.tmp" >/dev/null
    mv -f -- "$DIR/.client_key.tmp.pub" "$DIR/client_key.pub"
    mv -f -- "$DIR/.client_key.tmp" "$DIR/client_key"
  fi
  chmod 600 "$DIR/host_key" "$DIR/client_key"
  # sshd reads authorized_keys as the user (StrictModes: owned by root, not group/world-writable).
  install -m 0644 -o root -g root "$DIR/client_key.pub" "$DIR/authorized_keys"
}

# The chroot (root-owned, 0755: sshd checks every component of the path) and the exchange folder.
ensure_dirs() {
  local d mode
  d="$(dirname -- "$CHROOT")"
  while :; do
    mode="$(stat -c %a "$d")"
    if [[ "$(stat -c %u "$d")" != 0 ]] || (((8#$mode & 8#022) != 0)); then
      die "ChrootDirectory $CHROOT: $d must be owned by root and not group/world-writable (sshd's rule); choose another FXC_SFTP_STATE"
    fi
    [[ "$d" == / ]] && break
    d="$(dirname -- "$d")"
  done
  mkdir -p "$CHROOT"
  chown root:root "$CHROOT"
  chmod 0755 "$CHROOT"
  mkdir -p "$EXCHANGE"
  chown "$USER_NAME:$(id -gn "$USER_NAME")" "$EXCHANGE"
  chmod 2775 "$EXCHANGE"
}

write_config() {
  local port="$1"
  cat >"$CONFIG.tmp" <<EOF
# Generated by scripts/sftp.sh; rewritten on every start.
Port $port
ListenAddress $HOST
HostKey $DIR/host_key
PidFile $PIDFILE
AuthorizedKeysFile $DIR/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UsePAM no
StrictModes yes
AllowUsers $USER_NAME
PrintMotd no
LogLevel INFO
# Many short connections from parallel tests.
MaxStartups 100:30:200
ClientAliveInterval 30
Subsystem sftp internal-sftp
Match User $USER_NAME
  ChrootDirectory $CHROOT
  ForceCommand internal-sftp -l INFO
  AllowTcpForwarding no
  AllowAgentForwarding no
  X11Forwarding no
  PermitTTY no
EOF
  mv -f -- "$CONFIG.tmp" "$CONFIG"
  local host_pub
  host_pub="$(cut -d' ' -f1,2 <"$DIR/host_key.pub")"
  echo "[$HOST]:$port $host_pub" >"$DIR/known_hosts.tmp"
  mv -f -- "$DIR/known_hosts.tmp" "$DIR/known_hosts"
}

# Ready when sshd completes a key exchange and shows the host key we gave it.
probe() {
  local port="$1" got
  got="$(ssh-keyscan -T 3 -t ed25519 -p "$port" "$HOST" 2>/dev/null | awk '{print $3}' | head -n 1)"
  [[ -n "$got" && "$got" == "$(cut -d' ' -f2 <"$DIR/host_key.pub")" ]]
}

tail_log() {
  if [[ -s "$SSHDLOG" ]]; then
    log "---- last lines of $SSHDLOG ----"
    tail -n 20 "$SSHDLOG" >&2
  fi
}

cmd_start() {
  exec 9>"$DIR/.lock"
  flock -w $((START_TIMEOUT + STOP_TIMEOUT + 30)) 9 || die "timed out waiting for $DIR/.lock"
  local pid
  if pid="$(running_pid)"; then
    log "already running (pid $pid, state dir $DIR)"
    print_endpoints
    return
  fi
  rm -f -- "$PIDFILE"
  ensure_prereqs
  ensure_user
  ensure_keys
  ensure_dirs

  local port
  if [[ -n "${FXC_SFTP_PORT:-}" ]]; then
    port="$FXC_SFTP_PORT"
  elif [[ -s "$PORTFILE" ]] && port_free "$(<"$PORTFILE")"; then
    port="$(<"$PORTFILE")"
  else
    port="$(fxc_free_ports 1)"
  fi
  echo "$port" >"$PORTFILE"
  write_config "$port"
  "$SSHD" -t -f "$CONFIG" || die "sshd refuses the generated $CONFIG"

  log "starting sshd on $HOST:$port (SFTP only, user $USER_NAME chrooted to $CHROOT); log: $SSHDLOG"
  # sshd detaches itself and writes its pid file; fd 9 (the lock) is not passed on.
  "$SSHD" -f "$CONFIG" -E "$SSHDLOG" 9>&- || { tail_log; die "sshd failed to start"; }
  local deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if pid="$(running_pid)" && probe "$port"; then
      log "ready (pid $pid)"
      print_endpoints
      return
    fi
    sleep 0.2
  done
  tail_log
  die "sshd not ready on $HOST:$port within ${START_TIMEOUT}s (state dir $DIR)"
}

# The processes under PID (its children, theirs, ...), deepest last.
descendants() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}

cmd_stop() {
  exec 9>"$DIR/.lock"
  flock -w $((START_TIMEOUT + STOP_TIMEOUT + 30)) 9 || die "timed out waiting for $DIR/.lock"
  local pid sessions
  if ! pid="$(running_pid)"; then
    log "not running (state dir $DIR)"
    rm -f -- "$PIDFILE"
    return
  fi
  # The listener leaves its sessions running when it exits: end them first, so clients see
  # their connections drop as they would when the server goes away.
  mapfile -t sessions < <(descendants "$pid")
  if ((${#sessions[@]})); then
    log "ending ${#sessions[@]} session process(es)"
    kill -TERM "${sessions[@]}" 2>/dev/null || true
  fi
  fxc_stop_pid sshd "$pid" "$STOP_TIMEOUT"
  local s
  for s in "${sessions[@]}"; do
    if fxc_alive "$s"; then kill -KILL "$s" 2>/dev/null || true; fi
  done
  rm -f -- "$PIDFILE"
  log "stopped"
}

cmd_status() {
  if running_pid >/dev/null && [[ -s "$PORTFILE" ]]; then
    print_endpoints
    return 0
  fi
  echo "stopped"
  return 1
}

(($# == 1)) || usage
case "$1" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) usage ;;
esac
