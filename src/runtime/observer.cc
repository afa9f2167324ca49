#include "runtime/observer.h"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace fxconnect::runtime {

namespace obs = observability;

namespace {
double coarse_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
}  // namespace

std::string_view to_string(RecordKind kind) {
  switch (kind) {
    case RecordKind::reply: return "reply";
    case RecordKind::error_reply: return "error reply";
    case RecordKind::dead_letter: return "dead letter";
  }
  return "record";
}

RequestObserver::RequestObserver(std::shared_ptr<const obs::Tracer> tracer, std::string group_id,
                                 std::string handler_name)
    : tracer_(std::move(tracer)), group_id_(std::move(group_id)), handler_name_(std::move(handler_name)) {}

void RequestObserver::consumed(RequestSpans& spans, const Request& request) {
  ++stats_.consumed;
  ++metrics_.consumed;
  if (request.timestamp >= 0) {
    auto now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    double delay = static_cast<double>(std::max<std::int64_t>(0, now_ms - request.timestamp)) / 1000.0;
    metrics_.consume_delay_seconds.observe(delay);
    stats_.consume_delay.observe(delay);
  }
  if (!tracer_) return;
  auto incoming = obs::extract(request.headers);
  spans.formats = std::move(incoming.formats);
  spans.consumer =
      obs::ActiveSpan::start(tracer_, "process " + request.topic, obs::SpanKind::consumer, incoming.context);
  obs::set_messaging_attributes(spans.consumer, {"process", request.topic, request.partition, request.offset, group_id_,
                                                 request.process_instance_uuid(), request.fx_context()});
  // fx.context is part of the engine's attributes even when empty.
  if (request.fx_context().empty()) spans.consumer.set("fx.context", std::string());
}

void RequestObserver::handler_started(RequestSpans& spans) {
  if (tracer_) spans.handler = spans.consumer.child("handle " + handler_name_, obs::SpanKind::internal);
}

void RequestObserver::handler_answered(RequestSpans& spans, const Error* error, Clock::duration elapsed) {
  metrics_.handler_seconds.observe(std::chrono::duration<double>(elapsed).count());
  if (error) spans.handler.fail(error->message);
  spans.handler.end();
}

void RequestObserver::failed(RequestSpans& spans, const Request& request, const Error& error, bool log_body) {
  auto scope = about(spans, request);
  spans.handler.fail(error.message);
  spans.handler.end();
  spans.consumer.fail(error.message);
  auto message = obs::log_safe(error.message, 1024);
  if (log_body) {
    spdlog::error("{}: {}: {} body={}", where(request), to_string(error.code), message,
                  obs::log_safe(request.body, 1024));
  } else {
    spdlog::error("{}: {}: {}", where(request), to_string(error.code), message);
  }
}

void RequestObserver::sending(RequestSpans& spans, RecordKind kind, core::OutgoingRecord& record,
                              const Request& request) {
  if (!tracer_ || kind == RecordKind::dead_letter) return;
  spans.producer = spans.consumer.child("publish " + record.topic, obs::SpanKind::producer);
  obs::set_messaging_attributes(
      spans.producer, {"publish", record.topic, std::nullopt, std::nullopt, "", request.process_instance_uuid(), ""});
  if (rewrites_headers(spans)) obs::inject(record.headers, spans.producer.context(), spans.formats);
}

void RequestObserver::delivered(RequestSpans& spans, RecordKind kind) {
  switch (kind) {
    case RecordKind::reply: ++stats_.replied_ok; break;
    case RecordKind::error_reply: ++stats_.replied_error; break;
    case RecordKind::dead_letter: ++stats_.dead_lettered; break;
  }
  ++metrics_.replies[static_cast<std::size_t>(kind)];
  if (kind != RecordKind::dead_letter) spans.producer.end();
}

void RequestObserver::produce_failed(const Request& request, RecordKind kind, const std::string& topic,
                                     const std::string& error, bool maybe_written) {
  spdlog::error("{}: {} to '{}' failed: {}{}", where(request), to_string(kind), topic, error,
                maybe_written ? " (it may have been written)" : "");
}

void RequestObserver::retried() {
  ++stats_.produce_retries;
  ++metrics_.produce_retries;
}

void RequestObserver::given_up(const Request& request, RecordKind kind, const std::string& why) {
  ++stats_.undeliverable;
  ++metrics_.undeliverable;
  spdlog::critical("{}: {} given up, it can never be written: {}", where(request), to_string(kind), why);
}

void RequestObserver::late_completion() {
  ++stats_.late_completions;
  ++metrics_.late_completions;
}

void RequestObserver::completed(RequestSpans& spans, Clock::duration end_to_end) {
  spans.consumer.end();
  double seconds = std::chrono::duration<double>(end_to_end).count();
  metrics_.end_to_end_seconds.observe(seconds);
  stats_.end_to_end.observe(seconds);
}

void RequestObserver::load(std::size_t in_flight, std::size_t handling, std::size_t bytes, std::size_t overdue) {
  double now = coarse_seconds();
  if (since_ >= 0) {
    double dt = now - since_;
    in_flight_integral_ += dt * static_cast<double>(in_flight_);
    handling_integral_ += dt * static_cast<double>(handling_);
    if (in_flight_ > 0) stats_.busy_seconds += dt;
  }
  since_ = now;
  in_flight_ = in_flight;
  handling_ = handling;
  stats_.max_in_flight = std::max<std::uint64_t>(stats_.max_in_flight, in_flight);
  stats_.max_handling = std::max<std::uint64_t>(stats_.max_handling, handling);
  stats_.max_in_flight_bytes = std::max<std::uint64_t>(stats_.max_in_flight_bytes, bytes);
  metrics_.in_flight = in_flight;
  metrics_.in_flight_bytes = bytes;
  metrics_.overdue_handlers = overdue;
}

void RequestObserver::finish() {
  load(in_flight_, handling_, metrics_.in_flight_bytes, metrics_.overdue_handlers);
  double busy = stats_.busy_seconds;
  stats_.mean_in_flight = busy > 0 ? in_flight_integral_ / busy : 0;
  stats_.mean_handling = busy > 0 ? handling_integral_ / busy : 0;
}

obs::LogScope RequestObserver::about(const RequestSpans& spans, const Request& request) const {
  bool traced = tracer_ && spans.consumer.context().valid();
  return {traced ? spans.consumer.context().trace_id_hex() : std::string(),
          traced ? spans.consumer.context().span_id_hex() : std::string(), request.process_instance_uuid()};
}

std::string RequestObserver::where(const Request& request) {
  auto uuid = request.process_instance_uuid();
  return fmt::format("{}[{}]@{} processInstanceUuid={}", request.topic, request.partition, request.offset,
                     uuid.empty() ? "-" : obs::log_safe(uuid, 128));
}

}  // namespace fxconnect::runtime
