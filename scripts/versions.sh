# shellcheck shell=bash
# scripts/versions.sh -- pinned versions and shared paths for fxconnect's scripts.
# Sourced (not executed) by scripts/setup.sh, kafka.sh, jaeger.sh and legacy.sh; it sets no shell
# options of its own so that it is also safe to source from an interactive shell.
#
# Env vars (all optional, read here):
#   FXC_CACHE  download cache (default: $HOME/.cache/fxconnect)
#   FXC_BUILD  build / runtime-state dir (default: <repo root>/build)
# Sets: KAFKA_VERSION, KAFKA_SECURE_VERSION, LOG4J_VERSION, JAEGER_VERSION, WIREMOCK_VERSION,
#   TOXIPROXY_VERSION, FXC_ROOT (repo root, from this file's location), FXC_CACHE, FXC_BUILD,
#   KAFKA_LIBS (Kafka broker jars), KAFKA_SECURE_LIBS (the jars of Kafka $KAFKA_SECURE_VERSION, for
#   `kafka.sh start --secure`; fetched by setup.sh too),
#   JAEGER_BIN (Jaeger v2 all-in-one binary, built by scripts/jaeger.sh), WIREMOCK_JAR
#   (WireMock standalone, the legacy stand-in of scripts/legacy.sh; fetched by setup.sh),
#   TOXIPROXY_BIN (toxiproxy-server, toxiproxy-cli next to it; built by scripts/toxiproxy.sh), and
#   the array FXC_APT_PACKAGES (Debian 12 packages needed to build and test).

KAFKA_VERSION=4.1.1
# Secured broker (kafka.sh start --secure): librdkafka < 2.6.1 (Debian 12: 2.0.2) repeats the client
# nonce in its SCRAM client-final message; Kafka 4.x refuses that, 3.8.1..3.9.x accept it.
KAFKA_SECURE_VERSION=3.9.1
LOG4J_VERSION=2.24.3
JAEGER_VERSION=1.76.0
WIREMOCK_VERSION=3.13.2
TOXIPROXY_VERSION=2.5.0
# The official AsyncAPI parser (npm), for the tests of `fxconnect docs asyncapi`.
ASYNCAPI_PARSER_VERSION=3.6.6

FXC_ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
FXC_CACHE="${FXC_CACHE:-$HOME/.cache/fxconnect}"
FXC_BUILD="${FXC_BUILD:-$FXC_ROOT/build}"
KAFKA_LIBS="$FXC_CACHE/kafka-$KAFKA_VERSION/libs"
ASYNCAPI_PARSER_DIR="$FXC_CACHE/asyncapi-parser-$ASYNCAPI_PARSER_VERSION"
KAFKA_SECURE_LIBS="$FXC_CACHE/kafka-$KAFKA_SECURE_VERSION/libs"
JAEGER_BIN="$FXC_CACHE/jaeger-$JAEGER_VERSION/jaeger"
WIREMOCK_JAR="$FXC_CACHE/wiremock-$WIREMOCK_VERSION/wiremock-standalone-$WIREMOCK_VERSION.jar"
TOXIPROXY_BIN="$FXC_CACHE/toxiproxy-$TOXIPROXY_VERSION/toxiproxy-server"

# shellcheck disable=SC2034  # used by scripts that source this file
FXC_APT_PACKAGES=(
  librdkafka-dev
  libjemalloc-dev
  libboost1.81-dev
  libboost-json1.81-dev
  libboost-url1.81-dev
  libyaml-cpp-dev
  libcli11-dev
  libspdlog-dev
  libfmt-dev
  libgtest-dev
  libgmock-dev
  libbenchmark-dev
  ninja-build
  cmake
  g++
  maven
  default-jre-headless
  python3
  openssl
  libssl-dev
  procps
  prometheus
  clang-format
  clang-tidy
  clang
  libclang-rt-14-dev
  llvm
  libcurl4-openssl-dev
  libxml2-dev
  libjq-dev
  libvalijson-dev
  libhowardhinnant-date-dev
  libpq-dev
  postgresql-15
  openssh-server
  python3-yaml
  python3-jsonschema
  dpkg-dev
  chromium
)

export KAFKA_VERSION LOG4J_VERSION JAEGER_VERSION WIREMOCK_VERSION FXC_ROOT FXC_CACHE FXC_BUILD KAFKA_LIBS \
  JAEGER_BIN WIREMOCK_JAR
export TOXIPROXY_VERSION TOXIPROXY_BIN KAFKA_SECURE_VERSION KAFKA_SECURE_LIBS ASYNCAPI_PARSER_VERSION ASYNCAPI_PARSER_DIR
