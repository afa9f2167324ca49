# shellcheck shell=bash
# scripts/lib.sh -- helpers shared by test.sh, demo.sh and bench.sh (sourced after versions.sh).

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
