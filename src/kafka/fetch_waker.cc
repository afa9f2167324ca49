#include "kafka/fetch_waker.h"

#include <pthread.h>

#include <algorithm>
#include <string>

#include <spdlog/spdlog.h>

#include "kafka/client.h"

namespace fxconnect::kafka {
namespace {

// The ListOffsets request only has to be enqueued to wake its broker thread; the timeout bounds
// how long the helper waits for the (unused) answer, and so how long stop() may wait.
constexpr int kRequestTimeoutMs = 500;

long long conf_number(rd_kafka_t* rk, const char* name, long long fallback) {
  char value[64];
  std::size_t size = sizeof value;
  if (rd_kafka_conf_get(rd_kafka_conf(rk), name, value, &size) != RD_KAFKA_CONF_OK) return fallback;
  try {
    return std::stoll(value);
  } catch (...) {
    return fallback;
  }
}

}  // namespace

FetchWaker::FetchWaker(rd_kafka_t* consumer)
    : consumer_(consumer),
      byte_step_(static_cast<std::size_t>(
          std::max(1LL, conf_number(consumer, "queued.max.messages.kbytes", 65536) * 1024 / 4))),
      message_step_(static_cast<std::size_t>(std::max(1LL, conf_number(consumer, "queued.min.messages", 100000) / 4))),
      thread_([this] { run(); }) {}

FetchWaker::~FetchWaker() { stop(); }

void FetchWaker::wake() {
  bytes_ = 0;
  messages_ = 0;
  {
    std::lock_guard lock(mutex_);
    if (pending_) return;  // the helper has not taken the last one yet: one wake-up serves both
    pending_ = true;
  }
  cv_.notify_one();
}

void FetchWaker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void FetchWaker::run() {
  pthread_setname_np(pthread_self(), "fxc-fetchwaker");  // for top, perf and the bench's thread figures
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return pending_ || stopping_; });
      if (stopping_) return;
      pending_ = false;
    }
    rd_kafka_topic_partition_list_t* raw = nullptr;
    if (rd_kafka_assignment(consumer_, &raw) != RD_KAFKA_RESP_ERR_NO_ERROR || !raw) continue;
    PartitionListPtr partitions(raw);
    if (partitions->cnt == 0) continue;
    for (int i = 0; i < partitions->cnt; ++i) partitions->elems[i].offset = RD_KAFKA_OFFSET_END;  // "latest"
    wakeups_.fetch_add(1, std::memory_order_relaxed);
    if (auto err = rd_kafka_offsets_for_times(consumer_, partitions.get(), kRequestTimeoutMs)) {
      // Only the wake-up matters; a broker that does not answer is the consumer's concern.
      spdlog::trace("fetch wake-up: the end offsets query ended with {}", rd_kafka_err2str(err));
    }
  }
}

}  // namespace fxconnect::kafka
