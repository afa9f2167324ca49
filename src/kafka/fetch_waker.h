// Makes librdkafka 2.0.2's consumer fetch again as soon as the application has taken part of its
// prefetch queue, instead of up to a second later.
//
// Why (librdkafka v2.0.2 source, src/rdkafka_fetcher.c and src/rdkafka_broker.c): a broker thread
// decides per partition whether to fetch (rd_kafka_toppar_fetch_decide) each time its loop turns.
// A partition whose local queue holds `queued.min.messages` or `queued.max.messages.kbytes` (the
// queue is the consumer's one queue, all partitions together) is "not fetchable" with an unbounded
// backoff. With every partition of a broker in that state no Fetch is outstanding, so the thread
// blocks in rd_kafka_broker_ops_io_serve() until an op arrives on its queue, a response arrives on
// its socket, or its fixed 1-second serve period (rd_kafka_max_block_ms) ends. Taking messages
// from the queue signals none of those: after the application drained the queue, the thread slept
// out the rest of its second. (librdkafka 2.1 bounds that sleep with `fetch.queue.backoff.ms`;
// 2.0.2 has no such setting.)
//
// What this does: once the application has taken a quarter of the queue's bound since the last
// wake-up, a helper thread asks each leader of the assigned partitions for the partitions' end
// offsets (rd_kafka_offsets_for_times with "latest": one tiny ListOffsets request per leader,
// grouped by librdkafka). Enqueueing that request wakes the leader's broker thread, which re-decides
// its partitions, finds the queue below its bound and fetches, while three quarters of the queue
// are still there to work on. The answer is not used. Nothing is paused or sought, so nothing
// prefetched is discarded.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

#include <librdkafka/rdkafka.h>

namespace fxconnect::kafka {

class FetchWaker {
 public:
  // `consumer` must outlive this object (or stop() must come first). Reads the consumer's queue
  // bounds from its configuration.
  explicit FetchWaker(rd_kafka_t* consumer);
  ~FetchWaker();
  FetchWaker(const FetchWaker&) = delete;
  FetchWaker& operator=(const FetchWaker&) = delete;

  // The application took a message of `bytes` from the consumer queue (the caller passes payload
  // and key; librdkafka's queue size counts payloads only, so wake-ups come a little early, never
  // late). Cheap: two additions and a comparison, and a notify at most once per quarter of the bound.
  void taken(std::size_t bytes) {
    bytes_ += bytes;
    ++messages_;
    if (bytes_ >= byte_step_ || messages_ >= message_step_) wake();
  }
  // Ends the helper thread (waits for a request in progress, bounded by its timeout).
  void stop();

  // Wake-ups sent so far (requests handed to librdkafka), for tests and the stop line.
  std::uint64_t wakeups() const { return wakeups_.load(std::memory_order_relaxed); }

 private:
  void wake();
  void run();

  rd_kafka_t* consumer_;
  std::size_t byte_step_;
  std::size_t message_step_;
  // Counted on the caller's (loop) thread only.
  std::size_t bytes_ = 0;
  std::size_t messages_ = 0;

  std::mutex mutex_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stopping_ = false;
  std::atomic<std::uint64_t> wakeups_{0};
  std::thread thread_;
};

}  // namespace fxconnect::kafka
