#!/usr/bin/env bash
# scripts/bench.sh -- fxconnect's figures, measured in ONE run on one local broker (never pass/fail).
#   raw_msgs_per_s            bench/raw_relay: a minimal librdkafka consume → produce loop, same
#                             producer settings (idempotent, acks=all), copying key and headers
#   echo_msgs_per_s, echo_ratio   fxconnect with the echo handler (max_in_flight 5000, everything
#                             else at its defaults); ratio = echo/raw; 6 partitions. The raw loop
#                             and the echo run alternate FXC_BENCH_PAIRS times (3): the pair with
#                             the median ratio gives these rows, echo_ratio_pairs lists every ratio
#   cpu_us_per_msg, cpu_ratio, peak_rss_mb   of that fxconnect process (its whole life, start-up
#                             included); cpu_ratio = its CPU per message / the raw loop's
#   echo_threads, raw_threads of those two processes, their busiest threads over their life
#                             (echo_life_s, raw_life_s): [name, seconds on a CPU, seconds runnable
#                             but waiting for one] (/proc schedstat, read by fxc_bench)
#   echo_broker_cpu_us_per_msg, raw_broker_cpu_us_per_msg   the broker's CPU per message while
#                             each of those two ran (/proc: what serving it cost the broker)
#   echo_nodecode_*           the same with kafka.decode_thread: false (records copied into
#                             requests on the loop thread instead of the decoder's: kafka/decoder.h)
#   echo_nowake_*             the same with kafka.fetch_wakeup: false (librdkafka 2.0.2's fetch
#                             stall left as it is: kafka/fetch_waker.h)
#   echo_prefetch64_*         the same with librdkafka's own prefetch bound (queued.max.messages.kbytes
#                             65536 instead of fxconnect's 16384): more memory
#   echo_traced_msgs_per_s, tracing_ratio   the echo run with tracing on (sampler always, spans to
#                             a local Jaeger); ratio = traced / untraced
#   slow_one_partition_per_s  echo with `delay: 50ms`, ONE partition, 10,000 keys
#   http_msgs_per_s, http_cpu_us_per_msg, http_peak_rss_mb   each request makes one HTTP call
#                             (bench/http-connector, `forward` through `systems:`) to a local stub
#                             answering after 50 ms (bench/http_stub), ONE partition, 10,000 keys,
#                             max_in_flight 5000 (the system's: 1000); CPU and RSS are the connector's
#   onboarding_cpp_*, flow_*  the onboarding conversions (a 200-byte request: date, country list,
#                             minor units, UUID) by the C++ handler (examples/onboarding) and by a
#                             flow (bench/onboarding-flow.yaml: validate + five mapped fields +
#                             reply), 3 partitions, max_in_flight 1000; flow_ratio = flow / C++
#   latency_ms                as the engine sees it (fxconnect engine, open loop at about half of
#                             echo_msgs_per_s): p50, p99, p999; beside it the connector's own share
#                             from its stop line: consume_delay (record timestamp → consumed: the
#                             engine's producer, the broker, the prefetch queue) and end_to_end
#                             (consumed → reply acknowledged: the connector and its producer)
#                             and the simulator's own: send_lag (due → sent: its backlog when its
#                             one thread cannot keep the rate) and reply_delay (the reply's record
#                             timestamp → the simulator took it: the broker and its consumer)
#   latency_sweep             after a warm-up at 1,000/s (not counted: 10 s passes until the
#                             broker's JIT compiler is nearly idle), the same open loop at
#                             1,000/s and at each of FXC_BENCH_LATENCY_RATES
#                             (default 2000 5000 10000 20000), 10 s each: per rate the engine's
#                             p50/p99, the connector's share, and the CPU each process spent per
#                             request (the engine simulator, the connector, the broker: from their
#                             rusage and /proc) with the cores that adds up to at that rate; of
#                             the broker also its JIT and GC threads' CPU and its GC pauses (the
#                             broker runs with Kafka's own start-script JVM settings, GC logged),
#                             and the machine's idle and steal shares (/proc/stat, the worst
#                             100 ms window of steal too);
#                             latency_p99_le_50ms_up_to_per_s = the highest rate measured whose
#                             engine-observed p99 is within 50 ms
# Requests are ~1 KB JSON with the engine's headers. Throughput is counted over the replies' broker
# timestamps (LogAppendTime, first to last), so process start-up and group joins are not in it.
# Prints a table and writes build/bench.json. Unless FXC_KAFKA_BOOTSTRAP names a broker, the bench
# starts its own (build/kafka-bench) on empty storage and drops that storage when it ends (a whole
# run writes a few GB of topics). Env: FXC_BENCH_MESSAGES (200000), FXC_KAFKA_BOOTSTRAP,
#   FXC_BENCH_ONLY=latency      only the raw loop, the echo run (for its rate) and the latency runs
#   FXC_BENCH_ONLY=echo         only the raw loop and the echo run: their figures and ratios (quick,
#                               to see how the two move across runs), the CPU seconds each program
#                               used per second, and each one's busiest threads: seconds on a CPU
#                               and seconds runnable but waiting for one (from /proc, fxc_bench)
#   FXC_BENCH_IN_FLIGHT         the echo run's max_in_flight (5000)
#   FXC_BENCH_PAIRS             how many raw loop + echo pairs to run (3; 1 for the old single pair)
#   FXC_BENCH_KAFKA_PROPERTIES  more librdkafka properties for every connector run, as YAML map
#                               entries (e.g. "queued.max.messages.kbytes: '24576'"): what a
#                               changed default would give, measured before changing it
#   FXC_BENCH_KAFKA_SETTINGS    one more `kafka:` key of every connector run, as a YAML line
#                               (e.g. "decode_thread: false"): the same for fxconnect's own settings
#   FXC_BENCH_PROFILE=1         the first echo run under `perf record -e cpu-clock` (Debian's linux-perf);
#                               prints the top shared objects and symbols of the connector (its
#                               figures then include perf's own cost)
#   FXC_BENCH_PROFILE=callgrind the first echo run under valgrind's callgrind: the instructions the
#                               connector executed, per request (machine noise does not move that
#                               count; 50 times slower: with FXC_BENCH_MESSAGES=20000)
#   FXC_BENCH_PROFILE_OPTS      more options for the profiler of FXC_BENCH_PROFILE, split at spaces:
#                               for perf e.g. "-F 999 --call-graph dwarf,16384" (call chains, for
#                               `perf report --children`), for callgrind e.g. "--cache-sim=yes"
#                               (simulated cache misses too: D1mr, D1mw, first-level data read and
#                               write misses, printed with the instructions) or "--separate-threads=yes"
#                               (a file and a count per thread; thread 01 is the loop)
set -euo pipefail

