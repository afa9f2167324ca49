// The producer side of a connector: replies and dead letters go out through one idempotent
// producer (acks=all), and every record's fate comes back as a delivery report on the loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/records.h"
#include "kafka/client.h"
#include "kafka/ports.h"
#include "kafka/queue_wakeup.h"

namespace fxconnect::kafka {

class Replier final : public Producer {
 public:
  // Throws ConfigError when the producer cannot be created. Starts fetching the metadata of
  // `topics` (reply, dead-letter), so the first record sent there does not wait for it.
  Replier(boost::asio::io_context& io, const ProducerSettings& settings, const std::vector<std::string>& topics,
          Events events);
  ~Replier() override;
  Replier(const Replier&) = delete;
  Replier& operator=(const Replier&) = delete;

  // A full local queue is back-pressure, not failure: the record waits here, in order, until
  // there is room. A record refused before sending (too large, say) is reported from the loop.
  void send(const core::OutgoingRecord& record, std::uint64_t tag, WireHeaders headers) override;
  void flush(std::chrono::milliseconds timeout) override;
  std::uint64_t held_back() const override { return held_back_; }
  // Asks the cluster for the topics' metadata (allow.auto.create.topics is off unless the user
  // turned it on): a topic the cluster does not know, or will not describe to this client, is a
  // problem. Blocks up to `timeout`: for startup only.
  std::vector<std::string> check_topics(const std::vector<std::string>& topics,
                                        std::chrono::milliseconds timeout) override;
  // Sends, from a separate non-idempotent producer, one produce request per topic (partition 0)
  // with acks=2. A Kafka broker checks WRITE authorization first (TOPIC_AUTHORIZATION_FAILED) and
  // only then refuses acks other than -1, 0, 1 (INVALID_REQUIRED_ACKS) without appending
  // anything: the answer says whether this client may write there, and nothing is written. Only an
  // authorization failure is a problem; any other outcome is logged and startup goes on.
  std::vector<std::string> check_write_access(const std::vector<std::string>& topics,
                                              std::chrono::milliseconds timeout) override;
  std::optional<std::string> refused() const override;

 private:
  static void delivery_cb(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque);
  static void error_cb(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  void report(std::uint64_t tag, rd_kafka_resp_err_t err, bool maybe_written);
  void drain();
  void produce_backlog();
  void schedule_tick();
  rd_kafka_topic_t* handle_of(const std::string& topic) const;  // null: not one of topics_

  boost::asio::io_context& io_;
  ProducerSettings settings_;
  Events events_;
  // The first authentication or TLS failure librdkafka reported (error_cb), for check_topics().
  std::optional<std::string> refused_;
  KafkaPtr producer_;
  QueuePtr queue_;
  std::unique_ptr<QueueWakeup> wakeup_;
  // The handles of the topics named at construction: they keep their metadata fresh, and
  // send() hands librdkafka the handle instead of the name (handle_of).
  std::vector<std::pair<std::string, TopicPtr>> topics_;
  // Waiting for queue room: a copy of the record, its tag, and the list of its headers when
  // send() was given one (the record's own headers are then empty).
  struct Held {
    core::OutgoingRecord record;
    std::uint64_t tag;
    WireHeaders headers;
  };
  std::deque<Held> backlog_;
  std::uint64_t held_back_ = 0;
  boost::asio::steady_timer backlog_timer_;
  boost::asio::steady_timer tick_;
};

}  // namespace fxconnect::kafka
