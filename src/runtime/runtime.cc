// The dispatcher and lifecycle of a connector: what happens to each consumed request until its
// outcome is on Kafka, and how intake, commits, rebalances and stops follow from that.
// Kafka I/O lives in kafka::Source (consumer) and kafka::Replier (producer); everything here runs
// on one event-loop thread, so the state below needs no locks.
#include "runtime/runtime.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <spdlog/spdlog.h>

#include "core/duration.h"
#include "core/error_reply.h"
#include "core/records.h"
#include "kafka/offset_tracker.h"
#include "kafka/replier.h"
#include "kafka/source.h"
#include "observability/http_server.h"
#include "observability/logging.h"
#include "observability/metrics.h"
#include "observability/tracer.h"
#include "runtime/call.h"
#include "runtime/key_lanes.h"

namespace fxconnect::runtime {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;
using kafka::TopicPartition;

// What a produced record is for. It travels in the delivery tag with the request's id.
enum class RecordKind : std::uint64_t { reply = 0, error_reply = 1, dead_letter = 2 };
constexpr std::uint64_t kKindBits = 2;

std::uint64_t make_tag(std::uint64_t id, RecordKind kind) { return (id << kKindBits) | static_cast<std::uint64_t>(kind); }
std::pair<std::uint64_t, RecordKind> read_tag(std::uint64_t tag) {
  return {tag >> kKindBits, static_cast<RecordKind>(tag & ((1u << kKindBits) - 1))};
}

std::string_view kind_name(RecordKind kind) {
  switch (kind) {
    case RecordKind::reply: return "reply";
    case RecordKind::error_reply: return "error reply";
    case RecordKind::dead_letter: return "dead letter";
  }
  return "record";
}

std::string_view ordering_name(config::Ordering ordering) {
  switch (ordering) {
    case config::Ordering::key: return "key";
    case config::Ordering::partition: return "partition";
    case config::Ordering::none: return "none";
  }
  return "key";
}

// At most `limit` bytes of `bytes` for a log line: printable ASCII as is, the rest as \xHH.
std::string printable(std::string_view bytes, std::size_t limit) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size() && i < limit; ++i) {
    auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (bytes.size() > limit) out += fmt::format("...({} bytes)", bytes.size());
  return out;
}

std::string names(const std::vector<TopicPartition>& partitions) {
  std::string out;
  for (const auto& [topic, partition] : partitions) out += fmt::format("{}{}[{}]", out.empty() ? "" : ",", topic, partition);
  return out;
}

// How long intake may stay held at the in-flight limit before the partitions are paused (see
// enter_limit): below the smallest max.poll.interval.ms a group allows (it must be at least
// session.timeout.ms, at least 6 s on a default broker), and short enough not to hold up a
// rebalance noticeably.
constexpr std::chrono::seconds kHoldBeforePause{5};