SCRIPTS="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=scripts/versions.sh
source "$SCRIPTS/versions.sh"
# shellcheck source=scripts/lib.sh
source "$SCRIPTS/lib.sh"
cd "$FXC_ROOT"
BIN="$FXC_ROOT/build/bin"
N="${FXC_BENCH_MESSAGES:-200000}"
SLOW_N=20000
PAIRS="${FXC_BENCH_PAIRS:-3}"
if ! [[ "$PAIRS" =~ ^[1-9][0-9]*$ ]]; then  # checked before any service starts
  printf 'bench: FXC_BENCH_PAIRS must be a whole number from 1 up (got %s)\n' "'$PAIRS'" >&2
  exit 2
fi
DIR="$FXC_BUILD/bench"
RUN="$(date +%s)"
mkdir -p "$DIR"

connector=""
stub=""
sampler=""  # a latency run's steal sampler (start_steal_sampler)
bench_kafka=""  # our own broker's directory, when we start one
cleanup() {
  if [[ -n "$sampler" ]]; then kill -TERM "$sampler" 2>/dev/null || true; fi
  if [[ -n "$connector" ]]; then kill -TERM "$connector" 2>/dev/null || true; wait "$connector" 2>/dev/null || true; fi
  if [[ -n "$stub" ]]; then kill -TERM "$stub" 2>/dev/null || true; wait "$stub" 2>/dev/null || true; fi
  fxc_stop_private_jaeger
  fxc_stop_private_kafka
  # The bench's own broker keeps nothing: a whole run writes gigabytes of topics (each run its
  # own, named by RUN); kept, a day of runs filled the disk (tens of GB) that CI then ran out of.
  if [[ -n "$bench_kafka" ]]; then rm -rf -- "$bench_kafka/data"; fi
}
trap cleanup EXIT
"$SCRIPTS/setup.sh" >&2
# The broker's JVM as Kafka's own start scripts run it (kafka-server-start.sh: a 1 GB heap;
# kafka-run-class.sh: G1 with a 20 ms pause goal, marking from 35 % occupancy) instead of
# kafka.sh's test default (-Xms256m, the JVM's G1 defaults). Its GC pauses and the CPU time each
# collection took are logged (BROKER_GC_LOG) for the latency runs. FXC_KAFKA_JVM_OPTS set by the
# caller wins.
BROKER_GC_LOG="$DIR/broker-gc.log"
rm -f -- "$BROKER_GC_LOG"*
export FXC_KAFKA_JVM_OPTS="${FXC_KAFKA_JVM_OPTS:--Xms1g -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
-XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Xlog:gc,gc+cpu:file=$BROKER_GC_LOG:uptime:filecount=0}"
# Our own broker starts on empty storage (a leftover from a killed run is stopped and dropped).
# A broker given by FXC_KAFKA_BOOTSTRAP is left alone, with the run's topics on it.
if [[ -z "${FXC_KAFKA_BOOTSTRAP:-}" ]]; then
  bench_kafka="$FXC_BUILD/kafka-bench"
  FXC_KAFKA_DIR="$bench_kafka" "$SCRIPTS/kafka.sh" stop >/dev/null 2>&1 || true
  rm -rf -- "$bench_kafka/data"
fi
fxc_private_kafka bench
fxc_private_jaeger bench
B="$FXC_KAFKA_BOOTSTRAP"
say() { printf 'bench: %s\n' "$*" >&2; }

# cpu_s PID: the CPU seconds (user + system) process PID has used so far; 0 when there is none.
cpu_s() {
  local stat
  if [[ -z "$1" ]] || ! stat="$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null)"; then
    echo 0
    return
  fi
  # After "pid (comm) ", utime and stime (fields 14 and 15 of proc(5)) are the 12th and 13th.
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($12 + $13) / hz }' <<<"$stat"
}
# delta A B: B - A, for CPU seconds read with cpu_s.
delta() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", b - a }'; }
# The private broker's java process (its CPU is part of every request's cost); none with FXC_KAFKA_BOOTSTRAP.
broker_pid=""
if [[ -n "${FXC_PRIVATE_KAFKA_DIR:-}" && -s "$FXC_PRIVATE_KAFKA_DIR/pid" ]]; then broker_pid="$(<"$FXC_PRIVATE_KAFKA_DIR/pid")"; fi

# measured TOPIC COUNT LOG CMD...: `fxc_bench measure` of CMD (their stderr to LOG) until COUNT
# replies on TOPIC; prints its JSON line with the broker's CPU per message over the run added as
# broker_cpu_us_per_msg: what serving that run cost the broker (the program's fetches and
# produces, fxc_bench's fetches of the replies; 0 without our own broker). A program that fetches
# or produces in smaller batches costs the broker more.
measured() {
  local topic=$1 count=$2 log=$3 before out after
  shift 3
  before="$(cpu_s "$broker_pid")"
  out="$("$BIN/fxc_bench" measure "$B" "$topic" "$count" 300 -- "$@" 2>"$log")" || return
  after="$(cpu_s "$broker_pid")"
  sed "s/}\$/,\"broker_cpu_us_per_msg\":$(awk -v a="$before" -v b="$after" -v n="$count" 'BEGIN { printf "%.2f", n ? (b - a) * 1e6 / n : 0 }')}/" <<<"$out"
}

# connector_config NAME INPUT REPLY DELAY MAX_IN_FLIGHT [GROUP] → path of an echo connector config
connector_config() {
  local path="$DIR/$1.yaml"
  cat >"$path" <<YAML
kafka:
  bootstrap: $B
  group_id: bench-${6:-$1}-$RUN
  properties: { auto.offset.reset: earliest${FXC_BENCH_KAFKA_PROPERTIES:+, $FXC_BENCH_KAFKA_PROPERTIES} }${FXC_BENCH_KAFKA_SETTINGS:+
  $FXC_BENCH_KAFKA_SETTINGS}
input:
  topic: $2
reply:
  topic: $3
handler:
  name: echo
  options: { delay: $4 }
processing:
  max_in_flight: $5
YAML
  echo "$path"
}

# raw_run NAME → the raw loop's figures (JSON) on its own topics
raw_run() {
  "$BIN/fxc_bench" preload "$B" "bench.$1.in.$RUN" 6 "$N" 10000 1024
  measured "ai.flowx.dev.engine.receive.bench.$1.$RUN" "$N" "$DIR/$1.log" \
    "$BIN/raw_relay" "$B" "bench.$1.in.$RUN" "ai.flowx.dev.engine.receive.bench.$1.$RUN" "bench-$1-$RUN"
}

