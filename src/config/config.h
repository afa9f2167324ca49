// A connector's configuration: loaded from YAML, interpolated, validated before any I/O.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/property.h"
#include "fxconnect/handler.h"

namespace fxconnect::config {

enum class Ordering { key, partition, none };

// One librdkafka property and the place it was written, for error messages.
using Property = core::Property;

struct ConnectorConfig {
  std::string source;  // the file it came from
  struct {
    std::string bootstrap;
    std::string group_id;
    std::vector<Property> properties;           // both clients
    std::vector<Property> consumer_properties;  // consumer only, after `properties`
    std::vector<Property> producer_properties;  // producer only, after `properties`
  } kafka;
  struct {
    std::string topic;  // exactly one of topic and pattern is set
    std::string pattern;
  } input;
  struct {
    std::string topic;
    std::string engine_pattern;
  } reply;
  struct {
    std::string name;
    HandlerOptions options;
  } handler;
  struct {
    Ordering ordering = Ordering::key;
    int max_in_flight = 1000;
    long long max_in_flight_bytes = 64LL << 20;
    std::chrono::milliseconds deadline{30'000};
    std::chrono::milliseconds shutdown_grace{20'000};
    std::chrono::milliseconds commit_interval{1'000};
  } processing;
  struct {
    std::string dlq_topic;  // "" = no dead-letter topic
  } errors;
  struct {
    std::string service_name;   // "" = kafka.group_id
    std::string otlp_endpoint;  // "" = no tracing
    std::string sampler = "parent";
    std::string http_listen;  // "" = no HTTP endpoint
  } observability;
  struct {
    std::string level = "info";
    std::string format = "text";
    bool bodies = false;  // request bodies in error lines
  } log;
};

// Looks up an environment variable (injectable for tests).
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_env();

// Parses and validates. Throws ConfigError listing every problem found, one per line, each as
// `source:line:column: key: what is wrong; what would be valid`.
ConnectorConfig parse(std::string_view yaml, const std::string& source, const EnvLookup& env);
ConnectorConfig load(const std::string& path, const EnvLookup& env = process_env());

// ${VAR} / ${VAR:-default} / $${ interpolation of one scalar; error text on failure.
struct Interpolated {
  std::string text;
  std::string error;  // non-empty when a variable is unset and has no default, or syntax is bad
};
Interpolated interpolate(std::string_view text, const EnvLookup& env);

// Whether `topic` is wholly matched by the regular expression `pattern`.
bool topic_matches(const std::string& pattern, const std::string& topic);

}  // namespace fxconnect::config
