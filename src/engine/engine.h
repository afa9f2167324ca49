// The engine simulator: runs instances of a process definition against real connectors over
// Kafka, exactly as the engine does (CONTRACT.md), and measures what the processes see.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "core/property.h"
#include "engine/definition.h"
#include "engine/report.h"
#include "kafka/settings.h"

namespace fxconnect::engine {

struct EngineOptions {
  std::string bootstrap;  // Kafka
  // librdkafka properties of every client the simulator makes, topic creation included: a
  // `kafka:` section's security and properties (`--kafka-config`).
  std::vector<core::Property> kafka_properties;
  kafka::OAuthTokenSource oauth_token;  // SASL OAUTHBEARER: where tokens come from
  std::string profile = "5.x";          // identity headers: 4.x or 5.x
  std::uint64_t instances = 1;
  std::vector<boost::json::object> data;   // per instance, cycled; empty → the sample data
  double rate = 0;                         // > 0: open loop, instances started per second
  std::uint64_t concurrency = 0;           // closed loop: instances running at once (rate == 0)
  int partitions = 3;                      // for the topics the simulator creates
  std::chrono::milliseconds linger{1000};  // after the last instance, to catch late duplicates
  // Progress on stderr while it runs: none; one line rewritten in place every 0.5 s (a
  // terminal); or a plain line every `progress_every` (a log file, CI). `fxconnect engine run`
  // picks terminal or lines from whether stderr is a terminal.
  enum class Progress { off, terminal, lines };
  Progress progress = Progress::off;
  std::chrono::milliseconds progress_every{5000};
  std::uint64_t show = 0;            // finished instances whose data to keep (before, after)
  bool timeline = false;             // keep when each instance finished and each reply came (--report)
  std::string otlp_endpoint;         // "" = no tracing; else spans of send and receive nodes
  std::string trace_format = "w3c";  // trace header the engine sends: w3c (traceparent) or jaeger (uber-trace-id)
};

struct ShownInstance {
  std::string process_instance_uuid;
  std::string trace_id;  // when tracing
  std::string status;
  boost::json::value before;
  boost::json::value after;
};

struct RunResult {
  Summary summary;
  std::vector<ShownInstance> shown;
  Timeline timeline;  // kept only with EngineOptions::timeline (for --report)
};

// Creates the process's topics when missing, subscribes to the engine pattern, runs every
// instance to its end, and returns what it measured. Throws ConfigError when Kafka cannot be set
// up (unknown broker, topic creation refused).
RunResult run_engine(const ProcessDefinition& definition, const EngineOptions& options);

// Reads one JSON object per line (blank lines skipped); throws ConfigError naming file:line.
std::vector<boost::json::object> load_jsonl(const std::string& path);

}  // namespace fxconnect::engine
