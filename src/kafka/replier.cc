#include "kafka/replier.h"

#include <algorithm>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

namespace fxconnect::kafka {
namespace {

// Delivery reports served per turn of the loop before other work gets a turn.
constexpr int kReportBudget = 1024;
// Polled this often even without a wakeup (a safety net; wakeups do the real work).
constexpr std::chrono::milliseconds kTickPeriod{100};
constexpr std::chrono::milliseconds kQueueFullRetry{20};

}  // namespace

Replier::Replier(boost::asio::io_context& io, const ProducerSettings& settings, const std::vector<std::string>& topics,
                 Events events)
    : io_(io), settings_(settings), events_(std::move(events)), backlog_timer_(io), tick_(io) {
  auto conf = producer_conf(settings);
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &Replier::delivery_cb);
  rd_kafka_conf_set_error_cb(conf.get(), &Replier::error_cb);
  log_through_spdlog(conf.get());
  char err[512];
  producer_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err));
  if (!producer_) throw ConfigError(std::string("cannot create the producer: ") + err);
  after_create(producer_.get());
  handed_to_librdkafka(conf);
  queue_.reset(rd_kafka_queue_get_main(producer_.get()));
  wakeup_ = std::make_unique<QueueWakeup>(io_, queue_.get());
  wakeup_->watch([this] { drain(); });
  for (const auto& topic : topics) {
    if (!topic.empty())
      topics_.emplace_back(topic, TopicPtr(rd_kafka_topic_new(producer_.get(), topic.c_str(), nullptr)));
  }
  schedule_tick();
}

void Replier::report(std::uint64_t tag, rd_kafka_resp_err_t err, bool maybe_written) {
  Delivery d;
  d.tag = tag;
  if (err) {
    d.failure = classify_produce_error(err);
    d.maybe_written = maybe_written;
    d.too_large = err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE;
    d.error = fmt::format("{}: {}", rd_kafka_err2name(err), rd_kafka_err2str(err));
  }
  events_.delivered(d);
}

std::vector<std::string> Replier::check_topics(const std::vector<std::string>& topics,
                                               std::chrono::milliseconds timeout) {
  std::vector<std::string> problems;
  auto end = std::chrono::steady_clock::now() + timeout;
  for (const auto& topic : topics) {
    if (topic.empty()) continue;
    TopicPtr handle(rd_kafka_topic_new(producer_.get(), topic.c_str(), nullptr));
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      const struct rd_kafka_metadata* md = nullptr;
      // In short attempts: between them, the errors librdkafka queued are served (error_cb), so a
      // refused login or certificate ends the wait at once instead of after `timeout`.
      auto err = rd_kafka_metadata(producer_.get(), 0, handle.get(), &md,
                                   static_cast<int>(std::clamp<long long>(left.count(), 1, 500)));
      if (err) {
        rd_kafka_poll(producer_.get(), 0);  // nothing is produced yet: only errors are served
        if (refused_) {
          problems.push_back(fmt::format("topic '{}': the cluster refused the connection: {}", topic, *refused_));
          return problems;
        }
        // No answer at all (brokers unreachable): retry until the time is up.
        if (std::chrono::steady_clock::now() < end) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          continue;
        }
        problems.push_back(fmt::format("topic '{}': no metadata from the cluster within {} ms: {}", topic,
                                       timeout.count(), rd_kafka_err2str(err)));
        break;
      }
      rd_kafka_resp_err_t topic_err = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
      int partitions = md->topic_cnt == 1 ? md->topics[0].partition_cnt : 0;
      rd_kafka_metadata_destroy(md);
      if (topic_err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE && std::chrono::steady_clock::now() < end) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // being created
        continue;
      }
      if (topic_err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || topic_err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) {
        problems.push_back(
            fmt::format("topic '{}' does not exist on the cluster; create it (with the partitions and "
                        "replication the engine's topics have) or fix the name",
                        topic));
      } else if (topic_err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
        problems.push_back(
            fmt::format("topic '{}': this client is not authorized to use it (TOPIC_AUTHORIZATION_FAILED); "
                        "grant it DESCRIBE and WRITE on the topic",
                        topic));
      } else if (topic_err) {
        problems.push_back(
            fmt::format("topic '{}': {}: {}", topic, rd_kafka_err2name(topic_err), rd_kafka_err2str(topic_err)));
      } else if (partitions <= 0) {
        problems.push_back(fmt::format("topic '{}' has no partitions", topic));
      }
      break;
    }
  }
  return problems;
}

Replier::~Replier() {
  wakeup_.reset();
  queue_.reset();
  topics_.clear();
  producer_.reset();
}

void Replier::send(const core::OutgoingRecord& record, std::uint64_t tag, WireHeaders headers) {
  if (!backlog_.empty()) {  // keep the order: nothing overtakes what waits for room
    backlog_.push_back(Held{record, tag, std::move(headers)});
    ++held_back_;
    return;
  }
  auto err = produce(producer_.get(), record, tag_as_opaque(tag), handle_of(record.topic), &headers);
  if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
    backlog_.push_back(Held{record, tag, std::move(headers)});
    ++held_back_;
    produce_backlog();
    return;
  }
  if (err) {
    // Refused before sending (e.g. larger than message.max.bytes): reported like a failed
    // delivery, from the loop, so the caller's state is consistent when it hears of it.
    boost::asio::post(io_, [this, tag, err] { report(tag, err, false); });
  }
}

