#!/usr/bin/env bash
# scripts/test.sh -- every test tier, non-zero on any failure (CI runs this through .ci/run).
#   1. scripts/setup.sh: packages, Kafka jars, release build (idempotent); then, in the
#      background at the lowest CPU priority, scripts/test-builds.sh: scripts/lint.sh
#      (clang-format and clang-tidy, clean or the run fails) and the asan, tsan and fuzz builds
#      (steps 6-8), which take the CPU the service-backed tiers 2-5 leave idle (logs in
#      $FXC_BUILD/test-builds; lint's findings are printed when it is done);
#   2. a private Kafka broker for the integration tier (state in $FXC_BUILD/kafka-test), stopped
#      on exit; with FXC_KAFKA_BOOTSTRAP set, that cluster is used and nothing is started; a
#      secured broker for the security tests of the integration tier (scripts/kafka.sh start
#      --secure: TLS, SASL, ACLs; state in $FXC_BUILD/kafka-secure-test; FXC_KAFKA_SECURE_* to use
#      a running one, see fxc_private_kafka_secure in scripts/lib.sh); likewise
#      Jaeger (scripts/jaeger.sh; FXC_JAEGER_OTLP + FXC_JAEGER_QUERY to use a running one) and
#      WireMock for the legacy tier (scripts/legacy.sh start --mtls; FXC_LEGACY_HTTP, _HTTPS, _CA,
#      _CLIENT_CERT, _CLIENT_KEY to use a running one), PostgreSQL (scripts/postgres.sh;
#      FXC_POSTGRES_DSN to use a running one) and an SFTP server (scripts/sftp.sh; FXC_SFTP_URL,
#      _USER, _KEY, _KNOWN_HOSTS, _DIR to use a running one);
#   3. ctest on the release build: unit, mock (librdkafka mock cluster), legacy (HTTP/SOAP calls
#      against WireMock, SQL against PostgreSQL, file exchange in a folder and over SFTP, commands),
#      integration (real broker; Toxiproxy from scripts/toxiproxy.sh, FXC_TOXIPROXY_URL to use a
#      running one), and the example connector's tests; then the faults tier (test/faults: the
#      short form of every fault scenario) on a three-node cluster (scripts/kafka.sh start
#      --brokers 3, state in $FXC_BUILD/kafka3-test, stopped afterwards; FXC_KAFKA3_BOOTSTRAP,
#      _PROXIED, _UPSTREAMS and _DIR to use a running one);
#   4. scripts/demo.sh on a small run (its own broker), then a check that it left no process;
#   5. the SDK as users get it: install the release build to build/install and build
#      examples/greeter as a project of its own against it (find_package(fxconnect)); then the
#      Debian package (scripts/package-check.sh: made with CPack, unpacked with dpkg -x, the
#      greeter built against what it holds, `fxconnect --version` and the greeter's lint run);
#   then each of 6-8 as soon as its own build is done (the later builds go on beside it at nice 19):
#   6. the ASan + UBSan build (preset asan) runs the unit, mock and legacy tiers;
#   7. the ThreadSanitizer build (preset tsan, build/tsan) runs the unit and mock tiers; the
#      preset sets TSAN_OPTIONS (halt_on_error=1, second_deadlock_stack=1, test/tsan.supp: only
#      false positives in librdkafka, which is not built with TSan; see that file);
#   8. fuzzing: scripts/fuzz.sh 15, every libFuzzer target for 15 s (preset fuzz, clang, build/fuzz).
# Env vars:
#   FXC_TEST_LABELS   ctest label regex for step 3 (default: all)
#   FXC_TEST_NO_FAULTS=1  skip the faults tier of step 3 (quick local runs; CI runs it)
#   FXC_TEST_NO_ASAN=1  skip step 6 (quick local runs; CI runs it)
#   FXC_TEST_NO_TSAN=1  skip step 7 (quick local runs; CI runs it)
#   FXC_TEST_NO_FUZZ=1  skip step 8 (quick local runs; CI runs it)
set -euo pipefail

SCRIPTS="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=scripts/versions.sh
source "$SCRIPTS/versions.sh"
# shellcheck source=scripts/lib.sh
source "$SCRIPTS/lib.sh"
cd "$FXC_ROOT"

# Each step's line carries the clock and the seconds since the start, so that where a run's time
# went (README, "Tests") can be read from any run's log.
log() { printf '\ntest: [%s, %d s] %s\n' "$(date +%T)" "$SECONDS" "$*" >&2; }

