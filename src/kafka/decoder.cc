#include "kafka/decoder.h"

#include <pthread.h>

#include <utility>

namespace fxconnect::kafka {

Decoded decode_message(rd_kafka_message_t& message) {
  Decoded d{to_request(message), nullptr};
  // librdkafka's parse of the headers (made by to_request), taken over for the reply.
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_detach_headers(&message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) d.headers.reset(headers);
  return d;
}

Decoder::Decoder(Done done) : done_(std::move(done)), thread_([this] { run(); }) {}

Decoder::~Decoder() { stop(); }

void Decoder::decode(std::vector<MessagePtr> batch) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;  // `batch` is destroyed on the way out
    queue_.push_back(std::move(batch));
  }
  cv_.notify_one();
}

void Decoder::stop() {
  std::deque<std::vector<MessagePtr>> left;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    left.swap(queue_);
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  // `left` goes here: its messages are destroyed before the consumer is.
}

void Decoder::run() {
  // Named for top, perf and the bench's thread figures (at most 15 characters).
  pthread_setname_np(pthread_self(), "fxc-decoder");
  for (;;) {
    std::vector<MessagePtr> batch;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping
      batch = std::move(queue_.front());
      queue_.pop_front();
    }
    std::vector<Decoded> out;
    out.reserve(batch.size());
    for (auto& m : batch) {
      out.push_back(decode_message(*m));
      m.reset();
    }
    done_(std::move(out));
  }
}

}  // namespace fxconnect::kafka