rd_kafka_topic_t* Replier::handle_of(const std::string& topic) const {
  for (const auto& [name, handle] : topics_) {
    if (name == topic) return handle.get();
  }
  return nullptr;
}

void Replier::produce_backlog() {
  while (!backlog_.empty()) {
    auto& [record, tag, headers] = backlog_.front();
    auto err = produce(producer_.get(), record, tag_as_opaque(tag), handle_of(record.topic), &headers);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      backlog_timer_.expires_after(kQueueFullRetry);
      backlog_timer_.async_wait([this](auto ec) {
        if (!ec) produce_backlog();
      });
      return;
    }
    if (err) boost::asio::post(io_, [this, tag = tag, err] { report(tag, err, false); });
    backlog_.pop_front();
  }
}

void Replier::flush(std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (!backlog_.empty() && std::chrono::steady_clock::now() < end) {
    rd_kafka_poll(producer_.get(), 10);
    produce_backlog();
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
  rd_kafka_flush(producer_.get(), static_cast<int>(std::max<std::int64_t>(0, left.count())));
}

void Replier::drain() {
  int served = 0;
  while (served < kReportBudget) {
    int n = rd_kafka_poll(producer_.get(), 0);
    if (n <= 0) return;
    served += n;
  }
  boost::asio::post(io_, [this] { drain(); });  // more may be waiting: after other work
}

void Replier::schedule_tick() {
  tick_.expires_after(kTickPeriod);
  tick_.async_wait([this](auto ec) {
    if (ec) return;
    drain();
    schedule_tick();
  });
}

void Replier::delivery_cb(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* self = static_cast<Replier*>(opaque);
  bool maybe_written = m->err && rd_kafka_message_status(m) == RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED;
  self->report(static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(m->_private)), m->err, maybe_written);
}

void Replier::error_cb(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* self = static_cast<Replier*>(opaque);
  if (!self->refused_ && refusal(err, reason)) self->refused_ = explain_refusal(err, reason);
  if (auto fatal = describe_client_error(rk, err, reason)) self->events_.fatal(*fatal);
}

std::optional<std::string> Replier::refused() const { return refused_; }

std::vector<std::string> Replier::check_write_access(const std::vector<std::string>& topics,
                                                     std::chrono::milliseconds timeout) {
  struct Outcome {
    std::string topic;
    std::optional<rd_kafka_resp_err_t> err;  // nullopt: no delivery report (yet)
  };
  std::vector<Outcome> outcomes;
  for (const auto& t : topics) {
    if (!t.empty()) outcomes.push_back({t, std::nullopt});
  }
  if (outcomes.empty()) return {};
  auto conf = producer_conf(settings_);
  char err[512];
  for (auto [name, value] : {std::pair{"enable.idempotence", "false"},
                             {"acks", "2"},
                             {"retries", "0"},
                             {"linger.ms", "0"},
                             {"allow.auto.create.topics", "false"}}) {
    if (rd_kafka_conf_set(conf.get(), name, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
      spdlog::warn("write check: {}={}: {}; skipped", name, value, err);
      return {};
    }
  }
  rd_kafka_conf_set(conf.get(), "message.timeout.ms", std::to_string(std::max<long long>(timeout.count(), 1)).c_str(),
                    err, sizeof err);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), [](rd_kafka_t*, const rd_kafka_message_t* m, void*) {
    static_cast<Outcome*>(m->_private)->err = m->err;
  });
  log_through_spdlog(conf.get());
  KafkaPtr probe(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err));
  if (!probe) {
    spdlog::warn("write check: cannot create its producer: {}; skipped", err);
    return {};
  }
  after_create(probe.get());
  handed_to_librdkafka(conf);
  static constexpr std::string_view kMarker = "fxconnect-write-check";
  for (auto& o : outcomes) {
    auto e = rd_kafka_producev(probe.get(), RD_KAFKA_V_TOPIC(o.topic.c_str()), RD_KAFKA_V_PARTITION(0),
                               RD_KAFKA_V_KEY(kMarker.data(), kMarker.size()),
                               RD_KAFKA_V_HEADER(kMarker.data(), "1", 1), RD_KAFKA_V_OPAQUE(&o), RD_KAFKA_V_END);
    if (e) o.err = e;
  }
  rd_kafka_flush(probe.get(), static_cast<int>(timeout.count()) + 1000);
  std::vector<std::string> problems;
  for (const auto& o : outcomes) {
    if (!o.err) {
      spdlog::warn("write check: no answer for topic '{}' within {} ms; not checked", o.topic, timeout.count());
    } else if (*o.err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
               *o.err == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED) {
      problems.push_back(fmt::format(
          "topic '{}': this client may not write to it ({}); grant its principal WRITE on the topic (and DESCRIBE), "
          "or fix the name",
          o.topic, rd_kafka_err2name(*o.err)));
    } else if (*o.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      spdlog::warn(
          "write check: the cluster accepted a produce request with acks=2, which Kafka refuses: one record "
          "keyed '{}' was written to topic '{}'",
          kMarker, o.topic);
    } else if (*o.err != RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS) {
      spdlog::warn("write check: topic '{}': {}; not checked", o.topic, rd_kafka_err2str(*o.err));
    } else {
      spdlog::debug("write check: topic '{}': may write", o.topic);
    }
  }
  return problems;
}

}  // namespace fxconnect::kafka
