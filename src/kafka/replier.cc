#include "kafka/replier.h"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

namespace fxconnect::kafka {
namespace {

// Delivery reports served per turn of the loop before other work gets a turn.
constexpr int kReportBudget = 1024;
// Polled this often even without a wakeup (a safety net; wakeups do the real work).
constexpr std::chrono::milliseconds kTickPeriod{100};
constexpr std::chrono::milliseconds kQueueFullRetry{20};

}  // namespace

Replier::Replier(boost::asio::io_context& io, ConfPtr conf, const std::vector<std::string>& topics,
                 DeliveryHandler on_delivery, FatalHandler on_fatal)
    : io_(io), on_delivery_(std::move(on_delivery)), on_fatal_(std::move(on_fatal)), backlog_timer_(io), tick_(io) {
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &Replier::delivery_cb);
  rd_kafka_conf_set_error_cb(conf.get(), &Replier::error_cb);
  rd_kafka_conf_set_log_cb(conf.get(), &log_to_spdlog);
  char err[512];
  producer_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err));
  if (!producer_) throw ConfigError(std::string("cannot create the producer: ") + err);
  conf.release();  // owned by the producer now
  queue_.reset(rd_kafka_queue_get_main(producer_.get()));
  wakeup_ = std::make_unique<QueueWakeup>(io_, queue_.get());
  wakeup_->watch([this] { drain(); });
  for (const auto& topic : topics) {
    if (!topic.empty()) topics_.emplace_back(rd_kafka_topic_new(producer_.get(), topic.c_str(), nullptr));
  }
  schedule_tick();
}

Replier::~Replier() {
  wakeup_.reset();
  queue_.reset();
  topics_.clear();
  producer_.reset();
}

void Replier::send(const core::OutgoingRecord& record, std::uint64_t tag) {
  if (!backlog_.empty()) {  // keep the order: nothing overtakes what waits for room
    backlog_.emplace_back(record, tag);
    return;
  }
  auto err = produce(producer_.get(), record, reinterpret_cast<void*>(static_cast<std::uintptr_t>(tag)));
  if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
    backlog_.emplace_back(record, tag);
    produce_backlog();
    return;
  }
  if (err) {
    // Refused before sending (e.g. larger than message.max.bytes): reported like a failed
    // delivery, from the loop, so the caller's state is consistent when it hears of it.
    boost::asio::post(io_, [this, tag, err] { on_delivery_(tag, err, false); });
  }
}

void Replier::produce_backlog() {
  while (!backlog_.empty()) {
    auto& [record, tag] = backlog_.front();
    auto err = produce(producer_.get(), record, reinterpret_cast<void*>(static_cast<std::uintptr_t>(tag)));
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      backlog_timer_.expires_after(kQueueFullRetry);
      backlog_timer_.async_wait([this](auto ec) {
        if (!ec) produce_backlog();
      });
      return;
    }
    if (err) boost::asio::post(io_, [this, tag = tag, err] { on_delivery_(tag, err, false); });
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
  self->on_delivery_(static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(m->_private)), m->err, maybe_written);
}

void Replier::error_cb(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  if (auto fatal = describe_client_error(rk, err, reason)) static_cast<Replier*>(opaque)->on_fatal_(*fatal);
}

}  // namespace fxconnect::kafka