# echo_run NAME PARTITIONS COUNT DELAY MAX_IN_FLIGHT [CONFIG_EDIT]: preloads COUNT requests, runs an
# echo connector over them (CONFIG_EDIT: a shell function that amends its config file) and prints
# fxc_bench's figures. The connector's log is $DIR/NAME.log.
echo_run() {
  local name=$1 partitions=$2 count=$3 delay=$4 mif=$5 edit=${6:-} cfg
  "$BIN/fxc_bench" preload "$B" "bench.$name.in.$RUN" "$partitions" "$count" 10000 1024
  cfg="$(connector_config "$name" "bench.$name.in.$RUN" "ai.flowx.dev.engine.receive.bench.$name.$RUN" "$delay" "$mif")"
  if [[ -n "$edit" ]]; then "$edit" "$cfg"; fi
  local wrap=()
  if [[ "$name" == echo ]]; then
    # shellcheck disable=SC2206  # split on purpose: several options in one variable
    local extra=(${FXC_BENCH_PROFILE_OPTS:-})
    case "${FXC_BENCH_PROFILE:-0}" in
      1) wrap=("$(command -v perf)" record -q -e cpu-clock -F 1999 "${extra[@]}" -o "$DIR/echo.perf.data" --) ;;
      callgrind)
        rm -f -- "$DIR"/echo.callgrind.out*  # (with --separate-threads=yes, one file per thread)
        wrap=("$(command -v valgrind)" --tool=callgrind "--callgrind-out-file=$DIR/echo.callgrind.out" "${extra[@]}")
        ;;
    esac
  fi
  measured "ai.flowx.dev.engine.receive.bench.$name.$RUN" "$count" "$DIR/$name.log" \
    "${wrap[@]}" "$BIN/fxconnect" run "$cfg"
}
trace_always() { printf 'observability:\n  tracing:\n    otlp_endpoint: %s\n    sampler: always\n' "$FXC_JAEGER_OTLP" >>"$1"; }
# (a bound given by FXC_BENCH_KAFKA_PROPERTIES is taken out first: one key, not two)
prefetch_64mb() { sed -i -E "s/, queued\.max\.messages\.kbytes: '?[0-9]+'?//; s/auto.offset.reset: earliest/auto.offset.reset: earliest, queued.max.messages.kbytes: '65536'/" "$1"; }
no_wakeup() { sed -i "s/^  group_id: .*/&\n  fetch_wakeup: false/" "$1"; }
no_decode_thread() { sed -i "s/^  group_id: .*/&\n  decode_thread: false/" "$1"; }

if [[ "${FXC_BENCH_PROFILE:-0}" == 1 ]] && ! command -v perf >/dev/null; then
  say "FXC_BENCH_PROFILE=1 needs perf: apt-get install linux-perf"
  exit 2
fi
if [[ "${FXC_BENCH_PROFILE:-0}" == callgrind ]] && ! command -v valgrind >/dev/null; then
  say "FXC_BENCH_PROFILE=callgrind needs valgrind: apt-get install valgrind"
  exit 2
fi
IN_FLIGHT="${FXC_BENCH_IN_FLIGHT:-5000}"
# The raw loop and the echo run, alternately, PAIRS times; the pair with the median ratio gives
# the figures (its raw and echo rows, CPU and RSS) and all ratios are printed. On these shared
# machines one pair's ratio moved from 0.42 to 0.97 between runs of one binary within an hour
# (docs/performance.md, "How steady"); the median of three is the figure to compare.
pairs=()
for ((i = 1; i <= PAIRS; i++)); do
  sfx=$([[ $i == 1 ]] || echo "$i")
  say "raw loop ($i of $PAIRS): $N messages"
  raw_i="$(raw_run "raw$sfx")"
  say "raw: $raw_i"
  say "fxconnect echo ($i of $PAIRS): $N messages, max_in_flight $IN_FLIGHT"
  echo_i="$(echo_run "echo$sfx" 6 "$N" 0ms "$IN_FLIGHT")"
  say "echo: $echo_i"
  pairs+=("$raw_i" "$echo_i")
