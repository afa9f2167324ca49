#include "observability/metrics.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace fxconnect::observability {
namespace {

// Label values escape backslash, double quote and newline (exposition format).
std::string escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

// The sample lines of one histogram; `labels` ("system=\"x\",") go before `le`.
void histogram_lines(std::string& out, const char* name, const Histogram& h, const std::string& labels) {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < h.bounds().size(); ++i) {
    cumulative += h.counts()[i];
    out += fmt::format("{}_bucket{{{}le=\"{}\"}} {}\n", name, labels, h.bounds()[i], cumulative);
  }
  std::string plain = labels.empty() ? "" : "{" + labels.substr(0, labels.size() - 1) + "}";
  out += fmt::format("{}_bucket{{{}le=\"+Inf\"}} {}\n{}_sum{} {}\n{}_count{} {}\n", name, labels, h.count(), name,
                     plain, h.sum(), name, plain, h.count());
}

void histogram(std::string& out, const char* name, const char* help, const Histogram& h) {
  header(out, name, "histogram", help);
  histogram_lines(out, name, h, "");
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size(), 0) {}

void Histogram::observe(double value) {
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);  // first bound >= value
  if (it != bounds_.end()) ++counts_[static_cast<std::size_t>(it - bounds_.begin())];
  ++count_;
  sum_ += value;
}

std::vector<double> latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

namespace {
constexpr double kQuantileMin = 1e-5;
constexpr double kQuantileGrowth = 1.05;
}  // namespace

void QuantileHistogram::observe(double seconds) {
  std::size_t i = 0;
  if (seconds > kQuantileMin) {
    double index = std::ceil(std::log(seconds / kQuantileMin) / std::log(kQuantileGrowth));
    i = std::min(kBuckets - 1, static_cast<std::size_t>(index));
  }
  ++counts_[i];
  ++count_;
}

double QuantileHistogram::quantile(double q) const {
  if (count_ == 0) return 0;
  auto rank = static_cast<std::uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(count_)));
  rank = std::max<std::uint64_t>(rank, 1);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    cumulative += counts_[i];
    if (cumulative >= rank) return kQuantileMin * std::pow(kQuantileGrowth, static_cast<double>(i));
  }
  return kQuantileMin * std::pow(kQuantileGrowth, static_cast<double>(kBuckets - 1));
}

