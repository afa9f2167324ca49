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
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "kafka/client.h"
#include "kafka/queue_wakeup.h"

namespace fxconnect::kafka {

using TopicPartition = std::pair<std::string, std::int32_t>;

class Source {
 public:
  struct Events {
    std::function<void(const rd_kafka_message_t&)> message;
    std::function<void(const std::vector<TopicPartition>&)> assigned;
    // The group takes these partitions away. Call release() for them once their work is done;
    // `lost` means another member may own them already (call release() at once).
    std::function<void(const std::vector<TopicPartition>&, bool lost)> revoked;
    // The outcome of a commit librdkafka made of a stored offset (NO_ERROR: committed).
    std::function<void(const TopicPartition&, std::int64_t offset, rd_kafka_resp_err_t err)> committed;
    std::function<void(const std::string& why)> fatal;
    // Optional: sets start offsets in partitions about to be assigned (else the committed offset,
    // or auto.offset.reset, applies).
    std::function<void(rd_kafka_t*, rd_kafka_topic_partition_list_t*)> before_assign = nullptr;
    // librdkafka reported every broker down (true), or the consumer heard from one again (false).
    std::function<void(bool down)> brokers_down = nullptr;
  };

  // `conf` is a consumer configuration (consumer_conf() for a connector); `subscription` a topic
  // or, starting with `^`, a regular expression (librdkafka's dialect; anchor both ends). Throws ConfigError when the consumer cannot be
  // created.
  Source(boost::asio::io_context& io, ConfPtr conf, std::string subscription, Events events);
  ~Source();
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  // Subscribes and starts delivering events. Throws ConfigError when the subscription is refused.
  void start();
  // The subscription as given to librdkafka (`^regex` for a pattern).
  const std::string& subscription() const { return subscription_; }

  // Stops / restarts taking anything from the local queue: cheap, immediate back-pressure.
  // librdkafka keeps prefetching until its bounded queue is full (queued.max.messages.kbytes),
  // then stops fetching. Group events wait too, so this is for short stretches: for longer ones,
  // pause() the partitions and take again.
  void stop_taking();
  void resume_taking();

  // Stops / restarts fetching; the group membership stays alive either way. Pausing discards what
  // librdkafka had prefetched for the partitions; it is fetched again on resume.
  void pause(const std::vector<TopicPartition>& partitions);
  void resume(const std::vector<TopicPartition>& partitions);
  // Stores the next offsets to read of assigned partitions; librdkafka commits them every
  // auto.commit.interval.ms, when they are released, and at close. A partition no longer
  // assigned is refused (its offset belongs to the next owner): returns how many were refused.
  std::size_t store_offsets(const std::vector<std::pair<TopicPartition, std::int64_t>>& offsets);
  // The partition's end offset as librdkafka last saw it (no request is made), or nullopt.
  std::optional<std::int64_t> end_offset(const TopicPartition& tp) const;
  // Gives revoked partitions back to the group.
  void release(const std::vector<TopicPartition>& partitions);
  // Leaves the group (revoked partitions are released at once; stored offsets are committed) and
  // stops delivering events.
  void close();

 private:
  static void rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                           void* opaque);
  static void commit_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets,
                        void* opaque);
  static void error_cb(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  void drain();
  void schedule_tick();
  void set_brokers_down(bool down);

  boost::asio::io_context& io_;
  Events events_;
  std::string subscription_;
  KafkaPtr consumer_;
  QueuePtr queue_;
  std::unique_ptr<QueueWakeup> wakeup_;
  boost::asio::steady_timer tick_;
  bool closed_ = false;
  bool taking_ = true;
  bool brokers_down_ = false;
};

// A librdkafka partition list of `partitions` (offsets unset).
PartitionListPtr partition_list(const std::vector<TopicPartition>& partitions);

}  // namespace fxconnect::kafka
