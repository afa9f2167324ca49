// `fxconnect dlq redrive`: sends dead letters back to the topic they came from, once the legacy
// system that failed them is fixed (README "Send failed requests again").
//
// It reads the connector's `errors.dlq_topic` from where its own consumer group left off up to the
// end the topic had when the run started, picks the records the filters select, and produces each
// to its `fxconnect-source-topic` with the original key, headers (the `fxconnect-*` ones removed)
// and bytes, at a bounded rate. Progress is the group's committed offsets, committed after each
// batch is acknowledged by the broker: a second run does not send again what a first one sent, and
// a run killed with `kill -9` resends at most the one batch it had not committed (at-least-once,
// like the connector itself; the engine's correlation takes the duplicate's reply as a late one).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "config/config.h"

namespace fxconnect::runtime {

struct RedriveOptions {
  // Only dead letters whose `fxconnect-error-code` header is this (all when unset).
  std::optional<std::string> error_code;
  // Only dead letters written at or after this time (the record's timestamp); older ones are
  // passed over (and the group's progress moves past them).
  std::optional<std::chrono::system_clock::time_point> since;
  bool dry_run = false;  // print what would be sent; send and commit nothing
  double rate_per_second = 100;
  // The consumer group keeping the progress; default: `<kafka.group_id>.dlq-redrive`, plus
  // `.<error code>` with an error code (each selection has its own progress).
  std::optional<std::string> group;
  std::chrono::milliseconds timeout{30'000};  // for metadata, offsets, each batch's acknowledgements
};

struct RedriveResult {
  std::int64_t read = 0;        // dead letters read
  std::int64_t sent = 0;        // sent back (or, with dry_run, that would have been)
  std::int64_t skipped = 0;     // read and not selected by the filters
  std::int64_t unroutable = 0;  // selected but without a usable fxconnect-source-topic header
  std::string group;
};

// Parses `--since`: an RFC 3339 time (`2026-11-30T08:00:00Z`, `...+02:00`, years 1970 to 2200) or
// a duration back from `now` (`2h`, `30m`). nullopt when it is neither.
std::optional<std::chrono::system_clock::time_point> parse_since(const std::string& text,
                                                                 std::chrono::system_clock::time_point now);

// Runs one redrive with `config`'s Kafka settings; one line per record sent (or, with dry_run,
// that would be) and a summary go to `out`. Throws ConfigError when the config has no
// errors.dlq_topic, std::runtime_error saying what else stopped it (the cluster unreachable, the
// topic missing, a produce or commit refused); what it committed before stays committed.
RedriveResult redrive(const config::ConnectorConfig& config, const RedriveOptions& options, std::ostream& out);

}  // namespace fxconnect::runtime
