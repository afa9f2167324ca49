// What a run of the engine simulator measured, as a table for people and JSON for tools.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

namespace fxconnect::engine {

// Latencies of one receive node, milliseconds.
struct LatencySummary {
  std::size_t count = 0;
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
};
LatencySummary summarize(std::vector<double> samples_ms);

struct Summary {
  std::string process;
  std::uint64_t instances = 0;
  std::uint64_t completed = 0;
  std::uint64_t error_path = 0;
  std::uint64_t timed_out = 0;
  std::uint64_t failed = 0;  // could not be sent: template error or produce failure
  std::uint64_t duplicates = 0;
  std::uint64_t unmatched = 0;
  std::uint64_t late = 0;  // replies after their node timed out
  std::uint64_t header_mismatches = 0;
  double duration_s = 0;  // first send → last instance finished
  double throughput_per_s = 0;
  struct Node {
    std::string name;
    LatencySummary latency;
  };
  std::vector<Node> receive_nodes;
  // The simulator's own share of the latencies above, ms. send_lag (open loop only, else count 0):
  // how late each instance's first request went out after it was due (the simulator's backlog:
  // its one thread could not keep the rate). reply_delay, every reply: from the reply record's
  // timestamp (set by the connector's producer, or by the broker with LogAppendTime) until the
  // simulator took it (the broker and the simulator's consumer).
  LatencySummary send_lag;
  LatencySummary reply_delay;
  std::vector<std::string> trace_ids;  // of the first instances, when tracing (to look them up in Jaeger)

  // Exit code for gating: non-zero when an instance timed out or failed, or a header came back changed.
  int exit_code() const { return timed_out || failed || header_mismatches ? 1 : 0; }
  boost::json::object to_json() const;
  std::string to_table() const;
};

// What happened when, for the HTML report: seconds since the run's first send.
struct Timeline {
  struct Finish {
    double t_s;
    std::string outcome;  // completed, error_path, timed_out, failed
  };
  struct Reply {
    double t_s;
    double latency_ms;
  };
  std::vector<Finish> finishes;
  std::vector<std::pair<std::string, std::vector<Reply>>> replies;  // per receive node, in process order
};

// One self-contained HTML page (inline SVG, no script or style from the network): throughput
// over time, latency percentiles over time per receive node, the latency histogram, outcomes,
// and the summary table. docs/engine.md shows one.
std::string html_report(const Summary& summary, const Timeline& timeline);

}  // namespace fxconnect::engine
