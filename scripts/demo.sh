#!/usr/bin/env bash
# scripts/demo.sh -- fxconnect's main job, end to end, in one command.
#
# A client-onboarding process (examples/processes/onboarding.yaml) runs 2,000 instances on the
# engine simulator at a fixed rate. Each instance calls two connectors over Kafka, as the engine
# would: the example onboarding connector (examples/onboarding: date format, country value list,
# minor units, GUID, KYC flag) and the core-banking connector (examples/processes/corebanking.yaml:
# the `open_account` handler), the second with data the first returned. The core-banking connector
# calls two real HTTP legacy systems declared under `systems:` — a KYC service over SOAP (when the
# first connector flagged kycRequired) and the core-banking REST API (POST /accounts, 50 ms) — played
# by WireMock (scripts/legacy.sh, mappings in scripts/legacy/mappings). One client in ten has an
# invalid birth date or country: the connector answers with an error and the process takes its
# error path. A third connector, the ledger (examples/ledger/ledger.yaml: a flow, no C++), records
# each opened account in PostgreSQL with a `sql` step (scripts/postgres.sh, table from
# examples/ledger/schema.sql).
#
# Steps: setup (idempotent) → a private Kafka broker (unless FXC_KAFKA_BOOTSTRAP is set) → WireMock
# (unless FXC_LEGACY_HTTP is set) → PostgreSQL (unless FXC_POSTGRES_DSN is set) → topics →
# the three connectors → the engine → summary, one instance's data before and after, and
# build/demo-summary.json and the HTML report build/demo-report.html → everything it started is stopped, also on Ctrl-C.
#
# Usage: scripts/demo.sh [--flow]
#   --flow  run the declarative twins of both connectors instead (examples/onboarding-flow: the same
#           behaviour as YAML flows run by the `fxconnect` program, no C++).
#
# Env vars: FXC_DEMO_INSTANCES (2000), FXC_DEMO_RATE (100 per second), FXC_KAFKA_BOOTSTRAP,
# FXC_LEGACY_HTTP (a running WireMock with scripts/legacy/mappings), FXC_POSTGRES_DSN (a running
# PostgreSQL where the demo may create its table).
set -euo pipefail

SCRIPTS="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=scripts/versions.sh
source "$SCRIPTS/versions.sh"
# shellcheck source=scripts/lib.sh
source "$SCRIPTS/lib.sh"
cd "$FXC_ROOT"

FLOW=0
case "${1:-}" in
  "") ;;
  --flow) FLOW=1 ;;
  *) echo "usage: scripts/demo.sh [--flow]" >&2; exit 2 ;;
esac
INSTANCES="${FXC_DEMO_INSTANCES:-2000}"
RATE="${FXC_DEMO_RATE:-100}"
DEMO_DIR="$FXC_BUILD/demo"
BIN="$FXC_ROOT/build/bin"

say() { printf '\n== %s\n' "$*" >&2; }

pids=()
cleanup() {
  local code=$?
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  fxc_stop_private_postgres
  fxc_stop_private_legacy
  fxc_stop_private_kafka
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "setup (packages, Kafka jars, build; skipped when done)"
"$SCRIPTS/setup.sh"

say "a Kafka broker (KRaft, 127.0.0.1)"
fxc_private_kafka demo
echo "Kafka at $FXC_KAFKA_BOOTSTRAP"

say "the legacy systems: core banking (REST) and KYC (SOAP) on WireMock (scripts/legacy.sh)"
fxc_private_legacy demo
echo "legacy systems at $FXC_LEGACY_HTTP"

say "the ledger database: PostgreSQL 15 (scripts/postgres.sh), table from examples/ledger/schema.sql"
fxc_private_postgres demo
/usr/lib/postgresql/15/bin/psql -q -v ON_ERROR_STOP=1 "$FXC_POSTGRES_DSN" -f examples/ledger/schema.sql
echo "PostgreSQL: ${FXC_POSTGRES_DSN%% password=*}"

mkdir -p "$DEMO_DIR"
say "creating the process's topics"
"$BIN/fxconnect" engine prepare examples/processes/onboarding.yaml

# Starts a connector in the background and waits until it owns its input partitions.
start_connector() {
  local name=$1 program=$2 config=$3 log="$DEMO_DIR/$1.log"
  "$BIN/$program" lint "$config" >/dev/null
  "$BIN/$program" run "$config" >"$log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 300); do
    grep -q "partitions assigned" "$log" && { echo "$name connector running (log: ${log#"$FXC_ROOT"/})"; return; }
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$log" >&2; echo "$name connector exited" >&2; exit 1; }
    sleep 0.1
  done
  echo "$name connector got no partitions within 30 s" >&2
  exit 1
}
if [[ $FLOW == 1 ]]; then
  say "starting the connectors: the flows of examples/onboarding-flow (fxconnect run <flow.yaml>)"
  start_connector onboarding fxconnect examples/onboarding-flow/onboarding.yaml
  start_connector corebanking fxconnect examples/onboarding-flow/open-account.yaml
  start_connector ledger fxconnect examples/ledger/ledger.yaml
else
  say "starting the connectors"
  start_connector onboarding onboarding-connector examples/onboarding/onboarding.yaml
  start_connector corebanking onboarding-connector examples/processes/corebanking.yaml
  start_connector ledger fxconnect examples/ledger/ledger.yaml
fi

say "running $INSTANCES onboarding instances at $RATE per second"
set +e
"$BIN/fxconnect" engine run examples/processes/onboarding.yaml \
  --instances "$INSTANCES" --rate "$RATE" --data examples/processes/onboarding.jsonl \
  --show 1 --json "$FXC_BUILD/demo-summary.json" --report "$FXC_BUILD/demo-report.html" &
pids+=("$!")
wait "${pids[-1]}"
engine_code=$?
set -e

say "stopping the connectors"
for pid in "${pids[@]:0:3}"; do kill -TERM "$pid" 2>/dev/null || true; done
for pid in "${pids[@]:0:3}"; do wait "$pid" 2>/dev/null || true; done
for name in onboarding corebanking ledger; do grep -h "stopped:" "$DEMO_DIR/$name.log" | sed "s/^/$name: /" | cut -c1-200; done
echo
echo "summary: build/demo-summary.json; report (open it in a browser): build/demo-report.html; connector logs: build/demo/"
exit "$engine_code"
