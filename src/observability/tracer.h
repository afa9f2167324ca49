// Spans and their export: OTLP/HTTP (JSON) to a collector such as Jaeger, batched on a
// background thread through a bounded queue. The message path never waits for the collector:
// when the queue is full or the collector down, spans are dropped and counted.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "observability/trace_context.h"

namespace fxconnect::observability {

enum class SpanKind { internal = 1, server = 2, client = 3, producer = 4, consumer = 5 };  // OTLP numbering

using AttributeValue = std::variant<std::string, std::int64_t, bool>;

struct SpanData {
  TraceContext context;                          // trace id, this span's id, sampled
  std::array<std::uint8_t, 8> parent_span_id{};  // zero: a root span
  std::string name;
  SpanKind kind = SpanKind::internal;
  std::uint64_t start_ns = 0;  // Unix epoch nanoseconds
  std::uint64_t end_ns = 0;
  std::vector<std::pair<std::string, AttributeValue>> attributes;
  bool error = false;
  std::string status_message;
};

// One batch as an OTLP/HTTP JSON ExportTraceServiceRequest.
std::string otlp_json(const std::string& service_name, const std::vector<SpanData>& spans);

// How an exporter reaches its collector beyond the endpoint's URL.
struct OtlpSettings {
  // For an https:// endpoint (PEM files). The collector's certificate chain and its name (the
  // endpoint's host: a DNS name or an IP address) are always verified: against `ca_file`, or the
  // system's trust store when it is empty. `cert_file` and `key_file` (together): a client
  // certificate for a collector that asks for one (mutual TLS).
  std::string ca_file, cert_file, key_file;
  // Sent with every export, e.g. a hosted collector's API key. The values are secrets: they are
  // registered with core::add_secret() and never logged.
  std::vector<std::pair<std::string, std::string>> headers;
  std::size_t queue_capacity = 16384;
};

// Every network step of an export (name resolution, connect, TLS handshake, write, read) is
// bounded: one attempt gets at most kAttemptTimeout, so a collector that accepts and never answers
// costs a batch at most three attempts (~6.3 s with backoff), never the exporter thread.
class OtlpExporter {
 public:
  static constexpr std::chrono::milliseconds kAttemptTimeout{2000};  // one request, all steps
  static constexpr std::chrono::milliseconds kFlushTime{2000};       // stop()'s budget

  // `endpoint`: http://host:port[/prefix] or https://host:port[/prefix]; spans go to
  // <endpoint>/v1/traces. Throws std::invalid_argument for a malformed endpoint, TLS settings with
  // an http:// endpoint, a header that cannot be sent, or TLS files that cannot be loaded (the
  // message names the file and OpenSSL's reason).
  OtlpExporter(std::string service_name, const std::string& endpoint, std::size_t queue_capacity = 16384);
  OtlpExporter(std::string service_name, const std::string& endpoint, OtlpSettings settings);
  ~OtlpExporter();  // stop()
  OtlpExporter(const OtlpExporter&) = delete;
  OtlpExporter& operator=(const OtlpExporter&) = delete;

  // Exports what is queued for at most kFlushTime (no attempt or retry runs past it; one begun
  // just before the call may take its full kAttemptTimeout), drops the rest, then stops the
  // thread; later spans are dropped. Runs at SIGTERM, so it returns even when the collector
  // hangs; afterwards exported() and dropped() are final. Call it from one thread only.
  void stop();

  // Never blocks on the network: a full queue drops the span (counted).
  void submit(SpanData span);
  std::uint64_t exported() const { return exported_; }
  std::uint64_t dropped() const { return dropped_; }

 private:
  void run();
  // POSTs one batch; true when the collector took it. Retries 429/502/503/504 and network errors
  // (timeouts included) with backoff, up to 3 attempts, none after the stop deadline. A refused
  // certificate is not retried: it would be refused again.
  bool post(const std::string& body);
  // One request, abandoned at `deadline`: the HTTP status, kNetworkError for a network error or
  // timeout, kTlsRefused when the TLS handshake failed on a certificate.
  int attempt(const std::string& body, std::chrono::steady_clock::time_point deadline);
  static constexpr int kNetworkError = 0;
  static constexpr int kTlsRefused = -1;

