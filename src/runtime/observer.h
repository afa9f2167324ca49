// What the runtime reports about requests, in one place: spans (tracing), Prometheus metrics,
// the run's figures for the stop line, and the log lines about one request. The request state
// machine calls it at each step; nothing else on the message path knows about tracing or metrics.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/records.h"
#include "fxconnect/error.h"
#include "fxconnect/message.h"
#include "observability/logging.h"
#include "observability/metrics.h"
#include "observability/trace_context.h"
#include "observability/tracer.h"

namespace fxconnect::runtime {

using Clock = std::chrono::steady_clock;

// What a produced record is for.
enum class RecordKind : std::uint8_t { reply = 0, error_reply = 1, dead_letter = 2 };
std::string_view to_string(RecordKind kind);

// Figures of one run, for the stop log line, tests and benchmarks.
struct RunStats {
  std::uint64_t consumed = 0;
  std::uint64_t replied_ok = 0;
  std::uint64_t replied_error = 0;
  std::uint64_t dead_lettered = 0;
  std::uint64_t produce_retries = 0;
  std::uint64_t undeliverable = 0;     // records that could never be written, given up
  std::uint64_t late_completions = 0;  // handler finished after its deadline reply
  std::uint64_t max_in_flight = 0;     // consumed, outcome not yet acknowledged
  double mean_in_flight = 0;           // time-weighted, over the time anything was in flight
  std::uint64_t max_handling = 0;      // in the handler (not waiting behind their key)
  double mean_handling = 0;            // time-weighted, over the same time
  double busy_seconds = 0;             // time anything was in flight
  std::uint64_t max_in_flight_bytes = 0;
  observability::QuantileHistogram end_to_end;     // consumed → outcome acknowledged, seconds
  observability::QuantileHistogram consume_delay;  // record timestamp → consumed, seconds
};

// The spans of one request: consuming it, its handler, its reply. Ended by RAII at the latest
// when the request is gone.
struct RequestSpans {
  observability::ActiveSpan consumer;
  observability::ActiveSpan handler;
  observability::ActiveSpan producer;
  std::vector<observability::TraceFormat> formats;  // the trace headers the request came with
};

class RequestObserver {
 public:
  // `tracer` null: tracing off.
  RequestObserver(std::shared_ptr<const observability::Tracer> tracer, std::string group_id, std::string handler_name);

  void consumed(RequestSpans& spans, const Request& request);
  // Whether sending() changes a reply's headers from the request's: it does when tracing and the
  // request came with trace headers (they then name the connector's producer span).
  bool rewrites_headers(const RequestSpans& spans) const { return tracer_ && !spans.formats.empty(); }
  void handler_started(RequestSpans& spans);
  // The handler answered after `elapsed` (`error`: with a failure).
  void handler_answered(RequestSpans& spans, const Error* error, Clock::duration elapsed);
  // The request's outcome is an error: the log line, and the spans marked failed.
  void failed(RequestSpans& spans, const Request& request, const Error& error, bool log_body);
  // A record is about to be produced: a reply or error reply gets a producer span, and its trace
  // headers are rewritten to point at it (the engine's next span is its child) when
  // rewrites_headers(spans).
  void sending(RequestSpans& spans, RecordKind kind, core::OutgoingRecord& record, const Request& request);
  void delivered(RequestSpans& spans, RecordKind kind);
  void produce_failed(const Request& request, RecordKind kind, const std::string& topic, const std::string& error,
                      bool maybe_written);
  void retried();
  // A record given up: it can never be written (critical log line).
  void given_up(const Request& request, RecordKind kind, const std::string& why);
  void late_completion();
  void completed(RequestSpans& spans, Clock::duration end_to_end);
  // Call after every change of the counts (time-weighted figures).
  void load(std::size_t in_flight, std::size_t handling, std::size_t bytes, std::size_t overdue);
  // Closes the time-weighted figures at the end of the run.
  void finish();

  // Log lines of this thread are about the request while the scope lives (JSON logs).
  observability::LogScope about(const RequestSpans& spans, const Request& request) const;
  // "topic[partition]@offset processInstanceUuid=..." for log lines (request values made safe).
  static std::string where(const Request& request);

  RunStats& stats() { return stats_; }
  const RunStats& stats() const { return stats_; }
  observability::ConnectorMetrics& metrics() { return metrics_; }
  const std::shared_ptr<const observability::Tracer>& tracer() const { return tracer_; }

 private:
  std::shared_ptr<const observability::Tracer> tracer_;
  std::string group_id_;
  std::string handler_name_;
  RunStats stats_;
  observability::ConnectorMetrics metrics_;
  // Time-weighted counts, timed with the coarse monotonic clock (a few ms of resolution, a tenth of
  // the cost of a precise reading: load() runs several times per request).
  double since_ = -1;
  std::size_t in_flight_ = 0;
  std::size_t handling_ = 0;
  double in_flight_integral_ = 0;
  double handling_integral_ = 0;
};

}  // namespace fxconnect::runtime