// After the drain at stop, how long the producer may take to deliver what is still queued.
constexpr milliseconds kStopFlush{5'000};
// Nesting accepted in request bodies (Boost.JSON's default of 32 refuses real documents).
constexpr std::size_t kMaxJsonDepth = 1024;

// Backoff for producing an error reply or dead letter again: 0.5 s doubling up to 30 s.
milliseconds retry_backoff(int attempt) {
  return std::min(milliseconds(30'000), milliseconds(500) * (1 << std::min(attempt - 1, 6)));
}

enum class Stage {
  waiting,   // consumed, waiting behind an earlier request of its key
  handling,  // in the handler
  replying,  // outcome decided; its record(s) produced, not all acknowledged yet
};

// One consumed request, from consumption to its terminal outcome acknowledged by Kafka.
struct Pending {
  Pending(std::uint64_t id_, asio::io_context& io) : id(id_), deadline_timer(io) {}

  std::uint64_t id;
  std::shared_ptr<Request> request;  // shared read-only with the handler once it starts
  TopicPartition partition;
  std::uint64_t generation = 0;  // of the partition's assignment it was consumed under
  std::string lane;      // "" = not ordered
  bool in_lane = false;  // holds or waits for its place in `lane`
  Stage stage = Stage::waiting;
  Clock::time_point consumed_at;
  Clock::time_point handler_started;
  asio::steady_timer deadline_timer;
  // One per RecordKind, made on the first retry (rare): the records retry independently.
  std::array<std::unique_ptr<asio::steady_timer>, 3> retry_timers;
  std::weak_ptr<HandlerCall> call;
  // Tracing (only when observability.tracing is on): the request's spans, and the trace header
  // formats it came with (its replies' headers are rewritten in those).
  observability::SpanData consumer_span, handler_span, producer_span;
  std::vector<observability::TraceFormat> trace_formats;
  int unacked = 0;                                      // records produced, not yet acknowledged
  std::map<RecordKind, core::OutgoingRecord> records;  // kept until acknowledged, for retries
  int retries = 0;
};

struct PartitionState {
  kafka::OffsetTracker tracker;
  std::int64_t stored = -1;     // last offset stored for librdkafka to commit
  std::int64_t committed = -1;  // last offset librdkafka reported committed
  bool revoking = false;
  std::uint64_t generation = 0;  // which assignment of the partition this is
};

// Time-weighted counts for the stop line and tests: how much was in flight, how much handled.
class LoadFigures {
 public:
  // Call after every change of either count.
  void update(std::size_t in_flight, std::size_t handling, RunStats& stats) {
    auto now = Clock::now();
    if (since_ != Clock::time_point{}) {
      double dt = std::chrono::duration<double>(now - since_).count();
      in_flight_integral_ += dt * static_cast<double>(in_flight_);
      handling_integral_ += dt * static_cast<double>(handling_);
      if (in_flight_ > 0) stats.busy_seconds += dt;
    }
    since_ = now;
    in_flight_ = in_flight;
    handling_ = handling;
    stats.max_in_flight = std::max<std::uint64_t>(stats.max_in_flight, in_flight);
    stats.max_handling = std::max<std::uint64_t>(stats.max_handling, handling);
  }
  void finish(RunStats& stats) {
    update(in_flight_, handling_, stats);
    double busy = stats.busy_seconds;
    stats.mean_in_flight = busy > 0 ? in_flight_integral_ / busy : 0;
    stats.mean_handling = busy > 0 ? handling_integral_ / busy : 0;
  }

 private:
  Clock::time_point since_;
  std::size_t in_flight_ = 0;
  std::size_t handling_ = 0;
  double in_flight_integral_ = 0;
  double handling_integral_ = 0;
};

}  // namespace

class Runtime::Impl {
 public:
  Impl(config::ConnectorConfig config, std::unique_ptr<Handler> handler)
      : config_(std::move(config)), handler_(std::move(handler)),
        answers_(std::make_shared<AnswerSink>([this](std::uint64_t id, Result<Reply> answer) {
          asio::post(io_, [this, id, answer = std::move(answer)]() mutable { on_answer(id, std::move(answer)); });
        })),
        grace_timer_(io_), revoke_timer_(io_), signals_(io_), limit_timer_(io_) {
  }

  ~Impl() {
    answers_->disconnect();
    pending_.clear();
    source_.reset();
    replier_.reset();
  }

  int run(bool handle_signals);
  void request_stop() {
    asio::post(io_, [this] { begin_stop("stop requested"); });
  }
  RunStats stats() const { return stats_; }

 private:
  // --- the path of one request ---
  void on_message(const rd_kafka_message_t& m);
  void start(Pending& p);
  void on_answer(std::uint64_t id, Result<Reply> answer);
  void on_deadline(std::uint64_t id);
  void fail(Pending& p, Error error);
  void send(Pending& p, RecordKind kind, core::OutgoingRecord record);
  void on_delivery(std::uint64_t tag, rd_kafka_resp_err_t err, bool maybe_written);
  void retry_later(Pending& p, RecordKind kind);
  void complete(Pending& p);
  void leave_handling(Pending& p);
  void counts_changed() { load_.update(pending_.size(), handling_, stats_); }
  std::string where(const Pending& p) const;
  // Log lines inside are about `p` (JSON logs carry its ids).
  observability::LogScope about(const Pending& p) const {
    bool traced = tracer_ && p.consumer_span.context.valid();
    return {traced ? p.consumer_span.context.trace_id_hex() : std::string(),
            traced ? p.consumer_span.context.span_id_hex() : std::string(), p.request->process_instance_uuid()};
  }

  // --- group events ---
  void on_assigned(const std::vector<TopicPartition>& partitions);
  void on_revoked(const std::vector<TopicPartition>& partitions, bool lost);
  void check_revoked(bool grace_expired);

  // --- intake, commits, stop ---
  std::vector<TopicPartition> assigned(bool include_revoking) const;
  void enter_limit();
  void leave_limit();
  bool over_limit() const {
    return pending_.size() >= static_cast<std::size_t>(config_.processing.max_in_flight) ||
           in_flight_bytes_ >= static_cast<std::size_t>(config_.processing.max_in_flight_bytes);
  }
  // Stores the committable offsets (of `only`, or of every partition) for librdkafka to commit.
  void store_offsets(const std::vector<TopicPartition>* only = nullptr);
  void request_store();
  void begin_stop(const std::string& why);
  void check_stopped();
  void finish_stop(bool drained);

  config::ConnectorConfig config_;
  asio::io_context io_{1};
  std::unique_ptr<Handler> handler_;  // after io_: destroyed first, its timers and sockets with it
  std::shared_ptr<AnswerSink> answers_;
  asio::steady_timer grace_timer_;
  asio::steady_timer revoke_timer_;
  asio::signal_set signals_;
  std::unique_ptr<kafka::Replier> replier_;
  std::unique_ptr<kafka::Source> source_;

  std::unordered_map<std::uint64_t, std::unique_ptr<Pending>> pending_;
  std::map<TopicPartition, PartitionState> partitions_;
  std::vector<TopicPartition> revoking_;  // revoked, draining, not yet released
  KeyLanes lanes_;
  std::uint64_t next_id_ = 1;
  std::size_t handling_ = 0;  // requests in Stage::handling
  std::size_t in_flight_bytes_ = 0;  // request bodies of pending_
  std::uint64_t next_generation_ = 1;
  bool store_posted_ = false;         // a store_offsets() is posted for this turn of the loop
  bool final_commit_failed_ = false;  // a commit failed while closing

  bool at_limit_ = false;  // max_in_flight reached: not taking from the consumer's queue
  bool paused_ = false;    // ... for longer than kHoldBeforePause: partitions paused
  asio::steady_timer limit_timer_;
  std::uint64_t limit_hits_ = 0;
  Clock::time_point last_limit_log_{};
  bool stopping_ = false;  // no new intake; finishing in-flight work
  bool closing_ = false;   // past the drain: closing the clients
  int exit_code_ = exit_clean;

  RunStats stats_;
  LoadFigures load_;

  // Observability: metrics and health, served on this loop when observability.http.listen is set.
  observability::ConnectorMetrics metrics_;
  std::unique_ptr<observability::HttpServer> http_;
  bool in_group_ = false;                  // got an assignment (possibly empty) and still a member
  bool brokers_down_ = false;              // librdkafka: all brokers down, and none heard from since
  std::unordered_set<std::uint64_t> overdue_;  // requests whose handler is still running past the deadline
  observability::Page ready_page();
  observability::Page metrics_page();
  std::shared_ptr<observability::OtlpExporter> exporter_;
  std::shared_ptr<observability::Tracer> tracer_;  // null: tracing off
  void end_handler_span(Pending& p, const Error* error);
};

// --- lifecycle -------------------------------------------------------------------------------

int Runtime::Impl::run(bool handle_signals) {
  auto fatal = [this](const std::string& why) {
    spdlog::critical("{}; stopping (unanswered requests are redelivered)", why);
    exit_code_ = exit_fatal;
    asio::post(io_, [this] { begin_stop("fatal Kafka error"); });
  };
  replier_ = std::make_unique<kafka::Replier>(
      io_, kafka::producer_conf(config_), std::vector<std::string>{config_.reply.topic, config_.errors.dlq_topic},
      [this](std::uint64_t tag, rd_kafka_resp_err_t err, bool maybe_written) { on_delivery(tag, err, maybe_written); },
      fatal);
  source_ = std::make_unique<kafka::Source>(
      io_, kafka::consumer_conf(config_),
      // librdkafka anchors only the start of a pattern: the whole topic name must match.
      config_.input.topic.empty() ? "^(" + config_.input.pattern + ")$" : config_.input.topic,
      kafka::Source::Events{
          [this](const rd_kafka_message_t& m) { on_message(m); },
          [this](const std::vector<TopicPartition>& parts) { on_assigned(parts); },
          [this](const std::vector<TopicPartition>& parts, bool lost) { on_revoked(parts, lost); },
          [this](const TopicPartition& tp, std::int64_t offset, rd_kafka_resp_err_t err) {
            if (err) {
              if (closing_) final_commit_failed_ = true;
              return;
            }
            if (auto it = partitions_.find(tp); it != partitions_.end()) {
              it->second.committed = std::max(it->second.committed, offset);
            }
          },
          fatal, nullptr, [this](bool down) { brokers_down_ = down; }});
  source_->start();
  if (!config_.observability.otlp_endpoint.empty()) {
    try {
      exporter_ = std::make_shared<observability::OtlpExporter>(config_.observability.service_name,
                                                                config_.observability.otlp_endpoint);
    } catch (const std::exception& e) {
      throw ConfigError(fmt::format("{}: observability.tracing.otlp_endpoint: {}", config_.source, e.what()));
    }
    tracer_ = std::make_shared<observability::Tracer>(*observability::Sampler::parse(config_.observability.sampler), exporter_);
    spdlog::info("tracing: OTLP/HTTP to {}/v1/traces, sampler {}, service {}", config_.observability.otlp_endpoint,
                 config_.observability.sampler, config_.observability.service_name);
  }
  if (!config_.observability.http_listen.empty()) {
    try {
      http_ = std::make_unique<observability::HttpServer>(
          io_, config_.observability.http_listen,
          std::map<std::string, observability::HttpServer::Route>{
              {"/metrics", [this] { return metrics_page(); }},
              {"/health/live", [] { return observability::Page{200, "text/plain; charset=utf-8", "live\n"}; }},
              {"/health/ready", [this] { return ready_page(); }}});
    } catch (const std::exception& e) {
      throw ConfigError(fmt::format("{}: observability.http.listen: {}", config_.source, e.what()));
    }
    spdlog::info("http: metrics and health on http://{}", http_->address());
  }
  spdlog::info("started: group={} input={} reply={} handler={} ordering={} max_in_flight={} deadline={}",
               config_.kafka.group_id, source_->subscription(), config_.reply.topic, config_.handler.name,
               ordering_name(config_.processing.ordering), config_.processing.max_in_flight,
               core::format_duration(config_.processing.deadline));
  if (handle_signals) {
    signals_.add(SIGTERM);
    signals_.add(SIGINT);
    signals_.async_wait([this](auto ec, int sig) {
      if (!ec) begin_stop(sig == SIGTERM ? "SIGTERM" : "SIGINT");
    });
  }
  // A handler's own callbacks (timers, I/O) run on this loop too. An exception escaping one must
  // not end the connector: it is logged, and the request it was working on is answered `internal`
  // when its Call is released (or `deadline_exceeded`).
  for (;;) {
    try {
      io_.run();
      break;
    } catch (const std::exception& e) {
      spdlog::error("a handler callback threw: {}; the connector goes on", e.what());
    } catch (...) {
      spdlog::error("a handler callback threw a non-standard exception; the connector goes on");
    }
  }

  load_.finish(stats_);
  if (exporter_) {
    spdlog::info("tracing: spans exported={} dropped={} (so far; the exporter flushes the rest on exit)",
                 exporter_->exported(), exporter_->dropped());
  }
  spdlog::info(
      "stopped: exit={} consumed={} replied_ok={} replied_error={} dead_lettered={} produce_retries={} "
      "undeliverable={} late_completions={} in_flight_mean={:.1f} in_flight_max={} handling_mean={:.1f} "
      "handling_max={} busy_s={:.3f}",
      exit_code_, stats_.consumed, stats_.replied_ok, stats_.replied_error, stats_.dead_lettered,
      stats_.produce_retries, stats_.undeliverable, stats_.late_completions, stats_.mean_in_flight, stats_.max_in_flight,
      stats_.mean_handling, stats_.max_handling, stats_.busy_seconds);
  return exit_code_;
}

void Runtime::Impl::begin_stop(const std::string& why) {
  if (stopping_) return;
  stopping_ = true;
  spdlog::info("stopping ({}): {} in flight, grace {}", why, pending_.size(),
               core::format_duration(config_.processing.shutdown_grace));
  if (source_) {
    source_->pause(assigned(true));
    source_->resume_taking();  // nothing more to consume, but group events must be served
  }
  limit_timer_.cancel();
  grace_timer_.expires_after(config_.processing.shutdown_grace);
  grace_timer_.async_wait([this](auto ec) {
    if (!ec) finish_stop(false);
  });
  check_stopped();
}

// May run inside a librdkafka callback (a delivery report): the clients are closed from the
// loop instead, never re-entrantly from their own poll call.
void Runtime::Impl::check_stopped() {
  if (!stopping_ || closing_ || !pending_.empty()) return;
  asio::post(io_, [this] {
    if (!closing_ && pending_.empty()) finish_stop(true);
  });
}

void Runtime::Impl::finish_stop(bool drained) {
  if (closing_) return;
  closing_ = true;
  grace_timer_.cancel();
  revoke_timer_.cancel();
  limit_timer_.cancel();
  signals_.cancel();
  if (!drained) {
    spdlog::warn("shutdown grace of {} expired with {} requests unfinished; they will be redelivered",
                 core::format_duration(config_.processing.shutdown_grace), pending_.size());
    if (exit_code_ == exit_clean) exit_code_ = exit_grace_expired;
  }
  for (auto& [id, p] : pending_) {
    if (auto call = p->call.lock()) call->cancel();
  }
  // Records already handed to the producer get their reports (and offsets) before the commit.
  replier_->flush(kStopFlush);
  store_offsets();
  if (!revoking_.empty()) {
    // Revoked partitions still draining: librdkafka waits for their release, and close() would
    // wait with it. What was answered of them is stored; the rest goes to the next owner.
    source_->release(revoking_);
    revoking_.clear();
  }
  source_->close();  // commits what is stored
  if (final_commit_failed_ && exit_code_ == exit_clean) {
    spdlog::warn("the final commit failed: answered requests will be answered again after a restart");
    exit_code_ = exit_grace_expired;
  }
  in_group_ = false;
  if (http_) http_->close();
  pending_.clear();
  io_.stop();
}

// --- the path of one request ------------------------------------------------------------------

void Runtime::Impl::on_message(const rd_kafka_message_t& m) {
  auto request = std::make_shared<Request>(kafka::to_request(m));
  TopicPartition tp{request->topic, request->partition};
  auto part = partitions_.find(tp);
  if (part == partitions_.end()) {
    // Not ours (a stale message after a revoke): the new owner will get it. Nothing is lost.
    spdlog::debug("message from unassigned {}[{}] offset {} skipped", tp.first, tp.second, request->offset);
    return;
  }
  part->second.tracker.add(request->offset);
  auto generation = part->second.generation;

  auto id = next_id_++;
  auto owned = std::make_unique<Pending>(id, io_);
  Pending& p = *owned;
  p.partition = tp;
  p.generation = generation;
  p.consumed_at = Clock::now();
  switch (config_.processing.ordering) {
    case config::Ordering::key:
      p.lane = request->key && !request->key->empty() ? *request->key : std::string(request->process_instance_uuid());
      if (!p.lane.empty()) p.lane.insert(0, "k:");
      break;
    case config::Ordering::partition:
      p.lane = fmt::format("p:{}[{}]", tp.first, tp.second);
      break;
    case config::Ordering::none:
      break;
  }
  if (tracer_) {
    auto incoming = observability::extract(request->headers);
    p.trace_formats = std::move(incoming.formats);
    p.consumer_span = tracer_->start("process " + tp.first, observability::SpanKind::consumer, incoming.context);
    auto& a = p.consumer_span.attributes;
    a.emplace_back("messaging.system", std::string("kafka"));
    a.emplace_back("messaging.operation", std::string("process"));
    a.emplace_back("messaging.destination.name", tp.first);
    a.emplace_back("messaging.destination.partition.id", std::to_string(tp.second));
    a.emplace_back("messaging.kafka.destination.partition", std::int64_t{tp.second});
    a.emplace_back("messaging.kafka.message.offset", std::int64_t{request->offset});
    a.emplace_back("messaging.consumer.group.name", config_.kafka.group_id);
    a.emplace_back("messaging.kafka.consumer.group", config_.kafka.group_id);
    a.emplace_back("fx.processInstanceUuid", std::string(request->process_instance_uuid()));
    a.emplace_back("fx.context", std::string(request->fx_context()));
  }
  p.request = std::move(request);
  // The engine waits from the moment the request is consumed, queued behind its key or not.
  p.deadline_timer.expires_at(p.consumed_at + config_.processing.deadline);
  p.deadline_timer.async_wait([this, id](auto ec) {
    if (!ec) on_deadline(id);
  });
  in_flight_bytes_ += p.request->body.size();
  pending_.emplace(id, std::move(owned));
  ++stats_.consumed;
  ++metrics_.consumed;
  counts_changed();
  if (!at_limit_ && over_limit()) enter_limit();
  p.in_lane = !p.lane.empty();
  if (!p.in_lane || lanes_.enter(p.lane, id)) start(p);
}

void Runtime::Impl::start(Pending& p) {
  p.stage = Stage::handling;
  ++handling_;
  counts_changed();
  const Request& req = *p.request;
  if (req.body.empty()) {
    fail(p, Error{ErrorCode::invalid_request, "the request body is empty; expected a JSON document", false, {}});
    return;
  }
  boost::system::error_code ec;
  boost::json::parse_options options;  // strict JSON; invalid UTF-8 is refused
  options.max_depth = kMaxJsonDepth;
  auto json = boost::json::parse(req.body, ec, {}, options);
  if (ec) {
    fail(p, Error{ErrorCode::invalid_request,
                  fmt::format("the request body is not valid JSON ({}); {} bytes received", ec.message(), req.body.size()),
                  false,
                  {}});
    return;
  }
  p.request->json = std::move(json);  // from here on the request is shared read-only
  p.handler_started = Clock::now();
  if (tracer_) {
    p.handler_span = tracer_->start_child("handle " + config_.handler.name, observability::SpanKind::internal,
                                          p.consumer_span);
  }
  auto call = std::make_shared<HandlerCall>(answers_, p.id, std::shared_ptr<const Request>(p.request),
                                            io_.get_executor(), p.consumed_at + config_.processing.deadline,
                                            tracer_, p.handler_span);
  p.call = call;
  try {
    handler_->handle(std::move(call));
  } catch (const std::exception& e) {
    auto scope = about(p);
    // An exception must not cross the message path; if the handler did not answer, its Call,
    // released here, answers `internal`.
    spdlog::error("{}: the handler threw: {}", where(p), e.what());
  } catch (...) {
    spdlog::error("{}: the handler threw a non-standard exception", where(p));
  }
}

void Runtime::Impl::on_answer(std::uint64_t id, Result<Reply> answer) {
  auto it = pending_.find(id);
  overdue_.erase(id);
  if (it == pending_.end() || it->second->stage != Stage::handling) {
    ++stats_.late_completions;
    spdlog::debug("request #{}: the handler answered after the outcome was decided; ignored", id);
    return;
  }
  Pending& p = *it->second;
  p.deadline_timer.cancel();
  metrics_.handler_seconds.observe(std::chrono::duration<double>(Clock::now() - p.handler_started).count());
  if (!answer) {
    fail(p, answer.error());
    return;
  }
  end_handler_span(p, nullptr);
  leave_handling(p);
  send(p, RecordKind::reply, core::make_reply(*p.request, config_.reply.topic, std::move(answer.value().body)));
}

void Runtime::Impl::on_deadline(std::uint64_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  Pending& p = *it->second;
  if (p.stage == Stage::replying) return;  // outcome decided; the producer has its own timeout
  if (p.stage == Stage::waiting && p.in_lane && lanes_.remove_waiting(p.lane, p.id)) p.in_lane = false;
  if (p.stage == Stage::handling && !p.call.expired()) overdue_.insert(p.id);  // until it answers
  if (auto call = p.call.lock()) call->cancel();
  fail(p, Error{ErrorCode::deadline_exceeded,
                fmt::format("no reply within the deadline of {}", core::format_duration(config_.processing.deadline)),
                true,
                {}});
}

void Runtime::Impl::end_handler_span(Pending& p, const Error* error) {
  if (!tracer_ || !p.handler_span.context.valid() || p.handler_span.end_ns) return;
  if (error) {
    p.handler_span.error = true;
    p.handler_span.status_message = error->message;
  }
  tracer_->end(p.handler_span);
  p.handler_span.end_ns = 1;  // ended (the data went to the exporter)
}

void Runtime::Impl::leave_handling(Pending& p) {
  if (p.stage == Stage::handling) {
    --handling_;
    p.stage = Stage::replying;
    counts_changed();
  }
  p.stage = Stage::replying;
}

void Runtime::Impl::fail(Pending& p, Error error) {
  auto scope = about(p);
  end_handler_span(p, &error);
  if (tracer_) {
    p.consumer_span.error = true;
    p.consumer_span.status_message = error.message;
  }
  leave_handling(p);
  p.deadline_timer.cancel();
  if (config_.log.bodies) {
    spdlog::error("{}: {}: {} body={}", where(p), to_string(error.code), error.message, printable(p.request->body, 1024));
  } else {
    spdlog::error("{}: {}: {}", where(p), to_string(error.code), error.message);
  }
  if (!config_.errors.dlq_topic.empty()) {
    send(p, RecordKind::dead_letter, core::make_dead_letter(*p.request, config_.errors.dlq_topic, error));
  }
  send(p, RecordKind::error_reply, core::make_reply(*p.request, config_.reply.topic, core::error_reply_body(error)));
}

void Runtime::Impl::send(Pending& p, RecordKind kind, core::OutgoingRecord record) {
  if (tracer_ && kind != RecordKind::dead_letter) {
    // The reply's trace headers point at this span, so the engine's next span is its child.
    p.producer_span = tracer_->start_child("publish " + record.topic, observability::SpanKind::producer, p.consumer_span);
    p.producer_span.attributes.emplace_back("messaging.system", std::string("kafka"));
    p.producer_span.attributes.emplace_back("messaging.operation", std::string("publish"));
    p.producer_span.attributes.emplace_back("messaging.destination.name", record.topic);
    p.producer_span.attributes.emplace_back("fx.processInstanceUuid", std::string(p.request->process_instance_uuid()));
    observability::inject(record.headers, p.producer_span.context, p.trace_formats);
  }
  auto& kept = p.records[kind] = std::move(record);
  ++p.unacked;
  replier_->send(kept, make_tag(p.id, kind));
}

void Runtime::Impl::on_delivery(std::uint64_t tag, rd_kafka_resp_err_t err, bool maybe_written) {
  auto [id, kind] = read_tag(tag);
  auto it = pending_.find(id);
  if (it == pending_.end()) {
    spdlog::warn("delivery report for unknown request #{} ({})", id, kind_name(kind));
    return;
  }
  Pending& p = *it->second;
  if (!err) {
    if (kind == RecordKind::reply) ++stats_.replied_ok;
    if (kind == RecordKind::error_reply) ++stats_.replied_error;
    if (kind == RecordKind::dead_letter) ++stats_.dead_lettered;
    ++metrics_.replies[static_cast<std::size_t>(kind)];
    if (tracer_ && kind != RecordKind::dead_letter && p.producer_span.context.valid() && !p.producer_span.end_ns) {
      tracer_->end(p.producer_span);
      p.producer_span.end_ns = 1;
    }
    p.records.erase(kind);
    if (--p.unacked == 0) complete(p);
    return;
  }
  bool retriable = kafka::is_retriable_produce_error(err);
  auto scope = about(p);
  spdlog::error("{}: {} to '{}' failed: {}: {}{}", where(p), kind_name(kind), p.records[kind].topic,
                rd_kafka_err2name(err), rd_kafka_err2str(err), maybe_written ? " (it may have been written)" : "");
  if (closing_) return;  // stopping: not committed, so redelivered after a restart
  if (kind == RecordKind::reply) {
    if (maybe_written && retriable) {
      // It may be on Kafka already: an error reply could contradict it. Send the same reply again
      // (at worst a duplicate reply, which at-least-once allows).
      return retry_later(p, kind);
    }
    // The reply cannot be delivered: the process gets an error reply instead.
    --p.unacked;
    p.records.erase(kind);
    bool too_large = err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE;
    fail(p, Error{too_large ? ErrorCode::reply_too_large : ErrorCode::reply_failed,
                  fmt::format("the reply could not be produced: {}", rd_kafka_err2str(err)), retriable, {}});
    return;
  }
  if (!retriable) {
    // A record that can never be written (its headers alone too large, say): retrying would block
    // this partition's commits forever and redeliver the request after every restart. Given up,
    // loudly; the dead letter, if any, still carries the request.
    spdlog::critical("{}: {} given up, it can never be written: {}", where(p), kind_name(kind), rd_kafka_err2str(err));
    ++stats_.undeliverable;
    p.records.erase(kind);
    if (--p.unacked == 0) complete(p);
    return;
  }
  // Must reach Kafka: try again with backoff. The offset stays uncommitted meanwhile, so a crash
  // now redelivers the request.
  retry_later(p, kind);
}

void Runtime::Impl::retry_later(Pending& p, RecordKind kind) {
  ++stats_.produce_retries;
  auto& timer = p.retry_timers[static_cast<std::size_t>(kind)];
  if (!timer) timer = std::make_unique<asio::steady_timer>(io_);
  timer->expires_after(retry_backoff(++p.retries));
  timer->async_wait([this, id = p.id, kind](auto ec) {
    if (ec) return;
    if (auto again = pending_.find(id); again != pending_.end()) {
      replier_->send(again->second->records[kind], make_tag(id, kind));
    }
  });
}

void Runtime::Impl::complete(Pending& p) {
  auto id = p.id;
  auto part = partitions_.find(p.partition);
  if (part != partitions_.end() && part->second.generation == p.generation) {
    part->second.tracker.complete(p.request->offset);  // not a later assignment's tracker
    request_store();
  }
  in_flight_bytes_ -= p.request->body.size();
  if (tracer_) tracer_->end(p.consumer_span);
  metrics_.end_to_end_seconds.observe(std::chrono::duration<double>(Clock::now() - p.consumed_at).count());
  std::optional<std::uint64_t> next;
  if (p.in_lane) next = lanes_.leave(p.lane);
  pending_.erase(id);  // `p` is gone from here on
  counts_changed();
  if (next && !closing_) {
    if (auto it = pending_.find(*next); it != pending_.end()) start(*it->second);
  }
  if (at_limit_ && !stopping_ && !over_limit()) leave_limit();
  if (!revoking_.empty()) {
    asio::post(io_, [this] { check_revoked(false); });
  }
  check_stopped();
}

std::string Runtime::Impl::where(const Pending& p) const {
  auto uuid = p.request->process_instance_uuid();
  return fmt::format("{}[{}]@{} processInstanceUuid={}", p.request->topic, p.request->partition, p.request->offset,
                     uuid.empty() ? "-" : uuid);
}

// --- observability ---------------------------------------------------------------------------

observability::Page Runtime::Impl::metrics_page() {
  metrics_.in_flight = pending_.size();
  if (exporter_) {
    metrics_.spans_exported = exporter_->exported();
    metrics_.spans_dropped = exporter_->dropped();
  }
  metrics_.paused_partitions = paused_ ? assigned(true).size() : revoking_.size();
  metrics_.committed_lag.clear();
  for (const auto& [tp, state] : partitions_) {
    auto end = source_->end_offset(tp);
    if (end && state.committed >= 0) metrics_.committed_lag[tp] = std::max<std::int64_t>(0, *end - state.committed);
  }
  return {200, "text/plain; version=0.0.4; charset=utf-8", metrics_.render()};
}

// Ready: a member of its group with a reachable broker, no request in flight past its deadline,
// and no handler still running past it (a stalled connector takes requests it cannot serve).
observability::Page Runtime::Impl::ready_page() {
  if (stopping_) return {503, "text/plain; charset=utf-8", "not ready: stopping\n"};
  if (!in_group_) return {503, "text/plain; charset=utf-8", "not ready: no partition assignment from the group yet\n"};
  if (brokers_down_) return {503, "text/plain; charset=utf-8", "not ready: no broker reachable\n"};
  // In flight past its deadline: its error reply could not be produced yet (or the loop lags).
  auto now = Clock::now();
  std::size_t stale = 0;
  for (const auto& [id, p] : pending_) stale += p->consumed_at + config_.processing.deadline + seconds(1) < now ? 1 : 0;
  if (stale) {
    return {503, "text/plain; charset=utf-8",
            fmt::format("not ready: {} request(s) in flight longer than processing.deadline\n", stale)};
  }
  if (!overdue_.empty()) {
    return {503, "text/plain; charset=utf-8",
            fmt::format("not ready: {} handler(s) still running past processing.deadline\n", overdue_.size())};
  }
  return {200, "text/plain; charset=utf-8", "ready\n"};
}

// --- group events ----------------------------------------------------------------------------

void Runtime::Impl::on_assigned(const std::vector<TopicPartition>& partitions) {
  if (!source_ || closing_) return;
  in_group_ = true;
  ++metrics_.rebalances;
  if (partitions.empty()) {
    spdlog::info("rebalance: no partitions assigned to this member");
    return;
  }
  for (const auto& tp : partitions) {
    PartitionState fresh;
    fresh.generation = next_generation_++;
    partitions_[tp] = std::move(fresh);
  }
  spdlog::info("partitions assigned: {}", names(partitions));
  // librdkafka keeps an application's pause across a revoke and a later assignment of the same
  // partition: one this member paused while draining it and now gets back would never be fetched
  // again. So every assignment sets the state intake wants.
  if (paused_ || stopping_) {
    source_->pause(partitions);
  } else {
    source_->resume(partitions);
  }
}

void Runtime::Impl::on_revoked(const std::vector<TopicPartition>& partitions, bool lost) {
  if (!source_) return;
  ++metrics_.rebalances;
  if (lost) in_group_ = false;  // until the next assignment
  if (lost) {
    // Another member may own them already: a commit would be refused. In-flight work goes on;
    // the new owner gets those requests again (at-least-once).
    spdlog::warn("partitions lost: {}; their unfinished requests will be redelivered to the new owner",
                 names(partitions));
    for (const auto& tp : partitions) {
      partitions_.erase(tp);
      revoking_.erase(std::remove(revoking_.begin(), revoking_.end(), tp), revoking_.end());  // no longer ours to release
    }
    if (revoking_.empty()) revoke_timer_.cancel();
    source_->release(partitions);
    return;
  }
  std::size_t draining = 0;
  for (const auto& tp : partitions) {
    if (auto it = partitions_.find(tp); it != partitions_.end()) {
      it->second.revoking = true;
      draining += it->second.tracker.pending();
    }
    revoking_.push_back(tp);
  }
  spdlog::info("partitions revoked: {}; draining={} in-flight requests before release", names(partitions), draining);
  source_->pause(partitions);
  revoke_timer_.expires_after(config_.processing.shutdown_grace);
  revoke_timer_.async_wait([this](auto ec) {
    if (!ec) check_revoked(true);
  });
  check_revoked(false);
}

// Releases the revoked partitions once nothing of theirs is in flight (or the grace is over),
// after committing exactly up to what was answered.
void Runtime::Impl::check_revoked(bool grace_expired) {
  if (revoking_.empty() || closing_) return;
  std::size_t in_flight = 0;
  for (const auto& tp : revoking_) {
    if (auto it = partitions_.find(tp); it != partitions_.end()) in_flight += it->second.tracker.pending();
  }
  if (in_flight > 0 && !grace_expired) return;
  revoke_timer_.cancel();
  if (in_flight > 0) {
    spdlog::warn("revoke grace of {} expired with {} requests unfinished; they will be redelivered",
                 core::format_duration(config_.processing.shutdown_grace), in_flight);
  }
  store_offsets(&revoking_);  // librdkafka commits them while releasing, before the member rejoins
  auto released = std::move(revoking_);
  revoking_.clear();
  for (const auto& tp : released) partitions_.erase(tp);
  source_->release(released);
  spdlog::info("partitions released: {}", names(released));
}

// --- intake and commits ----------------------------------------------------------------------

std::vector<TopicPartition> Runtime::Impl::assigned(bool include_revoking) const {
  std::vector<TopicPartition> out;
  for (const auto& [tp, state] : partitions_) {
    if (include_revoking || !state.revoking) out.push_back(tp);
  }
  return out;
}

// At the in-flight limit the runtime stops taking from the consumer's queue: immediate and free,
// and librdkafka stops fetching once its bounded prefetch queue is full. Group events wait in that
// queue too, so a limit held for kHoldBeforePause (a stuck legacy system, a broker refusing the
// replies) pauses the partitions and takes again: the member serves rebalances and stays in its
// group however long it lasts. (Pausing for every short stretch would cost a re-fetch each time.)
void Runtime::Impl::enter_limit() {
  at_limit_ = true;
  ++limit_hits_;
  source_->stop_taking();
  auto now = Clock::now();  // at saturation this happens per message: one info line per 10 s
  auto level = now - last_limit_log_ >= std::chrono::seconds(10) ? spdlog::level::info : spdlog::level::debug;
  if (level == spdlog::level::info) last_limit_log_ = now;
  spdlog::log(level, "intake held at the in-flight limit: {} requests, {} bytes; held {} times so far",
              pending_.size(), in_flight_bytes_, limit_hits_);
  limit_timer_.expires_after(kHoldBeforePause);
  limit_timer_.async_wait([this](auto ec) {
    if (ec || !at_limit_ || paused_ || closing_) return;
    paused_ = true;
    source_->pause(assigned(true));
    source_->resume_taking();
    spdlog::info("intake paused: at the in-flight limit for {}; partitions paused, group events served",
                 core::format_duration(kHoldBeforePause));
  });
}

void Runtime::Impl::leave_limit() {
  at_limit_ = false;
  limit_timer_.cancel();
  if (paused_) {
    paused_ = false;
    source_->resume(assigned(false));
    spdlog::info("intake resumed: {} in flight", pending_.size());
  }
  source_->resume_taking();
}

void Runtime::Impl::store_offsets(const std::vector<TopicPartition>* only) {
  std::vector<std::pair<TopicPartition, std::int64_t>> offsets;
  for (auto& [tp, state] : partitions_) {
    if (only && std::find(only->begin(), only->end(), tp) == only->end()) continue;
    auto offset = state.tracker.committable();
    if (!offset || *offset <= state.stored) continue;
    offsets.emplace_back(tp, *offset);
    state.stored = *offset;
  }
  source_->store_offsets(offsets);
}

// Completions come in bursts: their offsets are stored once per turn of the loop.
void Runtime::Impl::request_store() {
  if (store_posted_) return;
  store_posted_ = true;
  asio::post(io_, [this] {
    store_posted_ = false;
    if (!closing_) store_offsets();
  });
}

// ---------------------------------------------------------------------------------------------

Runtime::Runtime(config::ConnectorConfig config, std::unique_ptr<Handler> handler)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(handler))) {}
Runtime::~Runtime() = default;
int Runtime::run(bool handle_signals) { return impl_->run(handle_signals); }
void Runtime::request_stop() { impl_->request_stop(); }
RunStats Runtime::stats() const { return impl_->stats(); }

}  // namespace fxconnect::runtime
