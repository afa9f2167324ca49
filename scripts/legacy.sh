#!/usr/bin/env bash
# scripts/legacy.sh start|stop|status -- the legacy-system stand-in: a WireMock standalone server
# on 127.0.0.1 (HTTP, and HTTPS with --tls) with the stub mappings of scripts/legacy/mappings (a
# core-banking REST API and a SOAP 1.1 KYC service, see scripts/legacy/README.md), for
# development, tests and the demo. Tests add their own stubs through WireMock's admin API
# (test/support/wiremock.h) and count the requests it received (its request journal is on).
#
#   start [--tls] [--mtls] [--mappings DIR] [--no-journal]
#           start it in the background (detached; survives the calling shell), wait until
#           GET /__admin/health answers 200 (and, with --tls, until the HTTPS port completes a
#           TLS handshake verified with the test CA; 60 s max), then print, the HTTP line last:
#             legacy_https=https://127.0.0.1:PORT          (--tls)
#             legacy_ca=/path/to/ca.pem                     (--tls: the test CA, e.g. curl --cacert)
#             legacy_client_cert=/path/to/client.pem        (--mtls)
#             legacy_client_key=/path/to/client.key         (--mtls)
#             legacy_http=http://127.0.0.1:PORT
#           --tls    also open an HTTPS port, with a certificate for 127.0.0.1 and localhost
#                    issued by a test CA this script creates with openssl (once per state dir)
#           --mtls   (implies --tls) the HTTPS port requires a client certificate issued by that
#                    CA; one is created for the tests. The HTTP port stays open.
#           --mappings DIR  stub mappings (*.json) to load (default: scripts/legacy/mappings);
#                    response bodies named by bodyFileName come from DIR/../__files. Both are
#                    copied into the state dir, so WireMock never writes into DIR.
#           --no-journal  no request journal (--no-request-journal): for load runs, where it
#                    would fill the heap; counting requests (the tests' helper) then fails.
#           If it is already running with the same options, just print those lines; with other
#           options it fails (stop it first). Every start picks fresh free ports.
#   stop    SIGTERM, wait up to 30 s, then SIGKILL. OK if not running.
#   status  print the lines above (exit 0) or `stopped` (exit 1).
# stdout carries only those lines; all messages go to stderr.
#
# Served as WireMock's standalone server is: all responses are Handlebars templates
# (--global-response-templating), delays are served asynchronously (a few thousand concurrent
# requests with 50 ms delays do not need a thread each), the request journal keeps every request
# (unless FXC_LEGACY_JOURNAL_MAX is set) at about 3 KB of heap each: ~300,000 requests fit in the
# default heap, a minute or so at full speed (DELETE /__admin/requests empties it; the JVM exits
# on OutOfMemoryError rather than limping on). POST /__admin/reset brings back the loaded
# mappings and empties the journal. Measured on the 2-core machine: ~7,000 req/s of POST
# /accounts (50 ms delay, templated) with 1,000-2,000 concurrent clients, saturated (CPU-bound).
#
# Env vars:
#   FXC_LEGACY_DIR          state dir (default: $FXC_BUILD/legacy): pid, ports, options,
#                           wiremock.log, root/ (the mappings and __files WireMock serves),
#                           tls/ (test CA, server and client keys and certificates, keystores)
#   FXC_LEGACY_JOURNAL_MAX  keep only the last N requests in the journal (default: all). Costly:
#                           WireMock 3.13 then walks its journal queue on every request (cut
#                           throughput from ~7,000 to ~300-500 req/s here); prefer --no-journal
#                           or DELETE /__admin/requests.
#   FXC_LEGACY_HEAP         JVM -Xmx (default 1g)
#   FXC_BUILD, FXC_CACHE    see scripts/versions.sh
# The WireMock jar comes from scripts/setup.sh (run automatically with FXC_SETUP_NO_BUILD=1 if
# it is missing). Needs java (17), python3 (free ports, readiness probe), openssl and keytool
# (for --tls).
set -euo pipefail