  std::string service_name_;
  std::string host_, port_, path_;
  std::vector<std::pair<std::string, std::string>> headers_;
  struct Tls;                      // OpenSSL's context, defined in the .cc
  std::shared_ptr<Tls> tls_;       // null: plain http://
  std::string tls_refusal_;        // why the last handshake refused the certificate (exporter thread)
  bool told_tls_refused_ = false;  // the first refusal is a warning, the rest debug (exporter thread)
  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<SpanData> queue_;
  bool stopping_ = false;
  // Set by stop(): no attempt starts after it, and none begun after stop() runs past it
  // (guarded by mutex_).
  std::chrono::steady_clock::time_point stop_deadline_ = std::chrono::steady_clock::time_point::max();
  std::atomic<std::uint64_t> exported_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::thread thread_;
};

// Makes spans: ids, times, sampling. `exporter` may be null (tracing off: spans are not recorded,
// but contexts are still made so trace headers stay consistent).
class Tracer {
 public:
  Tracer(Sampler sampler, std::shared_ptr<OtlpExporter> exporter) : sampler_(sampler), exporter_(std::move(exporter)) {}

  // A span continuing `parent` (nullopt: a new trace, sampled per the sampler; a parent's own
  // decision is followed per the sampler too).
  SpanData start(std::string name, SpanKind kind, const std::optional<TraceContext>& parent) const;
  // A child of an in-process span (same trace, same sampling decision).
  SpanData start_child(std::string name, SpanKind kind, const SpanData& parent) const {
    return start_child(std::move(name), kind, parent.context);
  }
  SpanData start_child(std::string name, SpanKind kind, const TraceContext& parent) const;
  // Stamps the end time and hands a sampled span to the exporter.
  void end(SpanData& span) const;
  bool recording() const { return exporter_ != nullptr; }

 private:
  Sampler sampler_;
  std::shared_ptr<OtlpExporter> exporter_;
};

std::uint64_t now_unix_ns();

// A span being recorded. It ends exactly once — at end() or when destroyed — so no path can
// forget to export it or export it twice. Move-only. A default-constructed one (tracing off)
// records nothing; its context is invalid. It is one pointer, null when tracing is off: every
// pending request holds three, and with tracing off its loop built, moved and destroyed three
// full span records per request for nothing (docs/performance.md).
class ActiveSpan {
 public:
  ActiveSpan() = default;
  ActiveSpan(std::shared_ptr<const Tracer> tracer, SpanData data);
  ActiveSpan(ActiveSpan&& other) noexcept = default;
  ActiveSpan& operator=(ActiveSpan&& other) noexcept;
  ActiveSpan(const ActiveSpan&) = delete;
  ActiveSpan& operator=(const ActiveSpan&) = delete;
  ~ActiveSpan() { end(); }

  // A new span continuing `parent` (nullopt: a new trace); a default one when `tracer` is null.
  static ActiveSpan start(const std::shared_ptr<const Tracer>& tracer, std::string name, SpanKind kind,
                          const std::optional<TraceContext>& parent);
  // A child of this span (same trace, same sampling decision); a default one when this is.
  ActiveSpan child(std::string name, SpanKind kind) const;

  bool open() const { return state_ && state_->open; }
  // Valid while open and after the end (trace and span ids for log lines and trace headers).
  const TraceContext& context() const;
  void set(std::string key, AttributeValue value);
  // Marks the span failed with `message` (its status), if still open.
  void fail(std::string message);
  void end();

 private:
  struct State {
    State(std::shared_ptr<const Tracer> t, SpanData d) : tracer(std::move(t)), data(std::move(d)) {}
    std::shared_ptr<const Tracer> tracer;
    SpanData data;  // after the end: its context only
    bool open = true;
  };
  std::unique_ptr<State> state_;  // null: tracing off
};
static_assert(sizeof(ActiveSpan) == sizeof(void*), "a span with tracing off stays one pointer");

// The OpenTelemetry messaging attributes fxconnect puts on the spans of Kafka records, on both
// sides (the connector's consume/publish spans, the engine simulator's send/receive spans).
struct MessagingSpan {
  std::string_view operation;  // "process", "publish", "receive"
  std::string_view topic;
  std::optional<std::int32_t> partition;
  std::optional<std::int64_t> offset;
  std::string_view consumer_group;  // "" = none
  std::string_view process_instance_uuid;
  std::string_view fx_context;  // "" = none
};
void set_messaging_attributes(ActiveSpan& span, const MessagingSpan& what);

}  // namespace fxconnect::observability
