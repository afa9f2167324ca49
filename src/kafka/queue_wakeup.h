// Bridges a librdkafka queue to Boost.Asio: librdkafka writes to a pipe when the queue becomes
// non-empty, asio waits on the pipe. The event loop sleeps until Kafka has something for it, and
// no thread blocks in a poll call.
#pragma once

#include <functional>

#include <librdkafka/rdkafka.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

namespace fxconnect::kafka {

class QueueWakeup {
 public:
  QueueWakeup(boost::asio::io_context& io, rd_kafka_queue_t* queue);  // the queue must outlive this
  ~QueueWakeup();
  QueueWakeup(const QueueWakeup&) = delete;
  QueueWakeup& operator=(const QueueWakeup&) = delete;

  // Calls `on_ready` on the loop each time the queue turns non-empty, until destroyed. The
  // notification comes only on the empty → non-empty edge: `on_ready` must drain the queue (or
  // schedule itself again) before it can fire anew.
  void watch(std::function<void()> on_ready);

 private:
  void arm();

  boost::asio::posix::stream_descriptor pipe_;
  rd_kafka_queue_t* queue_;
  int write_fd_ = -1;
  std::function<void()> on_ready_;
};

}  // namespace fxconnect::kafka
