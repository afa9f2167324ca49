// The producer side of a connector: replies and dead letters go out through one idempotent
// producer (acks=all), and every record's fate comes back as a delivery report on the loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/records.h"
#include "kafka/client.h"
#include "kafka/queue_wakeup.h"

namespace fxconnect::kafka {

class Replier {
 public:
  // Called on the loop once per record sent: NO_ERROR when the broker acknowledged it, else why
  // it was not delivered (after librdkafka's retries, or refused before sending) and whether it
  // may have been written all the same (e.g. timed out waiting for the acknowledgement).
  using DeliveryHandler = std::function<void(std::uint64_t tag, rd_kafka_resp_err_t err, bool maybe_written)>;
  using FatalHandler = std::function<void(const std::string& why)>;

  // `conf` is a producer configuration (producer_conf() for a connector). Throws ConfigError when
  // the producer cannot be created. Starts fetching the metadata of `topics` (reply, dead-letter),
  // so the first record sent there does not wait for it.
  Replier(boost::asio::io_context& io, ConfPtr conf, const std::vector<std::string>& topics,
          DeliveryHandler on_delivery, FatalHandler on_fatal);
  ~Replier();
  Replier(const Replier&) = delete;
  Replier& operator=(const Replier&) = delete;

  // Sends `record` (copied). A full local queue is back-pressure, not failure: the record waits
  // here, in order, until there is room.
  void send(const core::OutgoingRecord& record, std::uint64_t tag);
  // Waits up to `timeout` for every record sent to be reported (reports are delivered as usual).
  void flush(std::chrono::milliseconds timeout);

 private:
  static void delivery_cb(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque);
  static void error_cb(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  void drain();
  void produce_backlog();
  void schedule_tick();

  boost::asio::io_context& io_;
  DeliveryHandler on_delivery_;
  FatalHandler on_fatal_;
  KafkaPtr producer_;
  QueuePtr queue_;
  std::unique_ptr<QueueWakeup> wakeup_;
  std::vector<TopicPtr> topics_;  // keeps their metadata fresh
  std::deque<std::pair<core::OutgoingRecord, std::uint64_t>> backlog_;  // waiting for queue room
  boost::asio::steady_timer backlog_timer_;
  boost::asio::steady_timer tick_;
};

}  // namespace fxconnect::kafka