SCRIPTS="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=scripts/versions.sh
source "$SCRIPTS/versions.sh"
# shellcheck source=scripts/lib.sh
source "$SCRIPTS/lib.sh"

log() { printf 'legacy: %s\n' "$*" >&2; }
die() { printf 'legacy: ERROR: %s\n' "$*" >&2; exit 1; }

HOST=127.0.0.1
START_TIMEOUT=60
STOP_TIMEOUT=30
START_ATTEMPTS=3   # fresh ports each time, in case another process grabs one meanwhile
JOURNAL_MAX="${FXC_LEGACY_JOURNAL_MAX:-}"
HEAP="${FXC_LEGACY_HEAP:-1g}"
# Test material only: the keystores' password is no secret (it is on WireMock's command line).
STORE_PASSWORD=fxconnect-legacy-test

DIR="${FXC_LEGACY_DIR:-$FXC_BUILD/legacy}"
mkdir -p "$DIR"
DIR="$(cd -- "$DIR" && pwd -P)"
ROOT="$DIR/root"
TLS="$DIR/tls"
PIDFILE="$DIR/pid"
PORTSFILE="$DIR/ports"
OPTSFILE="$DIR/options"
WLOG="$DIR/wiremock.log"

usage() { echo "usage: $0 start [--tls] [--mtls] [--mappings DIR] [--no-journal] | stop | status" >&2; exit 2; }

# Pid of the WireMock for this state dir, if alive (guards against pid reuse by checking that the
# process runs the WireMock jar with our root dir).
running_pid() { fxc_running_pid "$PIDFILE" "*java*wiremock-standalone*--root-dir $ROOT *"; }

# port NAME: a port number from the ports file.
port() {
  local v
  v="$(sed -n "s/^$1=//p" "$PORTSFILE" 2>/dev/null | tail -n 1)"
  [[ "$v" =~ ^[0-9]+$ ]] || return 1
  echo "$v"
}

# The options the running server was started with (tls=, mtls=, journal= 0|1; mappings=DIR).
running_opt() { sed -n "s/^$1=//p" "$OPTSFILE" 2>/dev/null | tail -n 1; }

print_endpoints() {
  if [[ "$(running_opt tls)" == 1 ]]; then
    echo "legacy_https=https://$HOST:$(port https)"
    echo "legacy_ca=$TLS/ca.pem"
  fi
  if [[ "$(running_opt mtls)" == 1 ]]; then
    echo "legacy_client_cert=$TLS/client.pem"
    echo "legacy_client_key=$TLS/client.key"
  fi
  echo "legacy_http=http://$HOST:$(port http)"
}

# --- TLS material ------------------------------------------------------------------------------

