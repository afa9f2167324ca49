#!/usr/bin/env bash
# scripts/test-builds.sh DIR -- the CPU-bound steps of scripts/test.sh that need no service:
# scripts/lint.sh, then the builds of the asan, tsan and fuzz presets (each unless its
# FXC_TEST_NO_ASAN / _TSAN / _FUZZ is 1). For each step it writes DIR/<step>.log and, when
# the step ends, DIR/<step>.rc (its exit status) and a line in DIR/times (status and seconds).
# It does not stop at a failed step.
#
# Why a script of its own: scripts/test.sh starts it in the background at the lowest CPU
# priority (nice 19) while the service-backed tiers run. Those tiers mostly wait (on brokers,
# on fault timeouts), so the builds take the idle CPU; the tests keep priority, a gentler load
# than the two busy loops every integration test must already pass under. Run one after the
# other, the builds and those tiers took longer than CI's 90 minutes on a slow machine.
set -uo pipefail

SCRIPTS="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=scripts/versions.sh
source "$SCRIPTS/versions.sh"
cd "$FXC_ROOT"

out="${1:?usage: scripts/test-builds.sh DIR}"
mkdir -p "$out"

step() {  # step NAME COMMAND...: runs COMMAND with its output in $out/NAME.log
  local name="$1" rc=0 start=$SECONDS
  shift
  "$@" >"$out/$name.log" 2>&1 || rc=$?
  echo "$rc" >"$out/$name.rc"
  echo "background step $name: exit status $rc after $((SECONDS - start)) s" >>"$out/times"
}
build_preset() { cmake --preset "$1" >/dev/null && cmake --build --preset "$1"; }

step lint "$SCRIPTS/lint.sh"
[[ "${FXC_TEST_NO_ASAN:-0}" == 1 ]] || step asan-build build_preset asan
[[ "${FXC_TEST_NO_TSAN:-0}" == 1 ]] || step tsan-build build_preset tsan
[[ "${FXC_TEST_NO_FUZZ:-0}" == 1 ]] || step fuzz-build build_preset fuzz
exit 0
