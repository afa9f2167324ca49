// The wiring of a connector: Kafka events to the parts (Partitions, Intake, Requests), their
// decisions back to the Kafka clients, one timer for everything time-driven, the stop and the
// HTTP endpoint. Everything runs on one event-loop thread, so the state needs no locks.
#include "runtime/runtime.h"

#include <algorithm>
#include <csignal>
#include <future>
#include <map>
#include <optional>

#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/kafka_security.h"
#include "core/duration.h"
#include "core/secrets.h"
#include "kafka/replier.h"
#include "kafka/source.h"
#include "observability/http_server.h"
#include "observability/logging.h"
#include "runtime/intake.h"
#include "runtime/kafka_settings.h"
#include "runtime/partitions.h"
#include "runtime/requests.h"
#include "systems/systems.h"

namespace fxconnect::runtime {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using std::chrono::seconds;

// How long intake may stay held at the in-flight bound before the partitions are paused: below
// the smallest max.poll.interval.ms a group allows (at least session.timeout.ms, at least 6 s on a
// default broker), and short enough not to hold up a rebalance noticeably.
constexpr seconds kHoldBeforePause{5};
// After the drain at stop, how long the producer may take to deliver what is still queued.
constexpr milliseconds kStopFlush{5'000};
// How long the startup check waits for the cluster to describe the reply and dead-letter topics.
constexpr milliseconds kTopicCheckTimeout{30'000};
constexpr milliseconds kWriteCheckTimeout{10'000};

std::string_view ordering_name(config::Ordering ordering) {
  switch (ordering) {
    case config::Ordering::key: return "key";
    case config::Ordering::partition: return "partition";
    case config::Ordering::none: return "none";
  }
  return "key";
}

std::string names(const std::vector<TopicPartition>& partitions) {
  std::string out;
  for (const auto& [topic, partition] : partitions)
    out += fmt::format("{}{}[{}]", out.empty() ? "" : ",", topic, partition);
  return out;
}

observability::Page text_page(int status, std::string body) {
  return {status, "text/plain; charset=utf-8", std::move(body)};
}

}  // namespace

KafkaClients librdkafka_clients(const config::ConnectorConfig& config) {
  auto consumer = consumer_settings(config);
  auto producer = producer_settings(config);
  std::vector<std::string> topics{config.reply.topic, config.errors.dlq_topic};
  return {[consumer](asio::io_context& io, std::string subscription, kafka::Consumer::Events events) {
            return std::unique_ptr<kafka::Consumer>(
                std::make_unique<kafka::Source>(io, consumer, std::move(subscription), std::move(events)));
          },
          [producer, topics](asio::io_context& io, kafka::Producer::Events events) {
            return std::unique_ptr<kafka::Producer>(
                std::make_unique<kafka::Replier>(io, producer, topics, std::move(events)));
          }};
}

class Runtime::Impl {
 public:
  Impl(config::ConnectorConfig config, std::unique_ptr<Handler> handler, KafkaClients clients)
      : config_(std::move(config)),
        handler_(std::move(handler)),
        clients_(std::move(clients)),
        intake_(static_cast<std::size_t>(config_.processing.max_in_flight),
                static_cast<std::size_t>(config_.processing.max_in_flight_bytes), kHoldBeforePause),
        wake_timer_(io_),
        grace_timer_(io_),
        signals_(io_) {}

  ~Impl() {
    requests_.reset();  // before the handler and the clients it refers to
    consumer_.reset();
    producer_.reset();
  }

  int run(bool handle_signals);
  void request_stop() {
    asio::post(io_, [this] { begin_stop("stop requested"); });
  }
  RunStats stats() const { return observer_ ? observer_->stats() : RunStats{}; }
  std::vector<std::shared_ptr<observability::FlowStepMetrics>> flow_steps_;  // set before run()
  std::string readiness() {
    // Shared: the loop may run this after a timed-out wait has returned.
    auto answer = std::make_shared<std::promise<std::string>>();
    auto future = answer->get_future();
    asio::post(io_, [this, answer] { answer->set_value(ready_page().body); });
    if (future.wait_for(seconds(10)) != std::future_status::ready) return "no answer: the loop does not run";
    return future.get();
  }

 private:
  // --- Kafka events ---
  void on_message(Request&& request, kafka::WireHeaders headers);
  void on_assigned(const std::vector<TopicPartition>& partitions);
  void on_revoked(const std::vector<TopicPartition>& partitions, bool lost);
  void on_outcome_written(const Pending& p);
  void check_revoked(Clock::time_point now);

  // --- intake, offsets, time ---
  void apply(Intake::Action action);
  void after_event();
  void on_time();
  void arm_wake_timer();
  void store_offsets(const std::vector<TopicPartition>* only = nullptr);
  void request_store();

  // --- stop ---
  void begin_stop(const std::string& why);
  void check_stopped();
  void finish_stop(bool drained);
  void fatal(const std::string& why);
  void unusable_topic(const std::string& why);

  // --- observability ---
  observability::Page ready_page();
  observability::Page metrics_page();

  config::ConnectorConfig config_;
  asio::io_context io_{1};
  std::unique_ptr<Handler> handler_;  // after io_: destroyed first, its timers and sockets with it
  KafkaClients clients_;
  std::shared_ptr<observability::OtlpExporter> exporter_;
  std::shared_ptr<const observability::Tracer> tracer_;  // null: tracing off
  std::optional<RequestObserver> observer_;
  Partitions partitions_;
  Intake intake_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::unique_ptr<systems::Systems> systems_;  // before requests_: handlers' calls use them
  std::unique_ptr<Requests> requests_;

  // Keeps run() running until the stop, whatever the clients keep pending on the loop.
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  asio::steady_timer wake_timer_;  // armed at the earliest time a part has something to do
  std::optional<Clock::time_point> wake_at_;
  asio::steady_timer grace_timer_;
  asio::signal_set signals_;
  std::unique_ptr<observability::HttpServer> http_;

  bool store_posted_ = false;  // a store of offsets is posted for this turn of the loop
  bool revoke_check_posted_ = false;
  bool final_commit_failed_ = false;  // a commit failed while closing
  bool stopping_ = false;             // no new intake; finishing in-flight work
  bool closing_ = false;              // past the drain: closing the clients
  bool in_group_ = false;             // got an assignment (possibly empty) and still a member
  bool brokers_down_ = false;         // every broker unreachable, none heard from since
  Clock::time_point last_limit_log_{};
  int exit_code_ = exit_clean;
};

// --- lifecycle -------------------------------------------------------------------------------

int Runtime::Impl::run(bool handle_signals) {
  for (const auto& warning : config::kafka_security_warnings(config_.kafka.security)) spdlog::warn("{}", warning);
  if (const auto& o = config_.observability; !o.otlp_endpoint.empty()) {
    observability::OtlpSettings otlp;
    otlp.ca_file = o.otlp_ca_file;
    otlp.cert_file = o.otlp_cert_file;
    otlp.key_file = o.otlp_key_file;
    for (const auto& h : o.otlp_headers) otlp.headers.emplace_back(h.name, h.value);
    try {
      exporter_ = std::make_shared<observability::OtlpExporter>(o.service_name, o.otlp_endpoint, std::move(otlp));
    } catch (const std::exception& e) {
      throw ConfigError(fmt::format("{}: observability.tracing: {}", config_.source, e.what()));
    }
    tracer_ = std::make_shared<observability::Tracer>(*observability::Sampler::parse(o.sampler), exporter_);
    // What protects the export, never the headers' values (secrets).
    std::string security;
    if (o.otlp_endpoint.rfind("https://", 0) == 0) {
      security = fmt::format(", TLS verified with {}{}",
                             o.otlp_ca_file.empty() ? "the system's trust store" : "ca_file " + o.otlp_ca_file,
                             o.otlp_cert_file.empty() ? "" : ", client certificate " + o.otlp_cert_file);
    } else {
      security = ", no TLS";
    }
    if (!o.otlp_headers.empty()) {
      std::string names;
      for (const auto& h : o.otlp_headers) names += (names.empty() ? "" : ", ") + h.name;
      security += fmt::format(", {} custom header{} ({}; values not shown)", o.otlp_headers.size(),
                              o.otlp_headers.size() == 1 ? "" : "s", names);
    }
    spdlog::info("tracing: OTLP/HTTP to {}/v1/traces{}, sampler {}, service {}", o.otlp_endpoint, security, o.sampler,
                 o.service_name);
  }
  observer_.emplace(tracer_, config_.kafka.group_id, config_.handler.name);
  observer_->metrics().flow_steps = flow_steps_;
  systems_ = std::make_unique<systems::Systems>(io_, config_, observer_->metrics());
  requests_ = std::make_unique<Requests>(
      RequestSettings{config_.processing.ordering, config_.processing.deadline, config_.reply.topic,
                      config_.errors.dlq_topic, config_.log.bodies},
      *handler_, io_.get_executor(), *observer_,
      Requests::Effects{[this](std::uint64_t tag, const core::OutgoingRecord& r, kafka::WireHeaders h) {
                          producer_->send(r, tag, std::move(h));
                        },
                        [this](const Pending& p) { on_outcome_written(p); },
                        [this](const std::string& why) { unusable_topic(why); },
                        [this](const std::string& why) { fatal(why); }, [this] { after_event(); }},
      systems_.get());

  producer_ = clients_.producer(io_, kafka::Producer::Events{[this](const kafka::Delivery& d) {
                                                               requests_->delivered(d, Clock::now());
                                                               after_event();
                                                             },
                                                             [this](const std::string& why) { fatal(why); }});
  // The reply and dead-letter topics must exist and be usable before anything is consumed: a
  // reply that can never be written would otherwise hold its partition's commits forever.
  std::vector<std::string> topics{config_.reply.topic};
  if (!config_.errors.dlq_topic.empty()) topics.push_back(config_.errors.dlq_topic);
  auto describe = [&](const std::vector<std::string>& problems) {
    std::string text;
    for (const auto& p : problems) {
      text += fmt::format(
          "{}{}: {}: {}", text.empty() ? "" : "\n", config_.source,
          p.find("'" + config_.reply.topic + "'") != std::string::npos ? "reply.topic" : "errors.dlq_topic", p);
    }
    return text;
  };
  if (auto problems = producer_->check_topics(topics, kTopicCheckTimeout); !problems.empty()) {
    if (auto refused = producer_->refused()) {
      // Wrong credentials or certificates: retrying would only repeat the refusal (and hammer the
      // brokers' authentication); the deployment must change.
      spdlog::critical("the Kafka cluster at {} refused the connection: {}; not started", config_.kafka.bootstrap,
                       *refused);
      return exit_fatal;
    }
    bool unreachable = std::all_of(problems.begin(), problems.end(), [](const std::string& p) {
      return p.find("no metadata from the cluster") != std::string::npos;
    });
    if (unreachable) {
      spdlog::critical("{}", describe(problems));
      spdlog::critical("the Kafka cluster at {} did not answer; not started", config_.kafka.bootstrap);
      return exit_fatal;
    }
    throw ConfigError(describe(problems));
  }
  // Existing is not writable: without WRITE on the reply topic every reply would fail and its
  // partition's commits stay behind it forever.
  if (auto problems = config_.kafka.write_check ? producer_->check_write_access(topics, kWriteCheckTimeout)
                                                : std::vector<std::string>{};
      !problems.empty()) {
    throw ConfigError(describe(problems));
  }

  // librdkafka anchors only the start of a pattern: the whole topic name must match.
  auto subscription = config_.input.topic.empty() ? "^(" + config_.input.pattern + ")$" : config_.input.topic;
  kafka::Consumer::Events events;
  events.message = [this](Request&& r, kafka::WireHeaders h) { on_message(std::move(r), std::move(h)); };
  events.assigned = [this](const std::vector<TopicPartition>& parts) { on_assigned(parts); };
  events.revoked = [this](const std::vector<TopicPartition>& parts, bool lost) { on_revoked(parts, lost); };
  events.committed = [this](const TopicPartition& tp, std::int64_t offset, bool ok) {
    if (!ok) {
      if (closing_) final_commit_failed_ = true;
      return;
    }
    partitions_.committed(tp, offset);
  };
  events.fatal = [this](const std::string& why) { fatal(why); };
  events.unauthorized = [this](const std::string& why) { unusable_topic(why); };
  events.brokers_down = [this](bool down) { brokers_down_ = down; };
  events.room = [this] { return intake_.room(requests_->in_flight(), requests_->bytes()); };
  consumer_ = clients_.consumer(io_, subscription, std::move(events));
  consumer_->start();

  if (const auto& o = config_.observability; !o.http_listen.empty()) {
    observability::HttpLimits limits;
    limits.max_connections = o.http_max_connections;
    limits.request_timeout = o.http_request_timeout;
    limits.max_request_bytes = o.http_max_request_bytes;
    limits.max_headers = o.http_max_headers;
    observability::HttpSecurity security;
    security.cert_file = o.http_cert_file;
    security.key_file = o.http_key_file;
    security.bearer_token = o.metrics_token;
    try {
      http_ = std::make_unique<observability::HttpServer>(io_, o.http_listen,
                                                          std::map<std::string, observability::HttpServer::Route>{
                                                              {"/metrics", [this] { return metrics_page(); }},
                                                              {"/health/live", [] { return text_page(200, "live\n"); }},
                                                              {"/health/ready", [this] { return ready_page(); }}},
                                                          limits, std::move(security));
    } catch (const std::exception& e) {
      throw ConfigError(fmt::format("{}: observability.http: {}", config_.source, e.what()));
    }
    spdlog::info("http: metrics and health on {}{}", http_->url(),
                 o.metrics_token.empty() ? "" : " (/metrics needs its bearer token)");
  }
  spdlog::info("started: group={} input={} reply={} handler={} ordering={} max_in_flight={} deadline={}",
               config_.kafka.group_id, consumer_->subscription(), config_.reply.topic, config_.handler.name,
               ordering_name(config_.processing.ordering), config_.processing.max_in_flight,
               core::format_duration(config_.processing.deadline));
  if (handle_signals) {
    signals_.add(SIGTERM);
    signals_.add(SIGINT);
    signals_.async_wait([this](auto ec, int sig) {
      if (!ec) begin_stop(sig == SIGTERM ? "SIGTERM" : "SIGINT");
    });
  }
  work_.emplace(io_.get_executor());
  // A handler's own callbacks (timers, I/O) run on this loop too. An exception escaping one must
  // not end the connector: it is logged, and the request it was working on is answered `internal`
  // when its Call is released (or `deadline_exceeded`).
  for (;;) {
    try {
      io_.run();
      break;
    } catch (const std::exception& e) {
      spdlog::error("a handler callback threw: {}; the connector goes on", observability::log_safe(e.what(), 1024));
    } catch (...) {
      spdlog::error("a handler callback threw a non-standard exception; the connector goes on");
    }
  }

  observer_->finish();
  if (exporter_) {
    exporter_->stop();  // flushes what it can (bounded), so the figures below are final
    spdlog::info("tracing: spans exported={} dropped={}", exporter_->exported(), exporter_->dropped());
  }
  const auto& s = observer_->stats();
  spdlog::info(
      "stopped: exit={} consumed={} replied_ok={} replied_error={} dead_lettered={} produce_retries={} "
      "undeliverable={} late_completions={} in_flight_mean={:.1f} in_flight_max={} handling_mean={:.1f} "
      "handling_max={} in_flight_bytes_max={} busy_s={:.3f} end_to_end_p50_ms={:.2f} end_to_end_p99_ms={:.2f} "
      "consume_delay_p50_ms={:.2f} consume_delay_p99_ms={:.2f} fetch_wakeups={} produce_held_back={}",
      exit_code_, s.consumed, s.replied_ok, s.replied_error, s.dead_lettered, s.produce_retries, s.undeliverable,
      s.late_completions, s.mean_in_flight, s.max_in_flight, s.mean_handling, s.max_handling, s.max_in_flight_bytes,
      s.busy_seconds, s.end_to_end.quantile(0.5) * 1e3, s.end_to_end.quantile(0.99) * 1e3,
      s.consume_delay.quantile(0.5) * 1e3, s.consume_delay.quantile(0.99) * 1e3,
      consumer_ ? consumer_->fetch_wakeups() : 0, producer_ ? producer_->held_back() : 0);
  return exit_code_;
}

void Runtime::Impl::fatal(const std::string& why) {
  if (exit_code_ == exit_fatal) return;  // every record still queued reports it too
  spdlog::critical("{}; stopping at once (unanswered requests are redelivered)", why);
  exit_code_ = exit_fatal;
  // Nothing more can be answered: no drain. What was answered is committed at close.
  asio::post(io_, [this] {
    begin_stop("fatal Kafka error");
    if (!closing_) {
      spdlog::warn("stopping with {} requests unfinished; they will be redelivered", requests_->unfinished());
      finish_stop(true);
    }
  });
}

void Runtime::Impl::unusable_topic(const std::string& why) {
  if (stopping_) return;
  spdlog::critical("{}; stopping: fix the topic or its ACLs and restart (unanswered requests are redelivered)",
                   observability::log_safe(why, 2048));
  if (exit_code_ == exit_clean) exit_code_ = exit_config;
  asio::post(io_, [this] { begin_stop("a topic cannot be written"); });
}

void Runtime::Impl::begin_stop(const std::string& why) {
  if (stopping_) return;
  stopping_ = true;
  spdlog::info("stopping ({}): {} in flight, grace {}", why, requests_->in_flight(),
               core::format_duration(config_.processing.shutdown_grace));
  intake_.stop();
  consumer_->pause(partitions_.assigned_partitions(true));
  consumer_->resume_taking();  // nothing more to consume, but group events must be served
  grace_timer_.expires_after(config_.processing.shutdown_grace);
  grace_timer_.async_wait([this](auto ec) {
    if (!ec) finish_stop(false);
  });
  check_stopped();
}

// May run inside a librdkafka callback (a delivery report): the clients are closed from the
// loop instead, never re-entrantly from their own poll call.
void Runtime::Impl::check_stopped() {
  if (!stopping_ || closing_ || requests_->unfinished() != 0) return;
  asio::post(io_, [this] {
    if (!closing_ && requests_->unfinished() == 0) finish_stop(true);
  });
}

void Runtime::Impl::finish_stop(bool drained) {
  if (closing_) return;
  closing_ = true;
  grace_timer_.cancel();
  wake_timer_.cancel();
  signals_.cancel();
  if (!drained) {
    spdlog::warn("shutdown grace of {} expired with {} requests unfinished; they will be redelivered",
                 core::format_duration(config_.processing.shutdown_grace), requests_->unfinished());
    if (exit_code_ == exit_clean) exit_code_ = exit_grace_expired;
  }
  requests_->stop();  // handlers told to stop; nothing retried any more
  // Records already handed to the producer get their reports (and offsets) before the commit.
  producer_->flush(kStopFlush);
  store_offsets();
  if (auto revoking = partitions_.revoking(); !revoking.empty()) {
    // Revoked partitions still draining: librdkafka waits for their release, and close() would
    // wait with it. What was answered of them is stored; the rest goes to the next owner.
    consumer_->release(revoking);
    partitions_.forget(revoking);
  }
  consumer_->close();  // commits what is stored
  in_group_ = false;
  if (final_commit_failed_ && exit_code_ == exit_clean) {
    spdlog::warn("the final commit failed: answered requests will be answered again after a restart");
    exit_code_ = exit_grace_expired;
  }
  if (http_) http_->close();
  work_.reset();
  io_.stop();
}

// --- Kafka events ----------------------------------------------------------------------------

void Runtime::Impl::on_message(Request&& request, kafka::WireHeaders headers) {
  if (stopping_) {
    // Polled before the stop paused every partition (the consumer's decoder had it): not taken,
    // never stored, so the partition's next reader gets it. Nothing after it is taken either.
    spdlog::debug("message from {}[{}] offset {} arrived while stopping; left for the next reader", request.topic,
                  request.partition, request.offset);
    return;
  }
  auto generation = partitions_.admit({request.topic, request.partition}, request.offset);
  if (!generation) {
    // Not served here (a stale message after a revoke): its next owner reads it. Nothing is lost.
    spdlog::debug("message from {}[{}] offset {} not served here; skipped", request.topic, request.partition,
                  request.offset);
    return;
  }
  requests_->admit(std::move(request), *generation, Clock::now(), std::move(headers));
  after_event();
}

void Runtime::Impl::on_outcome_written(const Pending& p) {
  if (partitions_.completed({p.request->topic, p.request->partition}, p.generation, p.request->offset)) request_store();
  if (partitions_.draining() && !revoke_check_posted_) {
    revoke_check_posted_ = true;
    asio::post(io_, [this] {
      revoke_check_posted_ = false;
      check_revoked(Clock::now());
    });
  }
  check_stopped();
}

void Runtime::Impl::on_assigned(const std::vector<TopicPartition>& partitions) {
  if (closing_) return;
  in_group_ = true;
  ++observer_->metrics().rebalances;
  if (partitions.empty()) {
    spdlog::info("rebalance: no partitions assigned to this member");
    return;
  }
  partitions_.assigned(partitions);
  spdlog::info("partitions assigned: {}", names(partitions));
  // librdkafka keeps an application's pause across a revoke and a later assignment of the same
  // partition: one this member paused while draining it and now gets back would never be fetched
  // again. So every assignment sets the state intake wants.
  if (intake_.paused() || stopping_) {
    consumer_->pause(partitions);
  } else {
    consumer_->resume(partitions);
  }
}

void Runtime::Impl::on_revoked(const std::vector<TopicPartition>& partitions, bool lost) {
  ++observer_->metrics().rebalances;
  if (lost) {
    // Another member may own them already: nothing of theirs is stored, and their requests here
    // are forsaken (nothing more is sent for them: the new owner answers them; see
    // Requests::forsake). Found by the fault suite's cut-30s: replies that timed out in
    // librdkafka's queue during a network cut became reply_failed error replies, sent once the
    // network was back, contradicting the new owner's answers.
    in_group_ = false;  // until the next assignment
    auto forsaken = requests_->forsake(partitions);
    spdlog::warn("partitions lost: {}; {} unfinished requests forsaken: the new owner answers them", names(partitions),
                 forsaken);
    partitions_.revoked(partitions, true, Clock::now());
    consumer_->release(partitions);
    return;
  }
  auto draining = partitions_.revoked(partitions, false, Clock::now() + config_.processing.shutdown_grace);
  spdlog::info("partitions revoked: {}; draining={} in-flight requests before release", names(partitions), draining);
  consumer_->pause(partitions);
  check_revoked(Clock::now());
  arm_wake_timer();
}

// Releases the revoked partitions once nothing of theirs is in flight (or the grace is over),
// after storing exactly up to what was answered (librdkafka commits it while releasing).
void Runtime::Impl::check_revoked(Clock::time_point now) {
  if (closing_) return;
  auto release = partitions_.releasable(now);
  if (!release) return;
  if (release->unfinished > 0) {
    spdlog::warn("revoke grace of {} expired with {} requests unfinished; they will be redelivered",
                 core::format_duration(config_.processing.shutdown_grace), release->unfinished);
  }
  store_offsets(&release->partitions);
  consumer_->release(release->partitions);
  partitions_.forget(release->partitions);
  spdlog::info("partitions released: {}", names(release->partitions));
}

// --- intake, offsets, time -------------------------------------------------------------------

void Runtime::Impl::apply(Intake::Action action) {
  switch (action) {
    case Intake::Action::none: return;
    case Intake::Action::stop_taking: {
      consumer_->stop_taking();
      auto now = Clock::now();  // at saturation this happens per message: one info line per 10 s
      auto level = now - last_limit_log_ >= seconds(10) ? spdlog::level::info : spdlog::level::debug;
      if (level == spdlog::level::info) last_limit_log_ = now;
      spdlog::log(level, "intake held at the in-flight limit: {} requests, {} bytes; held {} times so far",
                  requests_->in_flight(), requests_->bytes(), intake_.holds());
      return;
    }
    case Intake::Action::pause:
      consumer_->pause(partitions_.assigned_partitions(true));
      consumer_->resume_taking();
      spdlog::info("intake paused: at the in-flight limit for {}; partitions paused, group events served",
                   core::format_duration(kHoldBeforePause));
      return;
    case Intake::Action::resume_paused:
      consumer_->resume(partitions_.assigned_partitions(false));
      spdlog::info("intake resumed: {} in flight", requests_->in_flight());
      consumer_->resume_taking();
      return;
    case Intake::Action::resume: consumer_->resume_taking(); return;
  }
}

// After every event that changes what is in flight: the bound, and the timer.
void Runtime::Impl::after_event() {
  apply(intake_.changed(requests_->in_flight(), requests_->bytes(), Clock::now()));
  arm_wake_timer();
  check_stopped();
}

void Runtime::Impl::arm_wake_timer() {
  if (closing_) return;
  std::optional<Clock::time_point> next = requests_->next_wakeup();
  for (auto t : {intake_.next_wakeup(), partitions_.next_wakeup()}) {
    if (t && (!next || *t < *next)) next = t;
  }
  if (!next || (wake_at_ && *wake_at_ <= *next)) return;  // already armed early enough
  wake_at_ = next;
  wake_timer_.expires_at(*next);
  wake_timer_.async_wait([this](auto ec) {
    if (ec) return;  // re-armed earlier, or stopping
    wake_at_.reset();
    on_time();
  });
}

void Runtime::Impl::on_time() {
  auto now = Clock::now();
  requests_->on_time(now);
  apply(intake_.on_time(now));
  check_revoked(now);
  after_event();
}

void Runtime::Impl::store_offsets(const std::vector<TopicPartition>* only) {
  consumer_->store_offsets(partitions_.to_store(only));
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

// --- observability ---------------------------------------------------------------------------

observability::Page Runtime::Impl::metrics_page() {
  auto& m = observer_->metrics();
  if (exporter_) {
    m.spans_exported = exporter_->exported();
    m.spans_dropped = exporter_->dropped();
  }
  m.paused_partitions = intake_.paused() ? partitions_.assigned_partitions(true).size() : partitions_.revoking().size();
  m.committed_lag.clear();
  for (const auto& [tp, committed] : partitions_.committed_offsets()) {
    if (auto end = consumer_->end_offset(tp)) m.committed_lag[tp] = std::max<std::int64_t>(0, *end - committed);
  }
  // Label values come from the config (system names, topics): a secret never shows here either.
  return {200, "text/plain; version=0.0.4; charset=utf-8", core::redact(m.render())};
}

// Ready: a member of its group with a reachable broker, no request in flight past its deadline,
// and no handler still running past it (a stalled connector takes requests it cannot serve).
observability::Page Runtime::Impl::ready_page() {
  if (stopping_) return text_page(503, "not ready: stopping\n");
  if (!in_group_) return text_page(503, "not ready: no partition assignment from the group yet\n");
  if (brokers_down_) return text_page(503, "not ready: no broker reachable\n");
  if (auto late = requests_->late(Clock::now(), seconds(1))) {
    return text_page(503, fmt::format("not ready: {} request(s) in flight longer than processing.deadline\n", late));
  }
  if (auto overdue = requests_->overdue()) {
    return text_page(503, fmt::format("not ready: {} handler(s) still running past processing.deadline\n", overdue));
  }
  return text_page(200, "ready\n");
}

// ---------------------------------------------------------------------------------------------

Runtime::Runtime(config::ConnectorConfig config, std::unique_ptr<Handler> handler) {
  auto clients = librdkafka_clients(config);
  impl_ = std::make_unique<Impl>(std::move(config), std::move(handler), std::move(clients));
}
Runtime::Runtime(config::ConnectorConfig config, std::unique_ptr<Handler> handler, KafkaClients clients)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(handler), std::move(clients))) {}
Runtime::~Runtime() = default;
void Runtime::add_flow_metrics(std::vector<std::shared_ptr<observability::FlowStepMetrics>> steps) {
  impl_->flow_steps_ = std::move(steps);
}
int Runtime::run(bool handle_signals) { return impl_->run(handle_signals); }
void Runtime::request_stop() { impl_->request_stop(); }
RunStats Runtime::stats() const { return impl_->stats(); }
std::string Runtime::readiness() { return impl_->readiness(); }

}  // namespace fxconnect::runtime