# Creates, once per state dir, a test CA, a server certificate for 127.0.0.1 and localhost and a
# client certificate (both signed by the CA), the server's PKCS12 keystore and a PKCS12 trust
# store holding the CA (for --mtls). Written to a temporary dir, then renamed: complete or absent.
ensure_tls() {
  [[ -f "$TLS/.complete" ]] && return 0
  command -v openssl >/dev/null 2>&1 || die "openssl not found (apt package 'openssl')"
  command -v keytool >/dev/null 2>&1 || die "keytool not found (it comes with the JRE: apt package 'default-jre-headless')"
  local tmp
  tmp="$(mktemp -d "$DIR/.tls.tmp.XXXXXX")"
  log "creating a test CA and certificates for 127.0.0.1/localhost in $TLS"
  (
    set -e
    cd -- "$tmp"
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
      -subj "/O=fxconnect/CN=fxconnect legacy test CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout ca.key -out ca.pem
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" >server.ext
    openssl req -newkey rsa:2048 -nodes -sha256 -subj "/O=fxconnect/CN=localhost" \
      -keyout server.key -out server.csr
    openssl x509 -req -sha256 -days 825 -in server.csr -CA ca.pem -CAkey ca.key -set_serial 2 \
      -extfile server.ext -out server.pem
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=clientAuth" >client.ext
    openssl req -newkey rsa:2048 -nodes -sha256 -subj "/O=fxconnect/CN=fxconnect test client" \
      -keyout client.key -out client.csr
    openssl x509 -req -sha256 -days 825 -in client.csr -CA ca.pem -CAkey ca.key -set_serial 3 \
      -extfile client.ext -out client.pem
    # The server's key and chain for WireMock (--https-keystore, --keystore-type PKCS12).
    openssl pkcs12 -export -name wiremock -inkey server.key -in server.pem -certfile ca.pem \
      -passout "pass:$STORE_PASSWORD" -out keystore.p12
    # The CA as a trusted entry (keytool marks it trusted for Java; openssl's PKCS12 does not).
    keytool -importcert -noprompt -alias fxconnect-test-ca -file ca.pem -storetype PKCS12 \
      -keystore truststore.p12 -storepass "$STORE_PASSWORD"
    rm -f -- server.csr client.csr server.ext client.ext
    chmod 600 -- *.key
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

# --- process -----------------------------------------------------------------------------------

# probe HTTP_PORT [HTTPS_PORT MTLS]: succeeds when GET /__admin/health answers 200 on HTTP and,
# with an HTTPS port, when the same request succeeds over TLS verified with the test CA (with the
# client certificate when MTLS is 1).
probe() {
  python3 - "$HOST" "$TLS" "$@" <<'PY'
import ssl, sys, urllib.request
host, tls, http_port = sys.argv[1], sys.argv[2], sys.argv[3]
https_port = sys.argv[4] if len(sys.argv) > 4 else ""
mtls = len(sys.argv) > 5 and sys.argv[5] == "1"
try:
    with urllib.request.urlopen(f"http://{host}:{http_port}/__admin/health", timeout=3) as r:
        if r.status != 200:
            sys.exit(1)
    if https_port:
        ctx = ssl.create_default_context(cafile=f"{tls}/ca.pem")
        if mtls:
            ctx.load_cert_chain(f"{tls}/client.pem", f"{tls}/client.key")
        with urllib.request.urlopen(f"https://{host}:{https_port}/__admin/health", timeout=3,
                                    context=ctx) as r:
            sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}

tail_log() {
  if [[ -s "$WLOG" ]]; then
    log "---- last lines of $WLOG ----"
    tail -n 30 "$WLOG" >&2
  fi
}

probe_args() {
  PROBE=("$(port http)")
  if [[ "$(running_opt tls)" == 1 ]]; then
    PROBE+=("$(port https)" "$(running_opt mtls)")
  fi
}

# wait_ready PID: 0 when ready, 1 if the process exited (log shown), dies on timeout.
wait_ready() {
  local pid="$1" deadline=$((SECONDS + START_TIMEOUT))
  port http >/dev/null || die "bad or missing $PORTSFILE"
  probe_args
  while ((SECONDS < deadline)); do
    if probe "${PROBE[@]}"; then
      return 0
    fi
    if ! fxc_alive "$pid"; then
      tail_log
      log "wiremock process $pid exited during startup (state dir $DIR)"
      return 1
    fi
    sleep 0.5
  done
  tail_log
  die "wiremock not ready on $HOST:$(port http) within ${START_TIMEOUT}s (pid $pid still running; stop it with '$0 stop')"
}

# warm_up: a cold JVM answers its first requests in seconds, not milliseconds (class loading, the
# JIT, the first XPath and template). Callers should meet a warm stand-in: 400 requests on 16
# connections over the demo mappings (REST and SOAP), then the request journal is emptied.
warm_up() {
  python3 - "http://$HOST:$(port http)" <<'PY'
import sys, threading, urllib.request
base = sys.argv[1]
soap = ('<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:kyc="urn:example:kyc">'
        '<soap:Body><kyc:CheckCustomer><kyc:customerId>C-1</kyc:customerId></kyc:CheckCustomer></soap:Body></soap:Envelope>')
calls = [("POST", "/accounts", b'{"customerRef":"C-1","amountMinor":1,"currency":"EUR"}',
          {"Content-Type": "application/json"}),
         ("GET", "/accounts/ACC-1", None, {}),
         ("POST", "/kyc", soap.encode(), {"Content-Type": "text/xml", "SOAPAction": '"urn:kyc#CheckCustomer"'})]
def work(n):
    for i in range(n):
        method, path, body, headers = calls[i % len(calls)]
        try:
            urllib.request.urlopen(urllib.request.Request(base + path, data=body, headers=headers, method=method),
                                   timeout=30).read()
        except Exception:
            pass  # a 4xx/5xx warms up as well
threads = [threading.Thread(target=work, args=(25,)) for _ in range(16)]
for t in threads: t.start()
for t in threads: t.join()
urllib.request.urlopen(urllib.request.Request(base + "/__admin/requests", method="DELETE"), timeout=30).read()
PY
}

ensure_prereqs() {
  if [[ ! -f "$(dirname -- "$WIREMOCK_JAR")/.complete" ]] || ! command -v java >/dev/null 2>&1 \
     || ! command -v python3 >/dev/null 2>&1; then
    log "WireMock jar or java/python3 missing: running scripts/setup.sh (FXC_SETUP_NO_BUILD=1)"
    FXC_SETUP_NO_BUILD=1 "$SCRIPTS/setup.sh" >&2
  fi
  [[ -f "$(dirname -- "$WIREMOCK_JAR")/.complete" ]] || die "WireMock jar still missing: $WIREMOCK_JAR"
  command -v java >/dev/null 2>&1 || die "java not found in PATH"
  command -v python3 >/dev/null 2>&1 || die "python3 not found in PATH"
}

# copy_root MAPPINGS_DIR: WireMock's root dir in the state dir, a fresh copy of the mappings and
# of their __files (the sibling dir), so that WireMock never writes into the source tree.
copy_root() {
  local src="$1" files
  files="$(dirname -- "$src")/__files"
  rm -rf -- "$ROOT"
  mkdir -p "$ROOT/mappings" "$ROOT/__files"
  cp -R -- "$src/." "$ROOT/mappings/"
  if [[ -d "$files" ]]; then
    cp -R -- "$files/." "$ROOT/__files/"
  fi
}

# Launches WireMock detached and echoes its pid.
launch() {
  local http="$1" https="$2" tls="$3" mtls="$4" journal="$5"
  local args=(--root-dir "$ROOT" --bind-address "$HOST" --port "$http"
              --disable-banner --global-response-templating --enable-browser-proxying
              --async-response-enabled true --async-response-threads 16
              --container-threads 200 --jetty-acceptor-threads 2 --jetty-accept-queue-size 4096)
  if [[ "$journal" == 0 ]]; then
    args+=(--no-request-journal)
  elif [[ -n "$JOURNAL_MAX" ]]; then
    args+=(--max-request-journal-entries "$JOURNAL_MAX")
  fi
  if [[ "$tls" == 1 ]]; then
    args+=(--https-port "$https" --https-keystore "$TLS/keystore.p12" --keystore-type PKCS12
           --keystore-password "$STORE_PASSWORD" --key-manager-password "$STORE_PASSWORD")
  fi
  if [[ "$mtls" == 1 ]]; then
    args+=(--https-require-client-cert --https-truststore "$TLS/truststore.p12"
           --truststore-type PKCS12 --truststore-password "$STORE_PASSWORD")
  fi
  rm -f -- "$PIDFILE"
  # setsid: new session, no controlling terminal, immune to the caller's SIGHUP/SIGINT.
  # The inner shell records its own pid, then execs java (so the pid is java's).
  # shellcheck disable=SC2016  # $$ and $@ are for the inner shell
  setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' fxc-legacy "$PIDFILE" \
    java -Xms128m "-Xmx$HEAP" -XX:+ExitOnOutOfMemoryError -jar "$WIREMOCK_JAR" "${args[@]}" \
    </dev/null >>"$WLOG" 2>&1 9>&- &
  local _
  for _ in $(seq 1 50); do
    [[ -s "$PIDFILE" ]] && break
    sleep 0.1
  done
  [[ -s "$PIDFILE" ]] || die "wiremock did not start (no pid file)"
  cat -- "$PIDFILE"
}

cmd_start() {
  local tls=0 mtls=0 journal=1 mappings="$SCRIPTS/legacy/mappings"
  while (($#)); do
    case "$1" in
      --tls) tls=1 ;;
      --mtls) tls=1; mtls=1 ;;
      --no-journal) journal=0 ;;
      --mappings)
        (($# >= 2)) || usage
        mappings="$2"
        shift
        ;;
      *) usage ;;
    esac
    shift
  done
  [[ -d "$mappings" ]] || die "no such mappings dir: $mappings"
  mappings="$(cd -- "$mappings" && pwd -P)"

  # One start/stop at a time per state dir (WireMock itself does not inherit fd 9).
  exec 9>"$DIR/.lock"
  flock -w $((START_TIMEOUT + STOP_TIMEOUT + 30)) 9 || die "timed out waiting for $DIR/.lock"

  local pid
  if pid="$(running_pid)"; then
    if [[ "$(running_opt tls)" != "$tls" || "$(running_opt mtls)" != "$mtls" \
          || "$(running_opt journal)" != "$journal" || "$(running_opt mappings)" != "$mappings" ]]; then
      die "already running (pid $pid, state dir $DIR) with other options ($(tr '\n' ' ' <"$OPTSFILE")); stop it first"
    fi
    log "already running (pid $pid, state dir $DIR)"
    wait_ready "$pid" || die "wiremock (pid $pid) exited"
    print_endpoints
    return
  fi
  rm -f -- "$PIDFILE"

  ensure_prereqs
  if [[ "$tls" == 1 ]]; then ensure_tls; fi
  copy_root "$mappings"
  printf 'tls=%s\nmtls=%s\njournal=%s\nmappings=%s\n' "$tls" "$mtls" "$journal" "$mappings" >"$OPTSFILE.tmp"
  mv -f -- "$OPTSFILE.tmp" "$OPTSFILE"

  local attempt http https what
  for ((attempt = 1; attempt <= START_ATTEMPTS; attempt++)); do
    read -r http https < <(fxc_free_ports 2)
    printf 'http=%s\nhttps=%s\n' "$http" "$https" >"$PORTSFILE.tmp"
    mv -f -- "$PORTSFILE.tmp" "$PORTSFILE"
    what="HTTP $HOST:$http"
    if ((tls)); then what+=", HTTPS $HOST:$https"; fi
    if ((mtls)); then what+=" (client certificate required)"; fi
    if ((!journal)); then what+=", no request journal"; fi
    log "starting WireMock $WIREMOCK_VERSION: $what, mappings from $mappings; log: $WLOG"
    pid="$(launch "$http" "$https" "$tls" "$mtls" "$journal")"
    if wait_ready "$pid"; then
      warm_up || log "warm-up requests failed (WireMock is up; its first answers may be slow)"
      log "ready (pid $pid)"
      print_endpoints
      return
    fi
    rm -f -- "$PIDFILE"
    if ((attempt < START_ATTEMPTS)) && tail -n 30 "$WLOG" | grep -qi 'address already in use'; then
      log "a port was taken meanwhile: retrying with fresh ports"
      continue
    fi
    break
  done
  die "wiremock failed to start (state dir $DIR, log $WLOG)"
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
  fxc_stop_pid wiremock "$pid" "$STOP_TIMEOUT"
  rm -f -- "$PIDFILE"
  log "stopped"
}

cmd_status() {
  if running_pid >/dev/null && port http >/dev/null; then
    print_endpoints
    return 0
  fi
  echo "stopped"
  return 1
}

(($# >= 1)) || usage
cmd="$1"
shift
case "$cmd" in
  start) cmd_start "$@" ;;
  stop) (($# == 0)) || usage; cmd_stop ;;
  status) (($# == 0)) || usage; cmd_status ;;
  *) usage ;;
esac