done
# → line 1: the median pair's raw figures; line 2: its echo figures; line 3: every pair's ratio
median_pair="$(python3 - "${pairs[@]}" <<'PY'
import json, sys
runs = [json.loads(a) for a in sys.argv[1:]]
pairs = [(e["msgs_per_s"] / r["msgs_per_s"] if r["msgs_per_s"] else 0, r, e) for r, e in zip(runs[::2], runs[1::2])]
ratios = [round(p[0], 3) for p in pairs]
mid = sorted(pairs, key=lambda p: p[0])[(len(pairs) - 1) // 2]
print(json.dumps(mid[1]))
print(json.dumps(mid[2]))
print(json.dumps(ratios))
PY
)"
raw="$(sed -n 1p <<<"$median_pair")"
echo_="$(sed -n 2p <<<"$median_pair")"
ratios="$(sed -n 3p <<<"$median_pair")"
say "echo_ratio of each pair: $ratios; the median pair's figures are reported"
if [[ "${FXC_BENCH_PROFILE:-0}" == callgrind ]]; then
  # One file, or with FXC_BENCH_PROFILE_OPTS=--separate-threads=yes one per thread
  # (echo.callgrind.out-01 is the loop: the main thread), summed here and listed.
  files=()
  for f in "$DIR"/echo.callgrind.out "$DIR"/echo.callgrind.out-*; do
    if [[ -s "$f" ]]; then files+=("$f"); fi
  done
  totals="$(sed -n 's/^totals: *//p' "${files[@]}" | awk '{ for (i = 1; i <= NF; i++) t[i] += $i; if (NF > n) n = NF }
    END { for (i = 1; i <= n; i++) printf "%s%d", (i > 1 ? " " : ""), t[i] }')"
  total="${totals%% *}"  # Ir, the first event
  say "callgrind: the echo connector executed $total instructions for $N requests, $((total / N)) per request" \
    "(start-up and stop included; $DIR/echo.callgrind.out*, callgrind_annotate reads them)"
  # Every event counted, by name (more than Ir with FXC_BENCH_PROFILE_OPTS=--cache-sim=yes).
  say "callgrind: $(sed -n 's/^events: *//p' "${files[0]}") = $totals"
  if ((${#files[@]} > 1)); then
    for f in "${files[@]}"; do
      ir="$(sed -n 's/^totals: *//p' "$f")"
      say "callgrind: thread ${f##*-}: ${ir%% *} instructions"
    done
  fi
fi
if [[ "${FXC_BENCH_PROFILE:-0}" == 1 ]]; then
  say "profile of the echo connector ($DIR/echo.perf.data): shared objects, then symbols"
  # (|| true: head ends the pipe early, which pipefail would count as a failure; -g none: flat,
  # also when FXC_BENCH_PROFILE_OPTS recorded call chains; the connector's own threads: the loop,
  # the consumer's decoder and the fetch waker, not librdkafka's rdk:*)
  perf report -i "$DIR/echo.perf.data" -g none --no-children --comm fxconnect,fxc-decoder,fxc-fetchwaker --sort dso 2>/dev/null | grep -v '^#' | grep -v '^$' |
    head -8 || true
  perf report -i "$DIR/echo.perf.data" -g none --no-children --comm fxconnect,fxc-decoder,fxc-fetchwaker --sort symbol 2>/dev/null | grep -v '^#' | grep -v '^$' |
    cut -c1-140 | head -20 || true
fi
if [[ "${FXC_BENCH_ONLY:-}" == echo ]]; then
  python3 - "$raw" "$echo_" "$ratios" <<'PY'
import json, sys
raw, echo = (json.loads(a) for a in sys.argv[1:3])
print(f"echo_ratio_pairs {' '.join(str(r) for r in json.loads(sys.argv[3]))} (the median pair below)")
print(f"raw_msgs_per_s {raw['msgs_per_s']:.0f} (cpu {raw['cpu_us_per_msg']} us/msg)")
print(f"echo_msgs_per_s {echo['msgs_per_s']:.0f} (cpu {echo['cpu_us_per_msg']} us/msg, peak RSS {echo['peak_rss_mb']} MB)")
print(f"echo_ratio {echo['msgs_per_s'] / raw['msgs_per_s']:.3f}  cpu_ratio {echo['cpu_us_per_msg'] / raw['cpu_us_per_msg']:.3f}")
# CPU seconds each program used per second of its run: when both got the same, the rate followed
# the CPU per message and echo_ratio is 1 / cpu_ratio (docs/performance.md).
print(f"cpu_s_per_s raw {raw['cpu_s'] / raw['span_s']:.2f} echo {echo['cpu_s'] / echo['span_s']:.2f}")
# What serving each run cost the broker, which shares the 2 cores with it.
print(f"broker_cpu_us_per_msg raw {raw.get('broker_cpu_us_per_msg', 0)} echo {echo.get('broker_cpu_us_per_msg', 0)}")
# Each program's busiest threads over its life (fxc_bench, from /proc schedstat): seconds on a
# CPU / seconds runnable but waiting for one. A thread busy (run + wait) for most of life_s was
# never idle: it set the rate.
for name, run in (("raw", raw), ("echo", echo)):
    threads = ", ".join(f"{t[0]} {t[1]:.2f}/{t[2]:.2f}" for t in run.get("threads", []))
    print(f"threads {name} (life {run.get('life_s', 0):.2f} s; run/wait s): {threads}")
PY
  exit 0
fi
# The other throughput runs (left out by FXC_BENCH_ONLY=latency), up to the latency runs.
if [[ "${FXC_BENCH_ONLY:-}" != latency ]]; then
say "fxconnect echo, kafka.fetch_wakeup false: $N messages"
nowake="$(echo_run nowake 6 "$N" 0ms 5000 no_wakeup)"
say "nowake: $nowake"
say "fxconnect echo, kafka.decode_thread false: $N messages"
nodecode="$(echo_run nodecode 6 "$N" 0ms 5000 no_decode_thread)"
say "nodecode: $nodecode"
say "fxconnect echo, traced (sampler always): $N messages"
traced="$(echo_run traced 6 "$N" 0ms 5000 trace_always)"
say "traced: $traced"
say "fxconnect echo, prefetch 64 MB: $N messages"
echo64="$(echo_run echo64 6 "$N" 0ms 5000 prefetch_64mb)"
say "echo64: $echo64"
say "fxconnect echo 50ms, one partition, 10000 keys: $SLOW_N messages"
slow="$(echo_run slow 1 "$SLOW_N" 50ms 5000)"
say "slow: $slow"

# 5,000 calls in flight are 5,000 connections (HTTP/1.1) on each side: more descriptors than the
# usual soft limit of 1024.
ulimit -n "$(ulimit -Hn)"
HTTP_N=$((SLOW_N * 2))
say "fxconnect HTTP: one call per request to a stub answering after 50 ms, one partition, 10000 keys: $HTTP_N messages"
"$BIN/http_stub" 0 50 >"$DIR/http_stub.out" 2>&1 &
stub=$!
for _ in $(seq 1 100); do grep -q '^port=' "$DIR/http_stub.out" && break; sleep 0.1; done
stub_port="$(sed -n 's/^port=//p' "$DIR/http_stub.out")"
"$BIN/fxc_bench" preload "$B" "bench.http.in.$RUN" 1 "$HTTP_N" 10000 1024
http_cfg="$(connector_config http "bench.http.in.$RUN" "ai.flowx.dev.engine.receive.bench.http.$RUN" 0ms 5000)"
sed -i 's/^  name: echo$/  name: forward/; s/^  options: { delay: 0ms }$/  options: { system: stub, path: \/accounts }/' "$http_cfg"
# 5,000 requests in flight, at most 1,000 of them calling at once (the system's bulkhead; the rest
# wait for a slot in order): over HTTP/1.1 each call in progress holds a connection, and libcurl
# 7.88 looks for a reusable one by walking the host's pool, per transfer. With 5,000 connections
# that walk dominated (about 2,000 replies/s at ~390 CPU us per message, against ~5,600/s at
# ~140 us with 1,000; docs/performance.md). 1,000 calls of 50 ms allow 20,000 calls/s.
cat >>"$http_cfg" <<YAML
systems:
  stub:
    endpoints: [ "http://127.0.0.1:$stub_port" ]
    max_in_flight: 1000
    timeout: 10s
YAML
http="$("$BIN/fxc_bench" measure "$B" "ai.flowx.dev.engine.receive.bench.http.$RUN" "$HTTP_N" 300 -- \
  "$BIN/http-connector" run "$http_cfg" 2>"$DIR/http.log")"
kill -TERM "$stub" 2>/dev/null || true
wait "$stub" 2>/dev/null || true
stub=""
say "http: $http"

# onboarding_run NAME PROGRAM CONFIG_TAIL: the onboarding request preloaded $N times, PROGRAM run
# with a config of kafka/input/reply plus CONFIG_TAIL (a file), fxc_bench's figures printed.
onboarding_run() {
  local name=$1 program=$2 tail=$3 cfg="$DIR/$1.yaml"
  "$BIN/fxc_bench" preload "$B" "bench.$name.in.$RUN" 3 "$N" 10000 0 bench/onboarding-request.json
  cat >"$cfg" <<YAML
kafka:
  bootstrap: $B
  group_id: bench-$name-$RUN
  properties: { auto.offset.reset: earliest${FXC_BENCH_KAFKA_PROPERTIES:+, $FXC_BENCH_KAFKA_PROPERTIES} }
input:
  topic: bench.$name.in.$RUN
reply:
  topic: ai.flowx.dev.engine.receive.bench.$name.$RUN
processing:
  max_in_flight: 1000
YAML
  sed "s#\.\./examples/#$FXC_ROOT/examples/#" "$tail" >>"$cfg"
  "$BIN/fxc_bench" measure "$B" "ai.flowx.dev.engine.receive.bench.$name.$RUN" "$N" 300 -- \
    "$BIN/$program" run "$cfg" 2>"$DIR/$name.log"
}
printf 'handler:\n  name: onboarding\n' >"$DIR/onboarding-cpp-tail.yaml"
say "onboarding conversions, C++ handler: $N messages"
onboarding_cpp="$(onboarding_run onboarding-cpp onboarding-connector "$DIR/onboarding-cpp-tail.yaml")"
say "onboarding-cpp: $onboarding_cpp"
say "onboarding conversions, flow (validate + 5 fields + reply): $N messages"
onboarding_flow="$(onboarding_run onboarding-flow fxconnect bench/onboarding-flow.yaml)"
say "onboarding-flow: $onboarding_flow"
fi

rate="$(python3 -c "import json,sys; print(max(100, int(json.loads(sys.argv[1])['msgs_per_s'] / 2)))" "$echo_")"
instances=$((rate * 10))
cat >"$DIR/latency-process.yaml" <<YAML
process: bench_latency
sample_data: { customer: { id: C-1, name: Ana Pop, padding: "$(printf 'x%.0s' $(seq 1 900))" } }
nodes:
  - send: request
    topic: bench.latency.in.$RUN
    message: { customer: "\${customer}", seq: "\${@index}" }
  - receive: reply
    topic: ai.flowx.dev.engine.receive.bench.latency.$RUN
    key: reply
YAML
"$BIN/fxconnect" engine prepare "$DIR/latency-process.yaml" >/dev/null

# quiet_broker: waits (at most 120 s) until the broker uses less than a fifth of a core, and says how
# long that took, so that no latency run measures work a run before it left to the broker. (In the
# runs of 2026-12-01 it was quiet within a second each time: the broker's CPU in the table is the
# run's own.)
quiet_broker() {
  [[ -n "$broker_pid" ]] || return 0
  local before after waited=0
  before="$(cpu_s "$broker_pid")"
  while ((waited < 120)); do
    sleep 1
    waited=$((waited + 1))
    after="$(cpu_s "$broker_pid")"
    if awk -v d="$(delta "$before" "$after")" 'BEGIN { exit !(d < 0.2) }'; then break; fi
    before="$after"
  done
  say "broker quiet after ${waited} s (last second: $(delta "$before" "$after") s of CPU)"
}

# broker_split: the broker's CPU seconds so far, "JIT GC ALL": its JIT compiler threads (C1, C2),
# its garbage collector's threads (G1's) and the whole process; "0 0 0" without a broker of ours.
broker_split() {
  [[ -n "$broker_pid" ]] || { echo "0 0 0"; return; }
  python3 - "$broker_pid" <<'PY'
import os, sys
pid, hz = sys.argv[1], os.sysconf("SC_CLK_TCK")
def cpu(path):  # utime + stime, fields 14 and 15 of proc(5)
    fields = open(path).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / hz
jit = gc = 0.0
for tid in os.listdir(f"/proc/{pid}/task"):
    try:
        comm, c = open(f"/proc/{pid}/task/{tid}/comm").read(), cpu(f"/proc/{pid}/task/{tid}/stat")
    except OSError:  # the thread ended meanwhile
        continue
    if comm.startswith(("C1 CompilerThre", "C2 CompilerThre")):
        jit += c
    elif comm.startswith(("GC Thread", "G1 ")):
        gc += c
print(f"{jit:.2f} {gc:.2f} {cpu(f'/proc/{pid}/stat'):.2f}")
PY
}

# start_steal_sampler FILE: starts in the background (its pid in `sampler`) a python process that,
# until SIGTERM, reads /proc/stat every 100 ms and then writes to FILE the largest share of the
# machine's time the hypervisor gave to other guests (steal) in one such window.
start_steal_sampler() {
  python3 - "$1" <<'PY' &
import json, signal, sys, time
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
def read():  # user nice system idle iowait irq softirq steal, in ticks of all cores together
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:9]]
worst, prev = 0.0, read()
while not stop:
    time.sleep(0.1)
    cur = read()
    ticks = [b - a for a, b in zip(prev, cur)]
    prev = cur
    if sum(ticks):
        worst = max(worst, ticks[7] / sum(ticks))
json.dump({"steal_max_100ms_pct": round(100 * worst, 1)}, open(sys.argv[1], "w"))
PY
  sampler=$!
}

# latency_run NAME RATE INSTANCES: a fresh connector (its stop line describes this run only), the
# engine in open loop against it, the summary in $DIR/NAME.json, and in $DIR/NAME-cpu.json the
# CPU seconds the engine, the connector and the broker spent while the engine ran (the broker's
# also by JIT compiler and garbage collector), the broker's GC pauses and the machine's idle and
# steal shares in that time.
latency_run() {
  local cfg c0 split0 gc_lines=0 engine_cpu machine0
  # One group for every run: each starts where the one before committed.
  cfg="$(connector_config "$1" "bench.latency.in.$RUN" "ai.flowx.dev.engine.receive.bench.latency.$RUN" 0ms 5000 latency)"
  quiet_broker
  "$BIN/fxconnect" run "$cfg" 2>"$DIR/$1.log" &
  connector=$!
  for _ in $(seq 1 300); do grep -q "partitions assigned" "$DIR/$1.log" && break; sleep 0.1; done
  c0="$(cpu_s "$connector")"
  split0="$(broker_split)"
  [[ ! -f "$BROKER_GC_LOG" ]] || gc_lines="$(wc -l <"$BROKER_GC_LOG")"
  machine0="$(head -n 1 /proc/stat)"
  start_steal_sampler "$DIR/$1-steal.json"
  # The engine's own CPU from its rusage: python runs it as its only child (output to NAME-engine.txt).
  engine_cpu="$(python3 -c 'import resource, subprocess, sys
subprocess.call(sys.argv[2:], stdout=open(sys.argv[1], "w"), stderr=subprocess.STDOUT)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{r.ru_utime + r.ru_stime:.2f}")' "$DIR/$1-engine.txt" \
    "$BIN/fxconnect" engine run "$DIR/latency-process.yaml" --instances "$3" --rate "$2" --json "$DIR/$1.json")"
  kill -TERM "$sampler"
  wait "$sampler" || true
  sampler=""
  python3 - "$DIR/$1-cpu.json" "$engine_cpu" "$(delta "$c0" "$(cpu_s "$connector")")" "$split0" "$(broker_split)" \
    "$([[ -n "$broker_pid" ]] && echo yes || echo no)" "$BROKER_GC_LOG" "$gc_lines" \
    "$machine0" "$(head -n 1 /proc/stat)" "$DIR/$1-steal.json" <<'PY'
import json, os, re, sys
out, engine, connector, before, after, ours, gc_log, skip, m0, m1, steal = sys.argv[1:]
# The whole machine meanwhile (/proc/stat's first line: user nice system idle iowait irq softirq
# steal): how much of its time was idle, and how much the hypervisor took for other guests (steal).
ticks = [b - a for a, b in zip(map(int, m0.split()[1:9]), map(int, m1.split()[1:9]))]
total = max(1, sum(ticks))
jit, gc, broker = (b - a for a, b in zip(map(float, before.split()), map(float, after.split())))
# The pauses the GC log gained while the engine ran ("GC(7) Pause Young (Normal) ... 12.345ms") and
# the CPU each collection used ("GC(7) User=0.02s Sys=0.00s Real=0.03s").
pauses, gc_cpu_ms, count = {}, {}, 0  # by collection (a G1 cycle's Remark and Cleanup are one)
if os.path.exists(gc_log):
    for line in open(gc_log).read().splitlines()[int(skip):]:
        if m := re.search(r"GC\((\d+)\) Pause .* ([0-9.]+)ms$", line):
            pauses[m.group(1)] = pauses.get(m.group(1), 0) + float(m.group(2))
            count += 1
        elif m := re.search(r"GC\((\d+)\) User=([0-9.]+)s Sys=([0-9.]+)s", line):
            gc_cpu_ms[m.group(1)] = 1000 * (float(m.group(2)) + float(m.group(3)))
longest = max(pauses, key=pauses.get, default=None)
record = {"engine_cpu_s": float(engine), "connector_cpu_s": float(connector), "broker_cpu_s": None,
          "machine_idle_pct": round(100 * (ticks[3] + ticks[4]) / total, 1),
          "machine_steal_pct": round(100 * ticks[7] / total, 1), **json.load(open(steal))}
if ours == "yes":
    record.update({"broker_cpu_s": round(broker, 2), "broker_jit_cpu_s": round(jit, 2),
                   "broker_gc_cpu_s": round(gc, 2)})
    # No GC log (a broker left running by an earlier run, or FXC_KAFKA_JVM_OPTS without -Xlog):
    # the pauses are unknown, not none.
    logged = os.path.exists(gc_log)
    record.update({"broker_gc_pauses": count if logged else None,
                   "broker_gc_pause_total_ms": round(sum(pauses.values()), 1) if logged else None,
                   "broker_gc_pause_max_ms": round(pauses.get(longest, 0), 1) if logged else None,
                   # the CPU the longest collection used, all GC threads together: far below the
                   # pause, its threads waited for a core
                   "broker_gc_pause_max_cpu_ms": round(gc_cpu_ms.get(longest, 0), 1) if logged else None})
json.dump(record, open(out, "w"))
PY
  kill -TERM "$connector"
  wait "$connector" || true
  connector=""
}
# A warm-up first, not counted (latency-warmup-K*.json): a fresh broker's JVM spends the first
# minute or so of this traffic compiling its hot code (about 40 s of JIT compiler CPU on this
# machine: docs/performance.md, "Latency by rate"), which the first runs would pay for. Passes of
# 10 s at 1,000/s until one costs the broker's JIT less than a second of CPU (at most 8; one of
# 20 s with a broker not ours). Then from the lowest rate up, the saturating one last.
rm -f -- "$DIR"/latency-warmup*
if [[ -z "$broker_pid" ]]; then
  say "latency: warm-up, open loop at 1000/s for 20 s (not counted)"
  latency_run latency-warmup-1 1000 20000
else
  for k in 1 2 3 4 5 6 7 8; do
    latency_run "latency-warmup-$k" 1000 10000
    jit="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["broker_jit_cpu_s"])' "$DIR/latency-warmup-$k-cpu.json")"
    say "latency: warm-up pass $k (10 s at 1000/s, not counted): the broker's JIT used $jit s of CPU"
    if awk -v j="$jit" 'BEGIN { exit !(j < 1) }'; then break; fi
  done
fi
say "latency: open loop at 1000/s for 10 s (a rate far from saturation, for comparison)"
latency_run latency-1000 1000 10000
sweep=(latency-1000:1000)  # NAME:RATE of each counted run, in the order run
for r in ${FXC_BENCH_LATENCY_RATES:-2000 5000 10000 20000}; do
  [[ "$r" == 1000 ]] && continue
  say "latency sweep: open loop at $r/s for 10 s"
  latency_run "latency-$r" "$r" $((r * 10))
  sweep+=("latency-$r:$r")
done
say "latency: open loop at $rate/s for 10 s ($instances instances)"
latency_run latency "$rate" "$instances"
sweep+=("latency:$rate")

# The latency figures, per run: build/bench/latency-summary.json (read into bench.json below).
python3 - "$DIR" "$rate" "${sweep[@]}" <<'PY'
import glob, json, re, sys
d, half = sys.argv[1], int(sys.argv[2])
def stop_line(path):
    """The connector's own latency figures from its stop line (ms)."""
    text = open(path).read()
    return {k: float(v) for k, v in re.findall(r"(end_to_end_p\d+_ms|consume_delay_p\d+_ms)=([0-9.]+)", text)}
runs = []
for name, r in (x.split(":") for x in sys.argv[3:]):
    r = int(r)
    lat = json.load(open(f"{d}/{name}.json"))
    node = lat["receive_nodes"]["reply"]["latency_ms"]
    cpu = json.load(open(f"{d}/{name}-cpu.json"))
    n = max(1, lat["instances"])
    us = {k: (round(cpu[f"{k}_cpu_s"] * 1e6 / n, 1) if cpu.get(f"{k}_cpu_s") is not None else None)
          for k in ("engine", "connector", "broker")}
    known = [v for v in us.values() if v is not None]
    runs.append({"name": name, "rate_per_s": r, "timed_out": lat["timed_out"],
                 **{f"{q}_ms": round(node[q], 2) for q in ("p50", "p99", "p999", "max")},
                 "connector_ms": stop_line(f"{d}/{name}.log"),
                 # the simulator's own share: how late its sends went out (its backlog), and each
                 # reply's wait from its record timestamp until the simulator took it
                 "engine_ms": {f"{k}_{q}_ms": round(lat[f"{k}_ms"][q], 2)
                               for k in ("send_lag", "reply_delay") for q in ("p50", "p99")},
                 "cpu_us_per_request": us, "cores_used": round(sum(known) * r / 1e6, 2),
                 # the broker's CPU seconds in its JIT and GC threads, its GC pauses (count, ms)
                 "broker": {k[7:]: v for k, v in cpu.items() if k.startswith("broker_") and k != "broker_cpu_s"},
                 "machine": {"idle_pct": cpu.get("machine_idle_pct"), "steal_pct": cpu.get("machine_steal_pct"),
                             "steal_max_100ms_pct": cpu.get("steal_max_100ms_pct")}})
within = [x["rate_per_s"] for x in runs if x["p99_ms"] <= 50 and not x["timed_out"]]
warmup = []
for path in sorted(glob.glob(f"{d}/latency-warmup-*-cpu.json"), key=lambda p: int(p.split("-")[-2])):
    lat = json.load(open(path.replace("-cpu.json", ".json")))
    warmup.append({"p99_ms": round(lat["receive_nodes"]["reply"]["latency_ms"]["p99"], 2), **json.load(open(path))})
summary = {"half_rate_per_s": half, "warmup": warmup, "runs": runs,
           "latency_p99_le_50ms_up_to_per_s": max(within, default=0)}
json.dump(summary, open(f"{d}/latency-summary.json", "w"), indent=2)
for i, w in enumerate(warmup, 1):
    print(f"warm-up pass {i}: p99 {w['p99_ms']} ms, broker CPU {w['broker_cpu_s']} s "
          f"(JIT {w.get('broker_jit_cpu_s')}, GC {w.get('broker_gc_cpu_s')})")
print(f"{'rate/s':>8} {'p50 ms':>9} {'p99 ms':>9} {'send lag p99':>13} {'conn e2e p99':>13} {'consume p99':>12} "
      f"{'reply p99':>10}   "
      "CPU us per request: engine / connector / broker = cores of 2;  broker: JIT s, GC s, GC pauses n / total ms /"
      " max ms (its CPU ms);  machine idle %, steal % (most in 100 ms)")
for x in runs:
    u, c, b, e = x["cpu_us_per_request"], x["connector_ms"], x["broker"], x["engine_ms"]
    print(f"{x['rate_per_s']:>8} {x['p50_ms']:>9} {x['p99_ms']:>9} {e['send_lag_p99_ms']:>13} "
          f"{c.get('end_to_end_p99_ms', 0):>13} {c.get('consume_delay_p99_ms', 0):>12} {e['reply_delay_p99_ms']:>10}   {u['engine']} / {u['connector']} / {u['broker']} = {x['cores_used']};  "
          f"{b.get('jit_cpu_s')}, {b.get('gc_cpu_s')}, {b.get('gc_pauses')} / {b.get('gc_pause_total_ms')} / "
          f"{b.get('gc_pause_max_ms')} ({b.get('gc_pause_max_cpu_ms')});  "
          f"{x['machine']['idle_pct']}, {x['machine']['steal_pct']} ({x['machine']['steal_max_100ms_pct']})")
print(f"latency_p99_le_50ms_up_to_per_s {summary['latency_p99_le_50ms_up_to_per_s']} "
      f"(half of echo_msgs_per_s: {half}/s)")
PY
if [[ "${FXC_BENCH_ONLY:-}" == latency ]]; then exit 0; fi

python3 - "$raw" "$echo_" "$slow" "$DIR/latency-summary.json" "$rate" "$FXC_BUILD/bench.json" "$echo64" "$traced" "$http" "$onboarding_cpp" "$onboarding_flow" "$nowake" "$ratios" "$nodecode" <<'PY'
import json, sys
nowake = json.loads(sys.argv[12])
nodecode = json.loads(sys.argv[14])
sweep = json.load(open(sys.argv[4]))
by_name = {run["name"]: run for run in sweep["runs"]}
lat, low = by_name["latency"], by_name["latency-1000"]  # half of the echo rate; 1,000/s
conn, conn_low = lat["connector_ms"], low["connector_ms"]
http = json.loads(sys.argv[9])
ob_cpp, ob_flow = json.loads(sys.argv[10]), json.loads(sys.argv[11])
raw, echo, slow = (json.loads(a) for a in sys.argv[1:4])
echo64 = json.loads(sys.argv[7])
traced = json.loads(sys.argv[8])
out = {
    "messages": raw["expected"],
    "raw_msgs_per_s": round(raw["msgs_per_s"]),
    "echo_msgs_per_s": round(echo["msgs_per_s"]),
    "echo_ratio": round(echo["msgs_per_s"] / raw["msgs_per_s"], 3) if raw["msgs_per_s"] else 0,
    "echo_ratio_pairs": json.loads(sys.argv[13]),
    "cpu_us_per_msg": echo["cpu_us_per_msg"],
    "raw_cpu_us_per_msg": raw["cpu_us_per_msg"],
    "cpu_ratio": round(echo["cpu_us_per_msg"] / raw["cpu_us_per_msg"], 3) if raw["cpu_us_per_msg"] else 0,
    # [name, seconds on a CPU, seconds waiting for one] of the busiest threads, over life_s
    "echo_threads": echo.get("threads", []),
    "echo_life_s": echo.get("life_s", 0),
    "raw_threads": raw.get("threads", []),
    "raw_life_s": raw.get("life_s", 0),
    # the broker's CPU per message while each of those two ran (it shares the machine's cores)
    "echo_broker_cpu_us_per_msg": echo.get("broker_cpu_us_per_msg", 0),
    "raw_broker_cpu_us_per_msg": raw.get("broker_cpu_us_per_msg", 0),
    "echo_nowake_msgs_per_s": round(nowake["msgs_per_s"]),
    "echo_nowake_ratio": round(nowake["msgs_per_s"] / raw["msgs_per_s"], 3) if raw["msgs_per_s"] else 0,
    "echo_nowake_cpu_us_per_msg": nowake["cpu_us_per_msg"],
    "echo_nodecode_msgs_per_s": round(nodecode["msgs_per_s"]),
    "echo_nodecode_ratio": round(nodecode["msgs_per_s"] / raw["msgs_per_s"], 3) if raw["msgs_per_s"] else 0,
    "echo_nodecode_cpu_us_per_msg": nodecode["cpu_us_per_msg"],
    "peak_rss_mb": echo["peak_rss_mb"],
    "echo_traced_msgs_per_s": round(traced["msgs_per_s"]),
    "tracing_ratio": round(traced["msgs_per_s"] / echo["msgs_per_s"], 3) if echo["msgs_per_s"] else 0,
    "echo_traced_cpu_us_per_msg": traced["cpu_us_per_msg"],
    "echo_prefetch64_msgs_per_s": round(echo64["msgs_per_s"]),
    "echo_prefetch64_ratio": round(echo64["msgs_per_s"] / raw["msgs_per_s"], 3) if raw["msgs_per_s"] else 0,
    "echo_prefetch64_peak_rss_mb": echo64["peak_rss_mb"],
    "raw_peak_rss_mb": raw["peak_rss_mb"],
    "slow_one_partition_per_s": round(slow["msgs_per_s"]),
    "slow_peak_rss_mb": slow["peak_rss_mb"],
    "http_msgs_per_s": round(http["msgs_per_s"]),
    "http_cpu_us_per_msg": http["cpu_us_per_msg"],
    "http_peak_rss_mb": http["peak_rss_mb"],
    "onboarding_cpp_msgs_per_s": round(ob_cpp["msgs_per_s"]),
    "onboarding_cpp_cpu_us_per_msg": ob_cpp["cpu_us_per_msg"],
    "onboarding_cpp_peak_rss_mb": ob_cpp["peak_rss_mb"],
    "flow_msgs_per_s": round(ob_flow["msgs_per_s"]),
    "flow_cpu_us_per_msg": ob_flow["cpu_us_per_msg"],
    "flow_ratio": round(ob_flow["msgs_per_s"] / ob_cpp["msgs_per_s"], 3) if ob_cpp["msgs_per_s"] else 0,
    "flow_peak_rss_mb": ob_flow["peak_rss_mb"],
    "latency_rate_per_s": int(sys.argv[5]),
    "latency_ms": {"p50": lat["p50_ms"], "p99": lat["p99_ms"], "p999": lat["p999_ms"], "max": lat["max_ms"]},
    "latency_timed_out": lat["timed_out"],
    "connector_latency_ms": conn,
    "engine_latency_ms": lat["engine_ms"],
    "connector_latency_1000_per_s_ms": conn_low,
    "latency_1000_per_s_ms": {"p50": low["p50_ms"], "p99": low["p99_ms"], "p999": low["p999_ms"]},
    "latency_sweep": sweep["runs"],
    "latency_p99_le_50ms_up_to_per_s": sweep["latency_p99_le_50ms_up_to_per_s"],
}
json.dump(out, open(sys.argv[6], "w"), indent=2)
rows = [
    ("raw_msgs_per_s", out["raw_msgs_per_s"], "minimal librdkafka relay, same producer settings"),
    ("echo_msgs_per_s", out["echo_msgs_per_s"], "fxconnect, echo handler, max_in_flight 5000"),
    ("echo_ratio", out["echo_ratio"], f"target >= 0.8; the median of {len(out['echo_ratio_pairs'])} pairs: {', '.join(map(str, out['echo_ratio_pairs']))}"),
    ("cpu_us_per_msg", out["cpu_us_per_msg"], f"fxconnect process (raw loop: {out['raw_cpu_us_per_msg']})"),
    ("cpu_ratio", out["cpu_ratio"], "fxconnect / raw loop; target <= 1.5"),
    ("peak_rss_mb", out["peak_rss_mb"], f"fxconnect echo, 5000 in flight; target <= 128 (raw loop: {out['raw_peak_rss_mb']})"),
    ("  busiest thread", "/".join(f"{x:.2f}" for x in out["echo_threads"][0][1:]) if out["echo_threads"] else "-",
     f"s on a CPU/waiting for one, of {out['echo_life_s']:.2f} s, the echo connector's: "
     + ", ".join(f"{t[0]} {t[1]:.2f}/{t[2]:.2f}" for t in out["echo_threads"][:3])
     + f"; the raw loop's (of {out['raw_life_s']:.2f} s): "
     + ", ".join(f"{t[0]} {t[1]:.2f}/{t[2]:.2f}" for t in out["raw_threads"][:2])),
    ("  broker cpu_us_per_msg", out["echo_broker_cpu_us_per_msg"], f"the broker's CPU per message during the echo run (raw loop's run: {out['raw_broker_cpu_us_per_msg']})"),
    ("echo_nodecode_msgs_per_s", out["echo_nodecode_msgs_per_s"], f"kafka.decode_thread false: ratio {out['echo_nodecode_ratio']}, cpu {out['echo_nodecode_cpu_us_per_msg']} us/msg"),
    ("echo_nowake_msgs_per_s", out["echo_nowake_msgs_per_s"], f"kafka.fetch_wakeup false: ratio {out['echo_nowake_ratio']}, cpu {out['echo_nowake_cpu_us_per_msg']} us/msg"),
    ("echo_traced_msgs_per_s", out["echo_traced_msgs_per_s"], f"tracing on, sampler always (cpu {out['echo_traced_cpu_us_per_msg']} us/msg)"),
    ("tracing_ratio", out["tracing_ratio"], "traced / untraced; target >= 0.9"),
    ("echo_prefetch64_msgs_per_s", out["echo_prefetch64_msgs_per_s"], f"prefetch 64 MB: ratio {out['echo_prefetch64_ratio']}, peak RSS {out['echo_prefetch64_peak_rss_mb']} MB"),
    ("slow_one_partition_per_s", out["slow_one_partition_per_s"], "echo 50ms, 1 partition, 10000 keys; target >= 40000"),
    ("http_msgs_per_s", out["http_msgs_per_s"], "one HTTP call per request (stub: 50 ms), 1 partition, 5000 in flight (1000 calling); target >= 5000"),
    ("http_cpu_us_per_msg", out["http_cpu_us_per_msg"], f"that connector process; peak RSS {out['http_peak_rss_mb']} MB"),
    ("onboarding_cpp_msgs_per_s", out["onboarding_cpp_msgs_per_s"], f"C++ onboarding handler (cpu {out['onboarding_cpp_cpu_us_per_msg']} us/msg)"),
    ("flow_msgs_per_s", out["flow_msgs_per_s"], f"the flow: validate + 5 fields + reply (cpu {out['flow_cpu_us_per_msg']} us/msg, peak RSS {out['flow_peak_rss_mb']} MB)"),
    ("flow_ratio", out["flow_ratio"], "flow / C++; target >= 0.5"),
    ("latency_ms p50", out["latency_ms"]["p50"], f"engine-observed, open loop at {out['latency_rate_per_s']}/s"),
    ("latency_ms p99", out["latency_ms"]["p99"], "target <= 50"),
    ("latency_ms p999", out["latency_ms"]["p999"], ""),
    ("  connector consume_delay", f"{conn.get('consume_delay_p50_ms', 0)}/{conn.get('consume_delay_p99_ms', 0)}", "p50/p99 ms: engine send -> connector consume (producer, broker, prefetch)"),
    ("  engine send_lag", f"{lat['engine_ms']['send_lag_p50_ms']}/{lat['engine_ms']['send_lag_p99_ms']}", "p50/p99 ms: due -> sent (the simulator's own backlog)"),
    ("  connector end_to_end", f"{conn.get('end_to_end_p50_ms', 0)}/{conn.get('end_to_end_p99_ms', 0)}", "p50/p99 ms: consume -> reply acknowledged (the connector)"),
    ("  engine reply_delay", f"{lat['engine_ms']['reply_delay_p50_ms']}/{lat['engine_ms']['reply_delay_p99_ms']}", "p50/p99 ms: reply's timestamp -> taken by the simulator (broker, its consumer)"),
    ("latency at 1000/s p50", out["latency_1000_per_s_ms"]["p50"], "the same, far from saturation"),
    ("latency at 1000/s p99", out["latency_1000_per_s_ms"]["p99"], ""),
    ("  connector at 1000/s", f"{conn_low.get('consume_delay_p99_ms', 0)}/{conn_low.get('end_to_end_p99_ms', 0)}", "p99 ms: consume_delay / end_to_end"),
    ("latency p99<=50ms up to", out["latency_p99_le_50ms_up_to_per_s"], "requests/s, the highest rate of the sweep above within 50 ms"),
]
print(f"{'figure':<26}{'value':>12}  note")
for name, value, note in rows:
    print(f"{name:<26}{value:>12}  {note}")
print(f"\nwritten: {sys.argv[6]}")
PY
