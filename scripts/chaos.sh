#!/usr/bin/env bash
# scripts/chaos.sh -- the fault suite's long form and soak, for the record in docs/reliability.md
# (figures, not a pass/fail gate of CI: scripts/test.sh runs the short form of every scenario).
#
#   scripts/chaos.sh [--short] [--rate R] [--keys K] [--scenario NAME]...
#       every scenario (or the named ones) in its long form: a steady load (200 requests/s over
#       1,000 keys by default) through echo connectors (50 ms) with one fault in the middle; one
#       `chaos: scenario=...` line each, then the Markdown table of docs/reliability.md.
#       Scenarios: leader-kill-input leader-kill-reply rolling-restart cut-5s cut-30s cut-3m
#       slow-broker kill-loop big-requests.
#   scripts/chaos.sh --soak 30m [--fault-every 60s] [--rate R]
#       the soak: the load at half of the connector's measured maximum rate (or R) with a fault
#       from the list every minute (at random), the RSS and open file descriptors of a connector
#       sampled every 10 s (`chaos: sample AT_S RSS_MB FDS FAULT` lines), then its row.
# Exit status: 0 when nothing was lost, per-key order held, no commit passed an unanswered
# request, and duplicates came only where the guarantee allows them (after a crash or a lost
# session); 1 otherwise.
#
# It builds build/bin/fxc_chaos and fxconnect (release preset, scripts/setup.sh), starts a
# three-node cluster (scripts/kafka.sh start --brokers 3, state in $FXC_BUILD/kafka3-chaos) and
# Toxiproxy (scripts/toxiproxy.sh, state in $FXC_BUILD/toxiproxy-chaos), and stops both at the
# end. The whole output is also kept in $FXC_BUILD/chaos/<UTC time>.log.
# Env: FXC_KAFKA3_BOOTSTRAP (+ _PROXIED, _UPSTREAMS, _DIR) and FXC_TOXIPROXY_URL to use running ones.
set -euo pipefail

SCRIPTS="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=scripts/versions.sh
source "$SCRIPTS/versions.sh"
# shellcheck source=scripts/lib.sh
source "$SCRIPTS/lib.sh"
cd "$FXC_ROOT"

log() { printf 'chaos: %s\n' "$*" >&2; }

FXC_SETUP_NO_BUILD=1 "$SCRIPTS/setup.sh" >&2
cmake --preset release >/dev/null
cmake --build --preset release --target fxc_chaos fxconnect_cli >&2

trap 'fxc_stop_private_kafka3; fxc_stop_private_toxiproxy' EXIT
log "a three-node cluster and Toxiproxy"
fxc_private_kafka3 chaos
fxc_private_toxiproxy chaos
log "cluster $FXC_KAFKA3_BOOTSTRAP, proxied $FXC_KAFKA3_PROXIED, Toxiproxy $FXC_TOXIPROXY_URL"

mkdir -p "$FXC_BUILD/chaos"
record="$FXC_BUILD/chaos/$(date -u +%Y%m%dT%H%M%SZ).log"
log "output also in $record"
set +e
"$FXC_ROOT/build/bin/fxc_chaos" "$@" 2>&1 | tee "$record"
code="${PIPESTATUS[0]}"
set -e
exit "$code"
