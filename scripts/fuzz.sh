#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS] [TARGET...] -- builds the libFuzzer targets (CMake preset fuzz: clang,
# -fsanitize=fuzzer,address,undefined, in build/fuzz) and runs each TARGET for SECONDS (default
# 60), one after another, under nice. TARGETs (default: all) are the names of test/fuzz/<name>_fuzz.cc:
#   config          the connector config loader with ${} interpolation
#   intake          a consumed request (headers + body) through the request state machine and the
#                   in-flight bound to its one outcome
#   trace_context   traceparent / tracestate / uber-trace-id, extract and inject
#   engine          the engine simulator's process definitions and templates
#   http_request    the HTTP endpoint's request parsing and answer
# Each runs on its working corpus build/fuzz/corpus/<target> (the seeds of
# test/fuzz/corpus/<target> copied in; what the fuzzer finds is kept there across runs, never in
# the repo) with test/fuzz/<target>.dict when present, and prints one line on stdout:
#   fuzz: <target> runs=<executions> crashes=<n> seconds=<s>
# runs = libFuzzer's stat::number_of_executed_units (-print_final_stats=1). libFuzzer stops at
# the first crash (also a leak, a timeout of 25 s for one input, or 2 GB of memory), so crashes
# is 0 or 1 per run; its input is kept under build/fuzz/artifacts/<target>/ (reproduce:
# build/fuzz/bin/fuzz_<target> <file>). The full log is build/fuzz/logs/<target>.log; after a
# crash its end goes to stderr. Exit status: non-zero if any target crashed or failed to run.
# Env vars:
#   FXC_FUZZ_ARGS     more libFuzzer options for every target (e.g. "-runs=1000000 -seed=1")
#   FXC_FUZZ_NO_BUILD=1  run what build/fuzz has, without configuring and building
# Needs Debian's clang, libclang-rt-14-dev and llvm (FXC_APT_PACKAGES; scripts/setup.sh).
set -euo pipefail

SCRIPTS="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=scripts/versions.sh
source "$SCRIPTS/versions.sh"
cd "$FXC_ROOT"

log() { printf 'fuzz: %s\n' "$*" >&2; }
die() { printf 'fuzz: ERROR: %s\n' "$*" >&2; exit 2; }

seconds=60
if [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then
  seconds="$1"
  shift
fi
all=()
for f in test/fuzz/*_fuzz.cc; do
  f="${f##*/}"
  all+=("${f%_fuzz.cc}")
done
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all[@]}")
for t in "${targets[@]}"; do
  [[ " ${all[*]} " == *" $t "* ]] || die "unknown target '$t'; targets: ${all[*]}"
done

FUZZ_DIR="$FXC_ROOT/build/fuzz"  # the preset's binaryDir
if [[ "${FXC_FUZZ_NO_BUILD:-0}" != 1 ]]; then
  log "configuring and building (preset fuzz, $FUZZ_DIR)"
  cmake --preset fuzz >/dev/null
  nice cmake --build "$FUZZ_DIR" --target "${targets[@]/#/fuzz_}" >&2
fi

# UBSan findings abort already (-fno-sanitize-recover); this adds their stack.
export UBSAN_OPTIONS="print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
# shellcheck disable=SC2206  # word splitting of the extra options is wanted
extra=(${FXC_FUZZ_ARGS:-})
status=0
for t in "${targets[@]}"; do
  bin="$FUZZ_DIR/bin/fuzz_$t"
  [[ -x "$bin" ]] || die "$bin is missing (build preset fuzz)"
  corpus="$FUZZ_DIR/corpus/$t"
  artifacts="$FUZZ_DIR/artifacts/$t"
  logfile="$FUZZ_DIR/logs/$t.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname -- "$logfile")"
  cp -n test/fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
  dict=()
  [[ -f "test/fuzz/$t.dict" ]] && dict=("-dict=test/fuzz/$t.dict")
  stamp="$FUZZ_DIR/logs/$t.start"
  touch "$stamp"
  start=$SECONDS
  rc=0
  nice "$bin" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "${dict[@]}" "${extra[@]}" "$corpus" >"$logfile" 2>&1 || rc=$?
  elapsed=$((SECONDS - start))
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$logfile" | tail -n 1)"
  mapfile -t found < <(find "$artifacts" -type f -newer "$stamp")
  crashes=${#found[@]}
  if ((rc != 0 && crashes == 0)); then
    crashes=1  # died without leaving an input (killed, or an error before fuzzing)
  fi
  echo "fuzz: $t runs=${runs:-0} crashes=$crashes seconds=$elapsed"
  if ((crashes > 0)); then
    status=1
    log "$t failed (exit $rc); the end of $logfile:"
    tail -n 60 "$logfile" >&2
    for f in "${found[@]}"; do log "artifact $f (reproduce: $bin $f)"; done
  fi
done
exit "$status"
