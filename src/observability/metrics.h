// Prometheus metrics of a connector, rendered in the text exposition format (version 0.0.4).
// Everything here is touched from the runtime's loop thread only: no atomics, no locks.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace fxconnect::observability {

// Cumulative histogram with fixed upper bounds (seconds), as Prometheus expects.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  const std::vector<double>& bounds() const { return bounds_; }
  const std::vector<std::uint64_t>& counts() const { return counts_; }  // per bucket, not cumulative
  std::uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

// Latency buckets from 1 ms to 60 s.
std::vector<double> latency_buckets();

// Log-spaced buckets 5 % wide from 10 us to about 100 s, for quantiles in log lines (the stop
// line): a quantile is its bucket's upper bound, at most 5 % above the true value.
class QuantileHistogram {
 public:
  void observe(double seconds);
  // The q-quantile (0..1) in seconds; 0 when nothing was observed.
  double quantile(double q) const;
  std::uint64_t count() const { return count_; }

 private:
  static constexpr std::size_t kBuckets = 332;  // 1e-5 * 1.05^331 is about 1e2 s
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
};

// Calls to one legacy system (`systems.<name>`).
struct LegacyMetrics {
  enum Outcome { ok = 0, failed = 1, timeout = 2, unavailable = 3 };
  std::string system;
  std::array<std::uint64_t, 4> calls{};  // by Outcome
  std::uint64_t rejected = 0;            // refused by the open circuit breaker (also counted unavailable)
  std::uint64_t retries = 0;
  std::uint64_t in_flight = 0;           // calls not finished (waiting, paced, attempting, backing off)
  std::uint64_t waiting = 0;             // for a bulkhead slot
  int breaker_state = 0;                 // 0 closed, 1 open, 2 half-open
  Histogram seconds{latency_buckets()};  // whole calls, retries included
};

// One step of a declarative connector (`flow:`), e.g. step="call:account".
struct FlowStepMetrics {
  std::string step;
  std::uint64_t failures = 0;            // requests whose error reply this step caused
  Histogram seconds{latency_buckets()};  // the step's time, calls to legacy systems included
};

struct ConnectorMetrics {
  std::uint64_t consumed = 0;
  std::array<std::uint64_t, 3> replies{};  // acknowledged: [0] replies (ok), [1] error replies, [2] dead letters
  std::uint64_t in_flight = 0;
  std::uint64_t in_flight_bytes = 0;
  std::uint64_t overdue_handlers = 0;
  std::uint64_t produce_retries = 0;
  std::uint64_t undeliverable = 0;
  std::uint64_t late_completions = 0;
  std::uint64_t paused_partitions = 0;
  std::uint64_t rebalances = 0;
  std::uint64_t spans_exported = 0;
  std::uint64_t spans_dropped = 0;
  Histogram handler_seconds{latency_buckets()};
  Histogram end_to_end_seconds{latency_buckets()};
  Histogram consume_delay_seconds{latency_buckets()};
  // (topic, partition) → end offset − committed offset
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> committed_lag;
  std::vector<std::shared_ptr<LegacyMetrics>> legacy;        // one per system, in config order
  std::vector<std::shared_ptr<FlowStepMetrics>> flow_steps;  // one per step of a flow, in order

  // The whole /metrics page.
  std::string render() const;
};

}  // namespace fxconnect::observability