std::string ConnectorMetrics::render() const {
  std::string out;
  header(out, "fxconnect_requests_consumed_total", "counter", "Requests consumed from the input topics.");
  out += fmt::format("fxconnect_requests_consumed_total {}\n", consumed);
  header(out, "fxconnect_replies_total", "counter",
         "Records acknowledged by the broker, by outcome: ok (reply), error (error reply), dlq (dead letter).");
  const char* outcomes[] = {"ok", "error", "dlq"};
  for (std::size_t i = 0; i < replies.size(); ++i) {
    out += fmt::format("fxconnect_replies_total{{outcome=\"{}\"}} {}\n", outcomes[i], replies[i]);
  }
  header(out, "fxconnect_in_flight", "gauge",
         "Requests consumed and not yet finished (processing.max_in_flight bounds it).");
  out += fmt::format("fxconnect_in_flight {}\n", in_flight);
  header(out, "fxconnect_in_flight_bytes", "gauge",
         "Memory held by the requests in flight: bodies, headers, parsed JSON, replies and dead letters "
         "(processing.max_in_flight_bytes bounds it).");
  out += fmt::format("fxconnect_in_flight_bytes {}\n", in_flight_bytes);
  header(out, "fxconnect_overdue_handlers", "gauge",
         "Handlers still running past their request's deadline (the request was answered deadline_exceeded; "
         "the next request of its key waits for the handler to finish).");
  out += fmt::format("fxconnect_overdue_handlers {}\n", overdue_handlers);
  header(out, "fxconnect_produce_retries_total", "counter",
         "Records produced again after a transient failure (the request's offset stays uncommitted meanwhile).");
  out += fmt::format("fxconnect_produce_retries_total {}\n", produce_retries);
  header(out, "fxconnect_undeliverable_total", "counter",
         "Records given up because they can never be written (each also logged as critical).");
  out += fmt::format("fxconnect_undeliverable_total {}\n", undeliverable);
  header(out, "fxconnect_late_completions_total", "counter",
         "Handler answers that came after their request's outcome was decided (past the deadline); ignored.");
  out += fmt::format("fxconnect_late_completions_total {}\n", late_completions);
  header(out, "fxconnect_paused_partitions", "gauge",
         "Partitions paused (held at the in-flight limit, or revoked and draining).");
  out += fmt::format("fxconnect_paused_partitions {}\n", paused_partitions);
  histogram(out, "fxconnect_handler_duration_seconds", "Time from a request entering the handler to its answer.",
            handler_seconds);
  histogram(out, "fxconnect_end_to_end_duration_seconds",
            "Time from consuming a request to its outcome acknowledged by the broker.", end_to_end_seconds);
  histogram(out, "fxconnect_consume_delay_seconds",
            "Time from a request's record timestamp (CreateTime: when the engine sent it) to its consumption here: "
            "the broker's and the prefetch queue's share of the latency (clock differences between the hosts "
            "included; negative differences count as zero).",
            consume_delay_seconds);
  header(out, "fxconnect_committed_offset_lag", "gauge",
         "Per assigned partition: its end offset minus the offset committed by this connector.");
  for (const auto& [tp, lag] : committed_lag) {
    out += fmt::format("fxconnect_committed_offset_lag{{topic=\"{}\",partition=\"{}\"}} {}\n", escape(tp.first),
                       tp.second, lag);
  }
  header(out, "fxconnect_rebalances_total", "counter",
         "Partition assignments and revocations this member took part in.");
  out += fmt::format("fxconnect_rebalances_total {}\n", rebalances);
  header(out, "fxconnect_spans_exported_total", "counter", "Trace spans exported to the OTLP endpoint.");
  out += fmt::format("fxconnect_spans_exported_total {}\n", spans_exported);
  header(out, "fxconnect_spans_dropped_total", "counter", "Trace spans dropped (queue full or collector unreachable).");
  out += fmt::format("fxconnect_spans_dropped_total {}\n", spans_dropped);
  if (!flow_steps.empty()) {
    header(out, "fxconnect_flow_step_failures_total", "counter",
           "Requests a step of the flow answered with an error reply.");
    for (const auto& m : flow_steps) {
      out += fmt::format("fxconnect_flow_step_failures_total{{step=\"{}\"}} {}\n", escape(m->step), m->failures);
    }
    header(out, "fxconnect_flow_step_duration_seconds", "histogram",
           "Time of each step of the flow, per request (calls to legacy systems included).");
    for (const auto& m : flow_steps) {
      histogram_lines(out, "fxconnect_flow_step_duration_seconds", m->seconds, "step=\"" + escape(m->step) + "\",");
    }
  }
  if (legacy.empty()) return out;
  auto family = [&](const char* name, const char* type, const char* help, auto value) {
    header(out, name, type, help);
    for (const auto& m : legacy) out += fmt::format("{}{{system=\"{}\"}} {}\n", name, escape(m->system), value(*m));
  };
  header(out, "fxconnect_legacy_calls_total", "counter",
         "Calls to legacy systems by outcome: ok, failed (an HTTP status or SOAP fault the call does not accept), "
         "timeout, unavailable (connect failed, connection broken, circuit open).");
  const char* call_outcomes[] = {"ok", "failed", "timeout", "unavailable"};
  for (const auto& m : legacy) {
    for (std::size_t i = 0; i < m->calls.size(); ++i) {
      out += fmt::format("fxconnect_legacy_calls_total{{system=\"{}\",outcome=\"{}\"}} {}\n", escape(m->system),
                         call_outcomes[i], m->calls[i]);
    }
  }
  family("fxconnect_legacy_rejected_total", "counter", "Calls refused at once by an open circuit breaker.",
         [](const LegacyMetrics& m) { return m.rejected; });
  family("fxconnect_legacy_retries_total", "counter", "Attempts made again after a failed one.",
         [](const LegacyMetrics& m) { return m.retries; });
  family("fxconnect_legacy_in_flight", "gauge", "Calls not finished (waiting for a slot, attempting, backing off).",
         [](const LegacyMetrics& m) { return m.in_flight; });
  family("fxconnect_legacy_waiting", "gauge", "Calls waiting for a bulkhead slot (max_in_flight).",
         [](const LegacyMetrics& m) { return m.waiting; });
  family("fxconnect_legacy_circuit_state", "gauge", "The circuit breaker: 0 closed, 1 open, 2 half-open.",
         [](const LegacyMetrics& m) { return m.breaker_state; });
  header(out, "fxconnect_legacy_call_duration_seconds", "histogram",
         "Time of whole calls to legacy systems, retries and waits included.");
  for (const auto& m : legacy) {
    histogram_lines(out, "fxconnect_legacy_call_duration_seconds", m->seconds, "system=\"" + escape(m->system) + "\",");
  }
  return out;
}

}  // namespace fxconnect::observability