# A full run writes about 7 GB under $FXC_BUILD (the asan build alone ~3 GB, the brokers' topics,
# the tsan and fuzz builds). Too little room shows as a compiler's "No space left on device" an
# hour in; the free space is reported at the start, and at the end when it is what failed.
free_mb() { df -Pm -- "$FXC_BUILD" 2>/dev/null | awk 'NR == 2 { print $4 }'; }
NEED_MB=7000
mkdir -p "$FXC_BUILD"
free="$(free_mb)"
log "setup and release build ($free MB free under $FXC_BUILD; a full run needs about $NEED_MB)"
if [[ "$free" =~ ^[0-9]+$ ]] && ((free < NEED_MB)); then
  echo "test: WARNING: only $free MB free under $FXC_BUILD; a full run writes about $NEED_MB MB and may fail for want of space (build/kafka-bench, old build trees?)" >&2
fi
"$SCRIPTS/setup.sh"

status=0
log "in the background at nice 19: lint, then the asan, tsan and fuzz builds (scripts/test-builds.sh; logs in $FXC_BUILD/test-builds)"
builds_dir="$FXC_BUILD/test-builds"
rm -rf "$builds_dir"
# setsid: its own process group, so that an early exit stops the compilers too (the trap below).
setsid nice -n 19 "$SCRIPTS/test-builds.sh" "$builds_dir" </dev/null >/dev/null 2>&1 &
builds_pid=$!
stop_builds() { kill -- -"$builds_pid" 2>/dev/null || true; }
# A background step's outcome, 0 if it passed: its whole log with "print", the end of its log
# when it failed.
step_ok() {  # step_ok NAME [print]
  local rc
  rc="$(cat "$builds_dir/$1.rc" 2>/dev/null || echo missing)"
  if [[ "${2:-}" == print ]]; then
    cat "$builds_dir/$1.log" 2>/dev/null || true
  elif [[ "$rc" != 0 ]]; then
    tail -n 150 "$builds_dir/$1.log" 2>/dev/null || true
  fi
  [[ "$rc" == 0 ]] || { echo "$1: FAILED (exit status $rc; log $builds_dir/$1.log)"; return 1; }
}

trap 'stop_builds; fxc_stop_private_kafka3; fxc_stop_private_toxiproxy; fxc_stop_private_sftp; fxc_stop_private_postgres; fxc_stop_private_legacy; fxc_stop_private_jaeger; fxc_stop_private_kafka_secure; fxc_stop_private_kafka' EXIT
log "a Kafka broker for the integration tier"
fxc_private_kafka test
log "Kafka at $FXC_KAFKA_BOOTSTRAP"
log "a secured Kafka broker for the security tests (scripts/kafka.sh start --secure: TLS, SASL, ACLs)"
fxc_private_kafka_secure test
log "secured Kafka: SASL_SSL ${FXC_KAFKA_SECURE_SASL_SSL:-}, SSL ${FXC_KAFKA_SECURE_SSL:-}, SASL_PLAINTEXT ${FXC_KAFKA_SECURE_SASL_PLAINTEXT:-}, setup (PLAINTEXT) $FXC_KAFKA_SECURE_BOOTSTRAP"
log "Jaeger for the tracing tests (built once from the Go module proxy: several minutes the first time)"
fxc_private_jaeger test
log "Jaeger: OTLP/HTTP $FXC_JAEGER_OTLP, query $FXC_JAEGER_QUERY"
log "WireMock for the legacy-system tests (HTTP, and HTTPS requiring a client certificate)"
fxc_private_legacy test --mtls
log "WireMock: $FXC_LEGACY_HTTP, $FXC_LEGACY_HTTPS"
log "PostgreSQL 15 for the SQL tests (scripts/postgres.sh)"
fxc_private_postgres test
log "PostgreSQL: $FXC_POSTGRES_DSN"
log "OpenSSH's sshd as an SFTP server for the file-exchange tests (scripts/sftp.sh)"
fxc_private_sftp test
log "SFTP: $FXC_SFTP_URL"

log "Toxiproxy for network faults (built once from the Go module proxy)"
fxc_private_toxiproxy test
log "Toxiproxy: $FXC_TOXIPROXY_URL"

log "release build: unit, mock, legacy, integration"
ctest --preset release --no-tests=error --timeout 600 -LE faults ${FXC_TEST_LABELS:+-L "$FXC_TEST_LABELS"} || status=1
# The figures the integration tests print (duplicates after kill -9, concurrency, ...).
grep -h "\[ figures  \]" "$FXC_ROOT/build/Testing/Temporary/LastTest.log" 2>/dev/null || true

if [[ "${FXC_TEST_NO_FAULTS:-0}" != 1 ]] && { [[ -z "${FXC_TEST_LABELS:-}" ]] || [[ faults =~ ${FXC_TEST_LABELS} ]]; }; then
  log "faults: a three-node cluster (scripts/kafka.sh start --brokers 3) behind Toxiproxy; every scenario's short form"
  fxc_private_kafka3 test
  log "cluster: $FXC_KAFKA3_BOOTSTRAP (proxied: $FXC_KAFKA3_PROXIED)"
  ctest --preset release --no-tests=error --timeout 900 -L faults || status=1
  grep -h "\[ figures  \]" "$FXC_ROOT/build/Testing/Temporary/LastTest.log" 2>/dev/null || true
  fxc_stop_private_kafka3
