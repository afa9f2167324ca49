// The consumer side of a connector: one librdkafka consumer in a group (cooperative-sticky),
// subscribed to the input topic or pattern, delivering messages and group events on the loop.
// Offsets: the runtime *stores* the next offset to read once everything before it is answered;
// librdkafka commits what is stored (enable.auto.commit with enable.auto.offset.store=false).
// Why librdkafka commits and not the runtime: with librdkafka 2.0.2 an OffsetCommit sent while
// the member's JoinGroup is in flight comes back ILLEGAL_GENERATION once the group moves on, and
// librdkafka then drops the generation it just joined, fails the SyncGroup and declares the whole
// assignment lost (librdkafka #4059, fixed upstream in 2.6). The application cannot see the join
// state; librdkafka's own committer runs on its thread and commits only in the steady state, and
// commits revoked partitions' stored offsets during the unassign, before the member rejoins.
//
// Messages are polled on the loop in batches and copied into Requests by a Decoder on its own
// thread (kafka/decoder.h; kafka.decode_thread, on by default); the loop delivers a batch once it
// is back and only then polls the next.
// What that changes, and how it is kept as it was:
// - The in-flight bounds: a batch holds no more requests than Events::room allows, and no more
//   than a sixteenth of the bytes it allows, once past its first message (a request holds up to
//   about ten times its record's size: its copy, a parsed document of small values, replies), so
//   the bound is crossed by one request at most, as when messages were taken one by one.
// - Rebalances: a message polled before its partition was revoked and back after is not
//   delivered. Its offset is never stored; whoever owns the partition next (this member too,
//   after a new assignment) reads it again from the committed offset.
// - Pausing discards what librdkafka prefetched and resumes after the last message polled: a
//   batch polled before the pause is delivered as usual.
// - Closing drops the batch in the decoder: nothing after it was delivered, nothing of it stored.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "kafka/client.h"
#include "kafka/decoder.h"
#include "kafka/fetch_waker.h"
#include "kafka/ports.h"
#include "kafka/queue_wakeup.h"

namespace fxconnect::kafka {

class Source final : public Consumer {
 public:
  // Optional: sets start offsets in partitions about to be assigned (else the committed offset,
  // or auto.offset.reset, applies).
  using BeforeAssign = std::function<void(rd_kafka_t*, rd_kafka_topic_partition_list_t*)>;

  // `subscription` is a topic or, starting with `^`, a regular expression (librdkafka's dialect;
  // anchor both ends). Throws ConfigError when the consumer cannot be created.
  Source(boost::asio::io_context& io, const ConsumerSettings& settings, std::string subscription, Events events,
         BeforeAssign before_assign = nullptr);
  ~Source() override;
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  void start() override;
  const std::string& subscription() const override { return subscription_; }
  // librdkafka keeps prefetching until its bounded queue is full (queued.max.messages.kbytes),
  // then stops fetching until woken: drain() tells the FetchWaker what it takes.
  void stop_taking() override;
  void resume_taking() override;
  // Pausing discards what librdkafka had prefetched for the partitions; it is fetched again on
  // resume. librdkafka keeps a pause across a revoke and a later assignment of the partition.
  void pause(const std::vector<TopicPartition>& partitions) override;
  void resume(const std::vector<TopicPartition>& partitions) override;
  std::size_t store_offsets(const std::vector<std::pair<TopicPartition, std::int64_t>>& offsets) override;
  std::optional<std::int64_t> end_offset(const TopicPartition& tp) const override;
  void release(const std::vector<TopicPartition>& partitions) override;
  void close() override;
  std::uint64_t fetch_wakeups() const override { return fetch_waker_ ? fetch_waker_->wakeups() : 0; }

 private:
  static void rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                           void* opaque);
  static void commit_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets,
                        void* opaque);
  static void error_cb(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  static int stats_cb(rd_kafka_t* rk, char* json, std::size_t len, void* opaque);
  void drain();
  // A batch back from the decoder (on the loop).
  void decoded(std::vector<Decoded> batch);
  // Hands a decoded batch to the runtime, but for what a revoke or the close made stale.
  void deliver(std::vector<Decoded>& batch);
  void schedule_tick();
  void set_brokers_down(bool down);

  boost::asio::io_context& io_;
  Events events_;
  BeforeAssign before_assign_;
  std::string subscription_;
  KafkaPtr consumer_;
  QueuePtr queue_;
  std::unique_ptr<QueueWakeup> wakeup_;
  std::unique_ptr<FetchWaker> fetch_waker_;  // see fetch_waker.h: librdkafka 2.0.2 fetches again only when woken
  // Where the decoder's batches go: this Source, until it is destroyed (a batch may still be on
  // its way to the loop then).
  struct Link {
    Source* source;
  };
  std::shared_ptr<Link> link_;
  std::unique_ptr<Decoder> decoder_;  // null: kafka.decode_thread off, messages decoded on the loop
  bool decoding_ = false;             // a batch is in the decoder: the next one is polled when it is back
  // Revokes seen so far, and for each partition ever revoked the count at its last revoke.
  // decoding_revokes_[i]: the count when the batch's message i was polled (a rebalance callback
  // runs inside a poll, so a revoke can fall between two messages of one batch).
  std::uint64_t revokes_ = 0;
  std::vector<std::uint64_t> decoding_revokes_;
  std::map<TopicPartition, std::uint64_t> revoked_at_;
  boost::asio::steady_timer tick_;
  bool closed_ = false;
  bool taking_ = true;
  bool brokers_down_ = false;
  bool unauthorized_reported_ = false;
  std::string group_id_;  // for messages
};

// A librdkafka partition list of `partitions` (offsets unset).
PartitionListPtr partition_list(const std::vector<TopicPartition>& partitions);

}  // namespace fxconnect::kafka