fi

log "demo: scripts/demo.sh with 300 instances, then nothing of it may still run"
if env -u FXC_KAFKA_BOOTSTRAP -u FXC_LEGACY_HTTP -u FXC_POSTGRES_DSN FXC_DEMO_INSTANCES=300 FXC_DEMO_RATE=150 "$SCRIPTS/demo.sh" >"$FXC_BUILD/demo-test.log" 2>&1; then
  tail -n 30 "$FXC_BUILD/demo-test.log"
  leftover="$(pgrep -af "kafka-demo|legacy-demo/|postgres-demo|onboarding-connector run|processes/corebanking.yaml|ledger/ledger.yaml|engine run examples/processes" || true)"
  if [[ -n "$leftover" ]]; then
    echo "demo: FAILED, processes left running:"; echo "$leftover"
    status=1
  else
    echo "demo: ok, nothing left running"
  fi
else
  cat "$FXC_BUILD/demo-test.log"
  echo "demo: FAILED"
  status=1
fi

log "SDK install and an out-of-tree connector build (examples/greeter)"
if cmake --install "$FXC_ROOT/build" --prefix "$FXC_BUILD/install" >/dev/null &&
  cmake -S examples/greeter -B "$FXC_BUILD/greeter-standalone" -G Ninja \
    -DCMAKE_PREFIX_PATH="$FXC_BUILD/install" >/dev/null &&
  cmake --build "$FXC_BUILD/greeter-standalone" &&
  "$FXC_BUILD/greeter-standalone/greeter-connector" handlers | grep -q '^greeter'; then
  echo "out-of-tree build: ok"
else
  echo "out-of-tree build: FAILED"
  status=1
fi

log "Debian package (cmake --build --preset release --target package), unpacked with dpkg -x into a throwaway root; examples/greeter built against it and its lint run"
if "$SCRIPTS/package-check.sh"; then
  echo "package: ok"
else
  echo "package: FAILED"
  status=1
fi

# Each tier below starts as soon as its own build is done, while the later builds go on at nice 19:
# the sanitizer tiers mostly wait (on the mock cluster, on timeouts), and the builds take that time.
builds_running() {  # the background script has not exited (a zombie not yet reaped has)
  local state
  state="$(ps -o stat= -p "$builds_pid" 2>/dev/null)" || return 1
  [[ "$state" != Z* ]]
}
await_step() {  # await_step NAME: until the background step NAME has ended (or the script has)
  local waited=$SECONDS
  while [[ ! -e "$builds_dir/$1.rc" ]] && builds_running; do sleep 2; done
  grep -F "background step $1:" "$builds_dir/times" 2>/dev/null || true
  echo "test: waited $((SECONDS - waited)) s for the background step $1" >&2
}
log "lint: clang-format and clang-tidy (scripts/lint.sh, in the background since the release build)"
await_step lint
step_ok lint print || status=1

if [[ "${FXC_TEST_NO_ASAN:-0}" != 1 ]]; then
  log "ASan + UBSan build: unit, mock and legacy"
  await_step asan-build
  if step_ok asan-build; then
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ctest --preset asan --no-tests=error --timeout 600 || status=1
  else
    echo "ASan build: FAILED"
    status=1
  fi
fi

if [[ "${FXC_TEST_NO_TSAN:-0}" != 1 ]]; then
  log "ThreadSanitizer build: unit and mock"
  await_step tsan-build
  # TSAN_OPTIONS come from the test preset (CMakePresets.json); any set here are appended.
  if step_ok tsan-build; then
    ctest --preset tsan --no-tests=error --timeout 600 || status=1
  else
    echo "TSan build: FAILED"
    status=1
  fi
fi

if [[ "${FXC_TEST_NO_FUZZ:-0}" != 1 ]]; then
  log "fuzzing: every libFuzzer target for 15 s (scripts/fuzz.sh; crash inputs in build/fuzz/artifacts)"
  await_step fuzz-build
  if step_ok fuzz-build; then
    FXC_FUZZ_NO_BUILD=1 "$SCRIPTS/fuzz.sh" 15 || status=1
  else
    status=1
  fi
fi

wait "$builds_pid" 2>/dev/null || true  # reaped (it has ended: each step it runs was awaited)
if ((status)); then
  free="$(free_mb)"
  if [[ "$free" =~ ^[0-9]+$ ]] && ((free < 1024)); then
    echo "test: the disk under $FXC_BUILD is (nearly) full: $free MB free; a full run needs about $NEED_MB MB" >&2
  fi
  log "FAILED"
else
  log "all tiers passed"
fi
exit "$status"
